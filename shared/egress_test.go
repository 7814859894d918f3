package shared

import (
	"fmt"
	"net/netip"
	"testing"
)

func TestParseEgressEntry(t *testing.T) {
	ok := []struct{ name, in, want string }{
		{"host", "api.github.com", "api.github.com"},
		{"host upper case and trailing dot", "API.GitHub.com.", "api.github.com"},
		{"host with port", "homeassistant.local:8123", "homeassistant.local:8123"},
		{"idna", "bücher.example", "xn--bcher-kva.example"},
		{"wildcard", "*.Example.com", "*.example.com"},
		{"wildcard with port", "*.example.com:443", "*.example.com:443"},
		{"ipv4", "192.168.1.10", "192.168.1.10"},
		{"ipv4 with port", "192.168.1.10:8123", "192.168.1.10:8123"},
		{"ipv6", "::1", "::1"},
		{"ipv6 bracketed", "[::1]", "::1"},
		{"ipv6 with port", "[::1]:8080", "[::1]:8080"},
		{"ipv6 long form", "0:0:0:0:0:0:0:1", "::1"},
		{"mapped ipv4", "::ffff:10.0.0.1", "10.0.0.1"},
		{"cidr", "192.168.1.0/24", "192.168.1.0/24"},
		{"cidr masked", "192.168.1.77/24", "192.168.1.0/24"},
		{"cidr ipv6", "fd00::/8", "fd00::/8"},
		{"spaces trimmed", "  10.0.0.0/8 ", "10.0.0.0/8"},
		{"localhost", "localhost", "localhost"},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ParseEgressEntry(tc.in)
			if err != nil {
				t.Fatalf("ParseEgressEntry(%q): %v", tc.in, err)
			}
			if got := e.String(); got != tc.want {
				t.Errorf("ParseEgressEntry(%q) = %q, want %q", tc.in, got, tc.want)
			}
			again, err := ParseEgressEntry(e.String())
			if err != nil || again != e {
				t.Errorf("canonical %q does not parse back to itself: %v, %v", e.String(), again, err)
			}
		})
	}
	bad := []struct{ name, in string }{
		{"empty", ""},
		{"scheme", "https://api.github.com"},
		{"path", "api.github.com/v1"},
		{"port zero", "example.com:0"},
		{"port too big", "example.com:65536"},
		{"port not a number", "example.com:http"},
		{"empty port", "example.com:"},
		{"cidr with port", "10.0.0.0/8:80"},
		{"bad cidr", "10.0.0.0/33"},
		{"wildcard inside", "a.*.example.com"},
		{"wildcard ip", "*.10.0.0.1"},
		{"bracketed ipv4", "[10.0.0.1]:80"},
		{"unclosed bracket", "[::1:80"},
		{"zone", "fe80::1%eth0"},
		{"user info", "user@example.com"},
		{"space inside", "exa mple.com"},
		{"empty label", "a..b"},
	}
	for _, tc := range bad {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			_, err := ParseEgressEntry(tc.in)
			e, ok := err.(*Error)
			if !ok || e.Code != CodeValidationFailed || e.Detail("field") != "allow" {
				t.Fatalf("ParseEgressEntry(%q) = %v, want validation_failed on allow", tc.in, err)
			}
		})
	}
}

