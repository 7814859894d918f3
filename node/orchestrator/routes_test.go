package orchestrator

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/julienschmidt/httprouter"

	"github.com/picloud/picloud/shared"
)

func hostp(h string) *string { return &h }

// testRoutes is one app's routes; IDs double as names in the table below.
var testRoutes = []shared.Route{
	{ID: 1, Method: "GET", Path: "/"},
	{ID: 2, Method: "GET", Path: "/users/:id"},
	{ID: 3, Method: "POST", Path: "/users/:id"},
	{ID: 4, Method: "DELETE", Path: "/users/:id/posts/:post"},
	{ID: 5, Method: "GET", Path: "/files/*rest"},
	{ID: 6, Method: "ANY", Path: "/anything"},
	{ID: 7, Method: "GET", Path: "/health"},
	{ID: 8, Method: "GET", Path: "/health", Host: hostp("api.example.com")}, // beats 7 on its host
	{ID: 9, Method: "GET", Path: "/only-api", Host: hostp("api.example.com")},
	{ID: 10, Method: "ANY", Path: "/mixed"},
	{ID: 11, Method: "PUT", Path: "/mixed"}, // an exact method beats ANY
	{ID: 12, Method: "ANY", Path: "/", Host: hostp("any.example.com")},
	{ID: 13, Method: "PATCH", Path: "/users/:id"},
}

func newTestRouteTable(t testing.TB) *routeTable {
	t.Helper()
	rt := newRouteTable()
	for _, r := range testRoutes {
		if err := rt.add(r); err != nil {
			t.Fatal(err)
		}
	}
	return rt
}

func TestRouteTableLookup(t *testing.T) {
	rt := newTestRouteTable(t)
	tests := []struct {
		name               string
		host, method, path string
		want               int64 // route id; 0: none
		params             map[string]string
		allow              string // Allow when want is 0; "" means 404
	}{
		{"root", "www.example.com", "GET", "/", 1, nil, ""},
		{"param", "www.example.com", "GET", "/users/42", 2, map[string]string{"id": "42"}, ""},
		{"param by method", "www.example.com", "POST", "/users/42", 3, map[string]string{"id": "42"}, ""},
		{"two params", "x", "DELETE", "/users/7/posts/99", 4, map[string]string{"id": "7", "post": "99"}, ""},
		{"catch-all", "x", "GET", "/files/a/b/c.txt", 5, map[string]string{"rest": "/a/b/c.txt"}, ""},
		{"catch-all one segment", "x", "GET", "/files/x", 5, map[string]string{"rest": "/x"}, ""},
		{"ANY with GET", "x", "GET", "/anything", 6, nil, ""},
		{"ANY with odd method", "x", "PROPFIND", "/anything", 6, nil, ""},
		{"HEAD served by GET", "x", "HEAD", "/users/42", 2, map[string]string{"id": "42"}, ""},
		{"HEAD served by ANY first", "x", "HEAD", "/anything", 6, nil, ""},
		{"HEAD on a host route", "api.example.com", "HEAD", "/health", 8, nil, ""},
		{"HEAD without GET", "x", "HEAD", "/users/1/posts/2", 0, nil, "DELETE"},
		{"host-less route on a named host", "api.example.com", "GET", "/users/1", 2, map[string]string{"id": "1"}, ""},
		{"host route wins on its host", "api.example.com", "GET", "/health", 8, nil, ""},
		{"host-less route elsewhere", "www.example.com", "GET", "/health", 7, nil, ""},
		{"host-only route on its host", "api.example.com", "GET", "/only-api", 9, nil, ""},
		{"host-only route elsewhere", "www.example.com", "GET", "/only-api", 0, nil, ""},
		{"exact method beats ANY", "x", "PUT", "/mixed", 11, nil, ""},
		{"ANY beside exact method", "x", "GET", "/mixed", 10, nil, ""},
		{"host ANY beats host-less GET", "any.example.com", "GET", "/", 12, nil, ""},
		{"405 lists every method", "x", "PUT", "/users/42", 0, nil, "GET, PATCH, POST"},
		{"405 on root", "x", "POST", "/", 0, nil, "GET"},
		{"405 counts host routes", "api.example.com", "POST", "/only-api", 0, nil, "GET"},
		{"405 health", "api.example.com", "DELETE", "/health", 0, nil, "GET"},
		{"no route", "x", "GET", "/nope", 0, nil, ""},
		{"no trailing-slash match", "x", "GET", "/users/42/", 0, nil, ""},
		{"catch-all needs a segment", "x", "GET", "/files", 0, nil, ""},
		{"case-sensitive path", "x", "GET", "/Users/42", 0, nil, ""},
		{"method is case-sensitive", "x", "get", "/users/42", 0, nil, "GET, PATCH, POST"},
		{"empty path", "x", "GET", "", 0, nil, ""},
		{"asterisk", "x", "OPTIONS", "*", 0, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ps, allow := rt.lookup(tt.host, tt.method, tt.path)
			if tt.want == 0 {
				if r != nil {
					t.Fatalf("%s %s on %s matched route %d, want none", tt.method, tt.path, tt.host, r.ID)
				}
				if got := allowHeader(allow); got != tt.allow {
					t.Fatalf("Allow = %q, want %q", got, tt.allow)
				}
				return
			}
			if r == nil {
				t.Fatalf("%s %s on %s matched nothing (allow %v), want route %d", tt.method, tt.path, tt.host, allow, tt.want)
			}
			if r.ID != tt.want {
				t.Fatalf("%s %s on %s matched route %d, want %d", tt.method, tt.path, tt.host, r.ID, tt.want)
			}
			got := map[string]string{}
			for _, p := range ps {
				got[p.Key] = p.Value
			}
			if len(got) != len(tt.params) {
				t.Fatalf("params = %v, want %v", got, tt.params)
			}
			for k, v := range tt.params {
				if got[k] != v {
					t.Fatalf("params = %v, want %v", got, tt.params)
				}
			}
		})
	}
}

