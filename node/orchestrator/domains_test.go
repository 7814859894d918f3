package orchestrator

import (
	"strings"
	"testing"

	"github.com/picloud/picloud/shared"
)

// claims used by the host-matching tests, as a user would type them; they
// are normalised with shared.NormalizeDomain exactly as the manager does.
var testClaims = map[string]int64{
	"localhost":            1,
	"example.com":          2,
	"*.example.com":        3,
	"api.example.com":      4,
	"*.eu.example.com":     5,
	"*.a.eu.example.com":   6,
	"Bücher.example":       7,
	"*.BÜCHER.example":     8,
	"192.168.1.10":         9,
	"[2001:DB8::1]":        10,
	"Shop.Example.ORG.":    11,
	"*.deep.example.net":   12,
	"x.y.deep.example.net": 13,
}

func newTestDomainTable(t testing.TB) domainTable {
	t.Helper()
	d := newDomainTable()
	for p, id := range testClaims {
		norm, _, err := shared.NormalizeDomain(p)
		if err != nil {
			t.Fatalf("claim %q: %v", p, err)
		}
		d.add(norm, id)
	}
	return d
}

func TestDomainTableMatch(t *testing.T) {
	d := newTestDomainTable(t)
	tests := []struct {
		host string // a Host header as a client sends it
		want int64  // 0: no app; -1: not a host at all (also 404 unknown_host)
	}{
		{"localhost", 1},
		{"localhost:8080", 1},
		{"LOCALHOST", 1},
		{"localhost.", 1},
		{"example.com", 2},          // the apex is not covered by *.example.com
		{"www.example.com", 3},      // one label below
		{"a.b.c.example.com", 3},    // any depth below
		{"api.example.com", 4},      // exact beats wildcard
		{"API.Example.COM:443", 4},  // upper case and port
		{"api.example.com.", 4},     // trailing dot
		{"x.api.example.com", 3},    // below an exact claim: only wildcards apply
		{"eu.example.com", 3},       // apex of *.eu.example.com → next wildcard out
		{"fr.eu.example.com", 5},    // longest wildcard suffix wins
		{"a.eu.example.com", 5},     // exactly the apex of *.a.eu.example.com
		{"b.a.eu.example.com", 6},   // longest wildcard suffix wins
		{"z.b.a.eu.example.com", 6}, // any depth
		{"notexample.com", 0},       // suffix match only on label boundaries
		{"example.com.evil.net", 0},
		{"com", 0},
		{"bücher.example", 7},        // IDNA
		{"BÜCHER.example", 7},        // IDNA with upper case
		{"xn--bcher-kva.example", 7}, // punycode as sent by browsers
		{"laden.bücher.example", 8},  // wildcard over an IDNA name
		{"laden.xn--bcher-kva.example:80", 8},
		{"192.168.1.10", 9},      // IPv4 literal
		{"192.168.1.10:8080", 9}, // IPv4 with port
		{"10.192.168.1.10", -1},  // a mistyped address is not a host
		{"*.example.com", -1},
		{"api.example.com:99999", -1},
		{"", -1},
		{"192.168.1.11", 0},
		{"[2001:db8::1]:8080", 10}, // IPv6 literal with port
		{"[2001:0db8:0:0::1]", 10}, // non-canonical IPv6 spelling
		{"2001:db8::1", 10},        // bare IPv6 literal (resolve input)
		{"shop.example.org", 11},   // claim typed with upper case and trailing dot
		{"deep.example.net", 0},
		{"y.deep.example.net", 12},
		{"x.y.deep.example.net", 13},   // exact beats wildcard at the same depth
		{"w.x.y.deep.example.net", 12}, // no wildcard on x.y.deep: the next one out
		{"unknown.test", 0},
	}
	for _, tt := range tests {
		host, err := shared.NormalizeHost(tt.host)
		if tt.want == -1 {
			if err == nil {
				t.Errorf("NormalizeHost(%q) = %q, want an error", tt.host, host)
			}
			continue
		}
		if err != nil {
			t.Errorf("NormalizeHost(%q): %v", tt.host, err)
			continue
		}
		got, ok := d.match(host)
		if tt.want == 0 {
			if ok {
				t.Errorf("host %q (normalised %q) matched app %d, want no app", tt.host, host, got)
			}
			continue
		}
		if !ok || got != tt.want {
			t.Errorf("host %q (normalised %q) = app %d (found %v), want app %d", tt.host, host, got, ok, tt.want)
		}
	}
}

// referenceMatch is the rule of SPEC §4 written as plainly as possible: a
// linear scan over every claim.
func referenceMatch(claims map[string]int64, host string) (int64, bool) {
	if id, ok := claims[host]; ok && !shared.IsWildcard(host) {
		return id, true
	}
	best, bestID := "", int64(0)
	for p, id := range claims {
		if shared.IsWildcard(p) && shared.DomainCovers(p, host) && len(p) > len(best) {
			best, bestID = p, id
		}
	}
	return bestID, best != ""
}

// FuzzDomainTableMatch checks the suffix walk against the linear reference
// for any host a client may send and any claim the manager accepts.
func FuzzDomainTableMatch(f *testing.F) {
	seeds := [][2]string{
		{"*.example.com", "a.b.example.com"},
		{"example.com", "EXAMPLE.com."},
		{"*.a.example.com", "a.example.com:8080"},
		{"[::1]", "[::1]:80"},
		{"127.0.0.1", "127.0.0.1"},
		{"*.bücher.example", "x.XN--BCHER-KVA.example"},
		{"*.com", "..com"},
		{"a..b", "a.b:"},
		{"*.x.y", "x.y"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	base := map[string]int64{}
	for p, id := range testClaims {
		norm, _, err := shared.NormalizeDomain(p)
		if err != nil {
			f.Fatal(err)
		}
		base[norm] = id
	}
	f.Fuzz(func(t *testing.T, pattern, rawHost string) {
		claims := make(map[string]int64, len(base)+1)
		for p, id := range base {
			claims[p] = id
		}
		if norm, _, err := shared.NormalizeDomain(pattern); err == nil {
			if _, taken := claims[norm]; !taken {
				claims[norm] = 100
			}
		}
		d := newDomainTable()
		for p, id := range claims {
			d.add(p, id)
		}
		host, err := shared.NormalizeHost(rawHost)
		if err != nil {
			return // answered 404 unknown_host before any lookup
		}
		if strings.Contains(host, "*") {
			t.Fatalf("NormalizeHost(%q) = %q: a host never holds a wildcard", rawHost, host)
		}
		got, ok := d.match(host)
		want, wantOK := referenceMatch(claims, host)
		if got != want || ok != wantOK {
			t.Fatalf("host %q: table says app %d (%v), rule says app %d (%v)", host, got, ok, want, wantOK)
		}
	})
}