func TestNormalizeEgress(t *testing.T) {
	t.Run("canonical and deduplicated in order", func(t *testing.T) {
		got, err := NormalizeEgress([]string{"B.example", "10.0.0.1", "b.example.", "[::1]:80"})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"b.example", "10.0.0.1", "[::1]:80"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("bad entry names its index", func(t *testing.T) {
		_, err := NormalizeEgress([]string{"ok.example", "http://x"})
		e, ok := err.(*Error)
		if !ok || e.Details["index"] != 1 || e.Detail("field") != "allow" {
			t.Fatalf("err = %#v", err)
		}
	})
	t.Run("at most 64", func(t *testing.T) {
		var many []string
		for i := range MaxEgressEntries + 1 {
			many = append(many, fmt.Sprintf("h%d.example", i))
		}
		if _, err := NormalizeEgress(many[:MaxEgressEntries]); err != nil {
			t.Fatalf("64 entries: %v", err)
		}
		if _, err := NormalizeEgress(many); err == nil {
			t.Fatal("65 entries accepted")
		}
	})
	t.Run("empty list closes the network", func(t *testing.T) {
		got, err := NormalizeEgress(nil)
		if err != nil || got == nil || len(got) != 0 {
			t.Fatalf("got %#v, %v; want an empty list", got, err)
		}
	})
}

func TestEgressPolicyAllowsURL(t *testing.T) {
	p := mustPolicy(t, "api.github.com", "*.example.com", "ha.lan:8123", "192.168.1.10:8123", "10.1.0.0/16", "::1")
	cases := []struct {
		name string
		host string
		port uint16
		want bool
	}{
		{"exact host", "api.github.com", 443, true},
		{"exact host any port", "api.github.com", 8443, true},
		{"exact host upper case", "API.GITHUB.COM", 443, true},
		{"exact host trailing dot", "api.github.com.", 443, true},
		{"other host", "github.com", 443, false},
		{"wildcard one label", "a.example.com", 80, true},
		{"wildcard two labels", "a.b.example.com", 80, true},
		{"wildcard not the apex", "example.com", 80, false},
		{"wildcard not a lookalike", "badexample.com", 80, false},
		{"host with port", "ha.lan", 8123, true},
		{"host other port", "ha.lan", 80, false},
		{"ip with port", "192.168.1.10", 8123, true},
		{"ip other port", "192.168.1.10", 80, false},
		{"ip in cidr", "10.1.200.3", 80, true},
		{"ip outside cidr", "10.2.0.1", 80, false},
		{"ipv6 literal", "::1", 8080, true},
		{"ipv6 bracketed", "[::1]", 8080, true},
		{"name entry is not an ip", "140.82.112.5", 443, false},
		{"ip entry is not a name", "localhost", 80, false},
		{"mapped ipv4 literal", "::ffff:10.1.0.1", 80, true},
		{"bad host", "a..b", 80, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.AllowsURL(tc.host, tc.port); got != tc.want {
				t.Errorf("AllowsURL(%q, %d) = %v, want %v", tc.host, tc.port, got, tc.want)
			}
		})
	}
	t.Run("nil policy allows nothing", func(t *testing.T) {
		var none *EgressPolicy
		if none.AllowsURL("api.github.com", 443) || none.AllowsDial(netip.MustParseAddrPort("1.1.1.1:443"), false) {
			t.Fatal("nil policy allowed a request")
		}
	})
}

func TestEgressPolicyAllowsDial(t *testing.T) {
	p := mustPolicy(t, "api.github.com", "192.168.1.10:8123", "10.1.0.0/16", "127.0.0.2", "[::1]:9000", "127.0.0.1:7070")
	cases := []struct {
		name string
		addr string
		self bool
		want bool
	}{
		{"public address", "140.82.112.5:443", false, true},
		{"public ipv6", "[2606:4700::1111]:443", false, true},
		{"loopback unlisted", "127.0.0.1:80", false, false},
		{"loopback listed by ip", "127.0.0.2:80", false, true},
		{"private listed with port", "192.168.1.10:8123", false, true},
		{"private listed, other port", "192.168.1.10:22", false, false},
		{"private in cidr", "10.1.2.3:80", false, true},
		{"private outside cidr", "10.2.0.1:80", false, false},
		{"rfc1918 172.16", "172.16.0.1:80", false, false},
		{"link-local", "169.254.169.254:80", false, false},
		{"cgnat", "100.64.0.1:80", false, false},
		{"unique-local", "[fd12::1]:80", false, false},
		{"ipv6 link-local", "[fe80::1]:80", false, false},
		{"ipv6 loopback listed with port", "[::1]:9000", false, true},
		{"ipv6 loopback other port", "[::1]:9001", false, false},
		{"unspecified", "0.0.0.0:80", false, false},
		{"mapped loopback", "[::ffff:127.0.0.1]:80", false, false},
		{"nat64 of loopback", "[64:ff9b::7f00:1]:80", false, false},
		{"own listener unlisted", "127.0.0.2:8080", true, false},
		{"own listener listed by ip and port", "127.0.0.1:7070", true, true},
		{"own listener, cidr is not enough", "10.1.0.5:8080", true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ap := netip.MustParseAddrPort(tc.addr)
			if got := p.AllowsDial(ap, tc.self); got != tc.want {
				t.Errorf("AllowsDial(%s, self=%v) = %v, want %v", tc.addr, tc.self, got, tc.want)
			}
		})
	}
}

func TestIsPublicAddr(t *testing.T) {
	cases := []struct {
		addr string
		want bool
	}{
		{"8.8.8.8", true}, {"140.82.112.5", true}, {"2606:4700::1111", true},
		{"64:ff9b::808:808", true}, {"::ffff:8.8.8.8", true},
		{"127.0.0.1", false}, {"127.255.255.254", false}, {"::1", false},
		{"10.0.0.1", false}, {"172.31.255.255", false}, {"192.168.0.1", false},
		{"169.254.1.1", false}, {"fe80::1", false}, {"100.64.0.1", false},
		{"100.127.255.255", false}, {"fc00::1", false}, {"fd00::1", false},
		{"0.0.0.0", false}, {"::", false}, {"224.0.0.251", false}, {"ff02::fb", false},
		{"255.255.255.255", false}, {"0.1.2.3", false}, {"fec0::1", false},
	}
	for _, tc := range cases {
		t.Run(tc.addr, func(t *testing.T) {
			if got := IsPublicAddr(netip.MustParseAddr(tc.addr)); got != tc.want {
				t.Errorf("IsPublicAddr(%s) = %v, want %v", tc.addr, got, tc.want)
			}
		})
	}
}

func FuzzParseEgressEntry(f *testing.F) {
	for _, s := range []string{"api.github.com", "*.example.com:443", "[::1]:8080", "10.0.0.0/8", "::ffff:1.2.3.4", "bücher.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseEgressEntry(s)
		if err != nil {
			return
		}
		again, err := ParseEgressEntry(e.String())
		if err != nil || again != e {
			t.Fatalf("%q → %q does not parse back to itself: %v", s, e.String(), err)
		}
	})
}

func mustPolicy(t *testing.T, allow ...string) *EgressPolicy {
	t.Helper()
	p, err := NewEgressPolicy(allow)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