// A route the database holds but httprouter cannot place beside another
// must cost only that route, never the app's other routes.
func TestRouteTableClashSkipsOnlyTheClash(t *testing.T) {
	rt := newRouteTable()
	for _, r := range []shared.Route{
		{ID: 1, Method: "GET", Path: "/a/:x"},
		{ID: 3, Method: "GET", Path: "/b"},
	} {
		if err := rt.add(r); err != nil {
			t.Fatal(err)
		}
	}
	err := rt.add(shared.Route{ID: 2, Method: "GET", Path: "/a/:y"})
	if err == nil || !strings.Contains(err.Error(), "route 2") {
		t.Fatalf("clashing route: err = %v, want an error naming route 2", err)
	}
	for path, want := range map[string]int64{"/a/1": 1, "/b": 3} {
		r, _, _ := rt.lookup("h", "GET", path)
		if r == nil || r.ID != want {
			t.Fatalf("GET %s after a clash = %v, want route %d", path, r, want)
		}
	}
}

// FuzzRouteLookup feeds arbitrary request methods and paths (outside input)
// to the route table: it must never panic, and what it answers must be
// consistent: a match has the request's method or ANY, a 405 lists only
// methods that really match.
func FuzzRouteLookup(f *testing.F) {
	for _, s := range [][3]string{
		{"api.example.com", "GET", "/users/1"},
		{"x", "POST", "/files/"},
		{"x", "GET", "//"},
		{"x", "DELETE", "/users/:id/posts/"},
		{"x", "", "*"},
		{"any.example.com", "TRACE", "/"},
		{"x", "GET", "/users/%2F/posts/1"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	rt := newTestRouteTable(f)
	f.Fuzz(func(t *testing.T, host, method, path string) {
		r, ps, allow := rt.lookup(host, method, path)
		if r != nil {
			if r.Method != method && r.Method != shared.MethodAny && (method != http.MethodHead || r.Method != http.MethodGet) {
				t.Fatalf("%s %s matched route %d of method %s", method, path, r.ID, r.Method)
			}
			if r.Host != nil && *r.Host != host {
				t.Fatalf("host %q matched route %d of host %q", host, r.ID, *r.Host)
			}
			if strings.Count(r.Path, ":")+strings.Count(r.Path, "*") != len(ps) {
				t.Fatalf("route %s gave params %v", r.Path, ps)
			}
			return
		}
		for _, m := range allow {
			if m == method || m == shared.MethodAny {
				t.Fatalf("%s %s: Allow %v lists the request's own method", method, path, allow)
			}
			if got, _, _ := rt.lookup(host, m, path); got == nil {
				t.Fatalf("%s %s: Allow lists %s but %s %s matches nothing", method, path, m, m, path)
			}
		}
		if !slices.IsSorted(allow) {
			t.Fatalf("Allow %v is not sorted", allow)
		}
	})
}

// The manager accepts a route only when shared.RoutesConflict finds no
// clash, and that rule is defined by shared.TreeRoutes: one httprouter tree
// per host and method. FuzzRouteTableAgreesWithTreeRoutes builds random route
// sets the manager would accept and checks that the data plane answers every
// request exactly as those trees would, 405 included.
func FuzzRouteTableAgreesWithTreeRoutes(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{12, 40, 77, 3, 250, 19, 33, 100})
	f.Add([]byte("route tables agree"))
	methods := []string{"GET", "POST", "ANY"}
	hosts := []*string{nil, hostp("a.test"), hostp("b.test")}
	paths := []string{"/", "/x", "/x/:id", "/x/y", "/f/*rest", "/:p", "/x/:id/z", "/x/y/z", "/f"}
	reqHosts := []string{"a.test", "b.test", "c.test"}
	reqMethods := []string{"GET", "POST", "PUT"}
	reqPaths := []string{"/", "/x", "/x/1", "/x/y", "/f/a/b", "/f", "/q", "/x/1/z", "/x/y/z", "/x/"}
	f.Fuzz(func(t *testing.T, data []byte) {
		var accepted []shared.Route
		for i := 0; i+2 < len(data) && len(accepted) < 12; i += 3 {
			r := shared.Route{
				ID:     int64(len(accepted) + 1),
				Method: methods[int(data[i])%len(methods)],
				Host:   hosts[int(data[i+1])%len(hosts)],
				Path:   paths[int(data[i+2])%len(paths)],
			}
			if shared.RoutesConflict(accepted, r) == nil {
				accepted = append(accepted, r)
			}
		}
		rt := newRouteTable()
		for _, r := range accepted {
			if err := rt.add(r); err != nil {
				t.Fatalf("the manager accepted %+v but the data plane cannot build it: %v", r, err)
			}
		}
		for _, host := range reqHosts {
			for _, method := range reqMethods {
				for _, path := range reqPaths {
					want, wantAllow := treeRoutesLookup(accepted, host, method, path)
					got, _, allow := rt.lookup(host, method, path)
					var gotID int64
					if got != nil {
						gotID = got.ID
					}
					if gotID != want || allowHeader(allow) != allowHeader(wantAllow) {
						t.Fatalf("routes %s\n%s %s on %s: data plane route %d allow %v; TreeRoutes route %d allow %v",
							describeRoutes(accepted), method, path, host, gotID, allow, want, wantAllow)
					}
				}
			}
		}
	})
}

// treeRoutesLookup is the reference: register the tree shared.TreeRoutes
// defines for (host, method) and look the path up in it.
func treeRoutesLookup(routes []shared.Route, host, method, path string) (id int64, allow []string) {
	find := func(m string) int64 {
		var found int64
		r := httprouter.New()
		for _, e := range shared.TreeRoutes(routes, host, m) {
			e := e
			r.Handle("X", e.Path, func(http.ResponseWriter, *http.Request, httprouter.Params) { found = e.ID })
		}
		if h, _, _ := r.Lookup("X", path); h != nil {
			h(nil, nil, nil)
		}
		return found
	}
	if id := find(method); id != 0 {
		return id, nil
	}
	for _, r := range routes {
		if r.Method != shared.MethodAny && r.Method != method && !slices.Contains(allow, r.Method) && find(r.Method) != 0 {
			allow = append(allow, r.Method)
		}
	}
	slices.Sort(allow)
	return 0, allow
}

func describeRoutes(rs []shared.Route) string {
	var b strings.Builder
	for _, r := range rs {
		h := "*"
		if r.Host != nil {
			h = *r.Host
		}
		fmt.Fprintf(&b, "\n  %d %s %s host=%s", r.ID, r.Method, r.Path, h)
	}
	return b.String()
}
