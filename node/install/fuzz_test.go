package install

import (
	"strings"
	"testing"
)

// FuzzUnitSettings feeds arbitrary --name/--bind/--admin-bind values (what a
// person types) to the unit: either Validate refuses them, or the rendered
// unit is the default one plus exactly one Environment= line per setting,
// so no value can add or change a directive.
func FuzzUnitSettings(f *testing.F) {
	for _, seed := range [][3]string{
		{"pi-4", ":8080", ":7070"},
		{"Living room \"Pi\" 100%", ":80", "[::1]:7443"},
		{"pi\nExecStartPre=/bin/sh", "", ""},
		{"a\\\"b", "0.0.0.0:9000", ""},
		{"Küche π", "", "127.0.0.1:1"},
		{"x\r\n[Service]", "host:8080\nUser=root", ""},
		{"pi", "a\nUser=root:80", "b\x00:81"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	base, err := DefaultUnit().Render()
	if err != nil {
		f.Fatal(err)
	}
	baseLines := strings.Split(string(base), "\n")
	f.Fuzz(func(t *testing.T, name, bind, adminBind string) {
		u := DefaultUnit()
		u.Name, u.Bind, u.AdminBind = name, bind, adminBind
		out, err := u.Render()
		if err != nil {
			return
		}
		var extra []string
		rest := map[string]int{}
		for _, l := range baseLines {
			rest[l]++
		}
		for _, l := range strings.Split(string(out), "\n") {
			if rest[l] > 0 {
				rest[l]--
				continue
			}
			extra = append(extra, l)
		}
		want := 0
		for _, v := range []string{name, bind, adminBind} {
			if v != "" {
				want++
			}
		}
		lowPort := map[string]bool{
			"# A listen address below port 1024 needs this one capability.": true,
			"AmbientCapabilities=CAP_NET_BIND_SERVICE":                      true,
			"CapabilityBoundingSet=CAP_NET_BIND_SERVICE":                    true,
		}
		if u.LowPort() {
			want += len(lowPort)
		}
		for _, l := range extra {
			if !strings.HasPrefix(l, "Environment=PICLOUD_") && !strings.HasPrefix(l, `Environment="PICLOUD_`) &&
				!(u.LowPort() && lowPort[l]) {
				t.Fatalf("unexpected line %q", l)
			}
		}
		if len(extra) != want {
			t.Fatalf("settings %q %q %q changed the unit beyond one line each: %q", name, bind, adminBind, extra)
		}
		for l, n := range rest {
			// Only the capability lines may differ (a port below 1024).
			if n > 0 && !strings.HasPrefix(l, "CapabilityBoundingSet=") {
				t.Fatalf("settings removed line %q", l)
			}
		}
	})
}
