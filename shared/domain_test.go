package shared

import (
	"net/http"
	"strings"
	"testing"
)

func TestNormalizeDomain(t *testing.T) {
	good := []struct{ in, want string }{
		{"example.com", "example.com"},
		{"Example.COM", "example.com"},
		{"example.com.", "example.com"},
		{"  api.example.com ", "api.example.com"},
		{"example.com\n", "example.com"}, // pasted with its newline
		{"localhost", "localhost"},
		{"*.example.com", "*.example.com"},
		{"*.Example.com.", "*.example.com"},
		{"*.a.b.example.com", "*.a.b.example.com"},
		{"*.lan", "*.lan"},
		{"bücher.example", "xn--bcher-kva.example"},
		{"BÜCHER.example", "xn--bcher-kva.example"},
		{"xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"*.bücher.example", "*.xn--bcher-kva.example"},
		{"ｅｘａｍｐｌｅ．com", "example.com"}, // full-width letters and dot map to ASCII
		{"münchen.de", "xn--mnchen-3ya.de"},
		{"192.168.1.10", "192.168.1.10"},
		{"::1", "::1"},
		{"[::1]", "::1"},
		{"2001:DB8::0:1", "2001:db8::1"},
		{"[2001:db8:0:0:0:0:0:1]", "2001:db8::1"},
		{"::ffff:10.0.0.1", "10.0.0.1"},
		{"a-b.example.com", "a-b.example.com"},
		{"1password.com", "1password.com"},
		{strings.Repeat("a", 63) + ".com", strings.Repeat("a", 63) + ".com"},
	}
	for _, tt := range good {
		norm, key, err := NormalizeDomain(tt.in)
		if err != nil || norm != tt.want || key == "" {
			t.Errorf("NormalizeDomain(%q) = %q, %q, %v; want %q", tt.in, norm, key, err, tt.want)
		}
	}
	bad := []string{
		"", " ", ".", "..",
		"example.com:8080", "localhost:80", "[::1]:8080", "1.2.3.4:80", "example.com:",
		"example.com/", "example.com/path", "http://example.com", "https://example.com/", "//example.com",
		"user@example.com", "example.com?x", "example.com#x", `example\com`,
		"*", "*.", "**.example.com", "a.*.example.com", "*a.example.com", "a*.example.com", "example.*", "*.*.example.com", "*example.com",
		"a..example.com", ".example.com", "*..example.com", "example.com..",
		"exa mple.com", "exa\nmple.com", "tab\t.com",
		"-example.com", "example-.com", "a.-b.com", "my_host.lan",
		strings.Repeat("a", 64) + ".com", strings.Repeat("abcdefghi.", 26) + "com",
		"1.2.3", "256.1.1.1", "01.2.3.4", "1.2.3.4.5", "*.1.2.3.4", "*.[::1]",
		"fe80::1%eth0", "[fe80::1%25eth0]", "[1.2.3.4]", "[example.com]", "::1::2", "[::1",
		"xn--a.example", // invalid punycode
	}
	for _, in := range bad {
		norm, _, err := NormalizeDomain(in)
		e, ok := AsError(err)
		if !ok || e.Status != http.StatusUnprocessableEntity || e.Code != CodeInvalidDomain || e.Detail("field") != "pattern" {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want 422 invalid_domain with field pattern", in, norm, err)
		}
	}
}

// Two spellings of the same claim must collide on the shape key (the unique
// index), and different claims must not.
func TestShapeKey(t *testing.T) {
	same := [][2]string{
		{"*.Example.com.", "*.example.com"},
		{"bücher.example", "xn--bcher-kva.example"},
		{"BÜCHER.EXAMPLE.", "xn--bcher-kva.example"},
		{"[::1]", "0:0:0:0:0:0:0:1"},
		{"::ffff:127.0.0.1", "127.0.0.1"},
		{"LOCALHOST", "localhost"},
	}
	for _, p := range same {
		_, a, err1 := NormalizeDomain(p[0])
		_, b, err2 := NormalizeDomain(p[1])
		if err1 != nil || err2 != nil || a != b {
			t.Errorf("shape keys of %q and %q = %q, %q (%v, %v); want equal", p[0], p[1], a, b, err1, err2)
		}
	}
	differ := [][2]string{
		{"*.example.com", "example.com"},
		{"*.example.com", "*.a.example.com"},
		{"a.example.com", "*.a.example.com"},
		{"127.0.0.1", "127.0.0.2"},
	}
	for _, p := range differ {
		_, a, _ := NormalizeDomain(p[0])
		_, b, _ := NormalizeDomain(p[1])
		if a == b {
			t.Errorf("shape keys of %q and %q are both %q; want different", p[0], p[1], a)
		}
	}
}

func TestNormalizeHost(t *testing.T) {
	good := []struct{ in, want string }{
		{"example.com", "example.com"},
		{"Example.COM:8080", "example.com"},
		{"example.com.", "example.com"},
		{"example.com.:443", "example.com"},
		{"example.com:", "example.com"},
		{"localhost:8080", "localhost"},
		{"127.0.0.1:8080", "127.0.0.1"},
		{"127.0.0.1", "127.0.0.1"},
		{"[::1]:8080", "::1"},
		{"[::1]", "::1"},
		{"::1", "::1"},
		{"[2001:DB8::1]:443", "2001:db8::1"},
		{"[::ffff:127.0.0.1]:80", "127.0.0.1"},
		{"bücher.example:8080", "xn--bcher-kva.example"},
		{"XN--BCHER-KVA.example", "xn--bcher-kva.example"},
	}
	for _, tt := range good {
		got, err := NormalizeHost(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizeHost(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	bad := []string{
		"", "*.example.com", "*", "example.com:http", "example.com:99999", "a:b:c",
		"[::1]:x", "[::1", "example.com/x", "a..b", "user@host", "[example.com]:80", "1.2.3:80",
		"fe80::1%eth0", "[fe80::1%25eth0]:80",
	}
	for _, in := range bad {
		got, err := NormalizeHost(in)
		if !IsCode(err, CodeInvalidDomain) {
			t.Errorf("NormalizeHost(%q) = %q, %v; want invalid_domain", in, got, err)
		}
	}
}

func TestDomainCovers(t *testing.T) {
	tests := []struct {
		pattern, host string
		want          bool
	}{
		{"example.com", "example.com", true},
		{"example.com", "a.example.com", false},
		{"*.example.com", "a.example.com", true},
		{"*.example.com", "a.b.example.com", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", "aexample.com", false},
		{"*.example.com", "a.example.com.evil", false},
		{"*.example.com", ".example.com", false},
		{"*.b.example.com", "a.example.com", false},
		{"localhost", "localhost", true},
		{"::1", "::1", true},
		{"*.lan", "pi.lan", true},
	}
	for _, tt := range tests {
		if got := DomainCovers(tt.pattern, tt.host); got != tt.want {
			t.Errorf("DomainCovers(%q, %q) = %v, want %v", tt.pattern, tt.host, got, tt.want)
		}
	}
}

func FuzzNormalizeDomain(f *testing.F) {
	for _, s := range []string{"example.com", "*.Example.com.", "bücher.example", "[::1]", "::1", "1.2.3.4", "a:80", "http://x", "*.*.x", "a..b", "xn--bcher-kva.example", "ｅｘａｍｐｌｅ．com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		norm, key, err := NormalizeDomain(in)
		if err != nil {
			if !IsCode(err, CodeInvalidDomain) {
				t.Fatalf("NormalizeDomain(%q) = %v, want invalid_domain", in, err)
			}
			return
		}
		// Normalisation is idempotent and the shape key is stable under it.
		norm2, key2, err := NormalizeDomain(norm)
		if err != nil || norm2 != norm || key2 != key {
			t.Fatalf("NormalizeDomain(%q) = %q but NormalizeDomain(%q) = %q, %v", in, norm, norm, norm2, err)
		}
		if strings.ContainsAny(norm, "/: \t\n?#@") && !strings.Contains(norm, ":") {
			t.Fatalf("NormalizeDomain(%q) = %q contains a forbidden character", in, norm)
		}
		if strings.Count(norm, "*") > 1 || (strings.Contains(norm, "*") && !strings.HasPrefix(norm, "*.")) {
			t.Fatalf("NormalizeDomain(%q) = %q has a misplaced wildcard", in, norm)
		}
		if norm != strings.ToLower(norm) || strings.HasSuffix(norm, ".") {
			t.Fatalf("NormalizeDomain(%q) = %q is not normalised", in, norm)
		}
		// An exact claim covers the host a request for it carries.
		if !IsWildcard(norm) {
			h, err := NormalizeHost(norm)
			if err != nil || !DomainCovers(norm, h) {
				t.Fatalf("claim %q does not cover its own host (%q, %v)", norm, h, err)
			}
		}
	})
}

func FuzzNormalizeHost(f *testing.F) {
	for _, s := range []string{"example.com:8080", "[::1]:80", "::1", "Bücher.example.", "a:b:c", "*.x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		h, err := NormalizeHost(in)
		if err != nil {
			if !IsCode(err, CodeInvalidDomain) {
				t.Fatalf("NormalizeHost(%q) = %v, want invalid_domain", in, err)
			}
			return
		}
		if h2, err := NormalizeHost(h); err != nil || h2 != h {
			t.Fatalf("NormalizeHost not idempotent: %q → %q → %q, %v", in, h, h2, err)
		}
		if strings.Contains(h, "*") {
			t.Fatalf("NormalizeHost(%q) = %q: a host with a wildcard", in, h)
		}
	})
}

// The ASCII fast path must agree with the IDNA profile on every input it
// takes.
func FuzzToASCIIFastPath(f *testing.F) {
	for _, s := range []string{"example.com", "Example.COM", "a-b.c", "ab--c.d", "xn--bcher-kva.de", "a.b-.c", "-a.b", "1.2.3.4", "a..b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !plainLDH(s) {
			return
		}
		fast, fastErr := toASCII(s)
		slow, slowErr := idnaToASCII(s)
		if (fastErr == nil) != (slowErr == nil) {
			// The fast path leaves hyphen placement, empty and long labels to
			// the checks that follow in normalizeDNSName; compare those too.
			_, e1 := normalizeDNSName(s)
			if e1 == nil && slowErr != nil {
				t.Fatalf("%q: fast path accepts, IDNA refuses: %v", s, slowErr)
			}
			return
		}
		if fastErr == nil && fast != slow {
			t.Fatalf("%q: fast %q, IDNA %q", s, fast, slow)
		}
	})
}

// The allocation-free path of NormalizeHost must agree with the full one on
// every host it takes.
func FuzzNormalHostFastPath(f *testing.F) {
	for _, s := range []string{"localhost", "localhost:8080", "a-b.example:443", "ab--c.d", "xn--bcher-kva.de",
		"a.b-.c", "-a.b", "1.2.3.4", "1.2.3", "a..b", "example.com.", "Example.com", "a:", "::1", "x.1a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fast, ok := normalHost(s)
		if !ok {
			return
		}
		full, err := normalizeHost(s)
		if err != nil || full != fast {
			t.Fatalf("%q: fast path %q, full path %q, %v", s, fast, full, err)
		}
	})
}

func TestNormalHostTakesCommonHosts(t *testing.T) {
	for _, in := range []string{"localhost", "localhost:8080", "pi.lan", "api.example.com:443", "a1.b-2.c", "my-app.lan", "app-5000.example:80"} {
		if _, ok := normalHost(in); !ok {
			t.Errorf("normalHost(%q) declined a host in normal form", in)
		}
	}
	for _, in := range []string{"Localhost", "localhost.", "127.0.0.1", "::1", "[::1]:80", "xn--bcher-kva.de", "ab--c.de", "a..b", " a.b"} {
		if _, ok := normalHost(in); ok {
			t.Errorf("normalHost(%q) took a host that needs the full path", in)
		}
	}
	if n := testing.AllocsPerRun(100, func() { NormalizeHost("api.example.com:8080") }); n != 0 {
		t.Errorf("NormalizeHost of a normal host allocates %v times", n)
	}
}
