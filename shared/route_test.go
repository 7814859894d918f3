package shared

import (
	"strings"
	"testing"
)

func TestValidateMethod(t *testing.T) {
	good := map[string]string{"GET": "GET", "get": "GET", "Post": "POST", "any": "ANY", "ANY": "ANY", "PROPFIND": "PROPFIND", "DELETE": "DELETE"}
	for in, want := range good {
		if got, err := ValidateMethod(in); err != nil || got != want {
			t.Errorf("ValidateMethod(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GE T", "GET\n", "GET/", "(GET)", "GÉT", strings.Repeat("A", 33)} {
		_, err := ValidateMethod(in)
		if e, ok := AsError(err); !ok || e.Code != CodeInvalidRoute || e.Status != 422 || e.Detail("field") != "method" {
			t.Errorf("ValidateMethod(%q) = %v; want 422 invalid_route with field method", in, err)
		}
	}
}

func TestValidateRoutePath(t *testing.T) {
	good := []string{"/", "/users", "/users/", "/users/:id", "/users/:id/posts/:post", "/files/*rest", "/*all", "/v1/items.json", "/café", "/a-b_c~d", "/user_:name"}
	for _, p := range good {
		if err := ValidateRoutePath(p); err != nil {
			t.Errorf("ValidateRoutePath(%q) = %v, want ok", p, err)
		}
	}
	bad := []string{
		"", "users", "users/:id", "//", "/a//b", "/a/./b", "/a/../b", "/a/..", "/.",
		"/users/:", "/users/:/x", "/files/*", "/files/*rest/more", "/a/:b:c", "/a/:b*c",
		"/x?y=1", "/x#frag", "/a b", "/a\tb", "/a\nb", "/\x00", "/" + strings.Repeat("a", 2048), "/\xff",
		"/files*rest", "/:id" + "/*rest/x",
		"/a/:b/:b", "/:id/x/:id", "/:p/*p",
	}
	for _, p := range bad {
		err := ValidateRoutePath(p)
		if e, ok := AsError(err); !ok || e.Code != CodeInvalidRoute || e.Status != 422 || e.Detail("field") != "path" {
			t.Errorf("ValidateRoutePath(%q) = %v; want 422 invalid_route with field path", p, err)
		}
	}
}

func host(h string) *string { return &h }

func TestRoutesConflict(t *testing.T) {
	existing := []Route{
		{ID: 1, Method: "GET", Path: "/users/:id"},
		{ID: 2, Method: "GET", Path: "/files/*rest"},
		{ID: 3, Method: "POST", Path: "/items"},
		{ID: 4, Method: "GET", Path: "/admin", Host: host("a.example.com")},
		{ID: 5, Method: "ANY", Path: "/hook"},
		{ID: 6, Method: "GET", Path: "/h/:x", Host: host("b.example.com")},
	}
	tests := []struct {
		name string
		r    Route
		want int64 // id of the clashing route, 0 for none
	}{
		{"same method and path", Route{Method: "GET", Path: "/users/:id"}, 1},
		{"param names differ", Route{Method: "GET", Path: "/users/:name"}, 1},
		{"static beside param", Route{Method: "GET", Path: "/users/new"}, 1},
		{"static beside catch-all", Route{Method: "GET", Path: "/files/x"}, 2},
		{"catch-all beside catch-all", Route{Method: "GET", Path: "/files/*other"}, 2},
		{"other method same path", Route{Method: "POST", Path: "/users/:name"}, 0},
		{"deeper path below param", Route{Method: "GET", Path: "/users/:id/posts"}, 0},
		{"trailing slash is another path", Route{Method: "POST", Path: "/items/"}, 0},
		{"ANY meets GET", Route{Method: "ANY", Path: "/users/:id"}, 1},
		{"ANY meets POST", Route{Method: "ANY", Path: "/items"}, 3},
		{"GET meets ANY", Route{Method: "GET", Path: "/hook"}, 5},
		{"ANY meets ANY", Route{Method: "ANY", Path: "/hook"}, 5},
		{"ANY pattern clash", Route{Method: "ANY", Path: "/files/y"}, 2},
		{"ANY free path", Route{Method: "ANY", Path: "/free"}, 0},
		{"named host beats host-less, same method and path", Route{Method: "GET", Path: "/users/:id", Host: host("a.example.com")}, 0},
		{"named host beats host-less ANY", Route{Method: "POST", Path: "/hook", Host: host("a.example.com")}, 0},
		{"named host pattern clash with host-less", Route{Method: "GET", Path: "/users/:name", Host: host("a.example.com")}, 1},
		{"named host static beside host-less catch-all", Route{Method: "GET", Path: "/files/x", Host: host("a.example.com")}, 2},
		{"same named host, same path", Route{Method: "GET", Path: "/admin", Host: host("a.example.com")}, 4},
		{"other named host, same path", Route{Method: "GET", Path: "/admin", Host: host("c.example.com")}, 0},
		{"host-less shadowed by named route", Route{Method: "GET", Path: "/admin"}, 0},
		{"host-less clashes in a named host's tree", Route{Method: "GET", Path: "/h/:y"}, 6},
		{"host-less param beside named static", Route{Method: "GET", Path: "/:page"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RoutesConflict(existing, tt.r)
			switch {
			case tt.want == 0 && got != nil:
				t.Errorf("RoutesConflict(%s %s) = route %d, want none", tt.r.Method, tt.r.Path, got.ID)
			case tt.want != 0 && got == nil:
				t.Errorf("RoutesConflict(%s %s) = none, want route %d", tt.r.Method, tt.r.Path, tt.want)
			case tt.want != 0 && got.ID != tt.want:
				t.Errorf("RoutesConflict(%s %s) = route %d, want route %d", tt.r.Method, tt.r.Path, got.ID, tt.want)
			}
		})
	}
}

// Whatever RoutesConflict accepts, every tree of the data plane can be built.
func TestRoutesConflictAcceptedSetsRegister(t *testing.T) {
	candidates := []Route{
		{Method: "GET", Path: "/"}, {Method: "GET", Path: "/:a"}, {Method: "GET", Path: "/a"},
		{Method: "ANY", Path: "/a/*x"}, {Method: "GET", Path: "/a/b"}, {Method: "POST", Path: "/a/:b"},
		{Method: "GET", Path: "/a", Host: host("h.example")}, {Method: "GET", Path: "/:z", Host: host("h.example")},
		{Method: "ANY", Path: "/b/:c"}, {Method: "GET", Path: "/b/:d", Host: host("h.example")},
		{Method: "DELETE", Path: "/b/c"}, {Method: "GET", Path: "/b/:c", Host: host("h.example")},
	}
	var accepted []Route
	for i, c := range candidates {
		c.ID = int64(i + 1)
		if RoutesConflict(accepted, c) == nil {
			accepted = append(accepted, c)
		}
	}
	for _, h := range []string{"", "h.example"} {
		for _, m := range []string{"GET", "POST", "DELETE", "ANY"} {
			var paths []string
			for _, r := range TreeRoutes(accepted, h, m) {
				paths = append(paths, r.Path)
			}
			for i := range paths {
				if msg := tryRegister(paths[:i], paths[i]); msg != "" {
					t.Errorf("tree %q %s of accepted routes does not register: %s", h, m, msg)
				}
			}
		}
	}
}

func FuzzValidateRoutePath(f *testing.F) {
	for _, s := range []string{"/", "/users/:id", "/files/*rest", "/a//b", "/:", "/*", "/a/:b:c", "x", "/a?b"} {
		f.Add(s, "/users/:id")
	}
	f.Fuzz(func(t *testing.T, p, other string) {
		err := ValidateRoutePath(p)
		if err != nil {
			if !IsCode(err, CodeInvalidRoute) {
				t.Fatalf("ValidateRoutePath(%q) = %v, want invalid_route", p, err)
			}
			return
		}
		// A valid path registers, and checking it against any other valid
		// path never panics and is symmetric about whether they clash.
		if msg := tryRegister(nil, p); msg != "" {
			t.Fatalf("valid path %q does not register: %s", p, msg)
		}
		if ValidateRoutePath(other) != nil {
			return
		}
		a := RoutesConflict([]Route{{ID: 1, Method: "GET", Path: other}}, Route{ID: 2, Method: "GET", Path: p})
		b := RoutesConflict([]Route{{ID: 2, Method: "GET", Path: p}}, Route{ID: 1, Method: "GET", Path: other})
		if (a == nil) != (b == nil) {
			t.Fatalf("conflict of %q and %q depends on order: %v vs %v", p, other, a, b)
		}
	})
}

// The 409 names the existing route by id and in full, and where it answers.
func TestRouteConflictError(t *testing.T) {
	host := "a.example.com"
	for _, tc := range []struct {
		r    Route
		want string
	}{
		{Route{ID: 7, Method: "GET", Path: "/x"}, "clashes with route 7 (GET /x on every host of the app)"},
		{Route{ID: 8, Method: "ANY", Path: "/y", Host: &host}, "clashes with route 8 (ANY /y on a.example.com)"},
	} {
		t.Run(tc.r.Method+" "+tc.r.Path, func(t *testing.T) {
			e := RouteConflictError(tc.r)
			if e.Status != 409 || e.Code != CodeRouteConflict || e.Message != tc.want {
				t.Errorf("RouteConflictError(%+v) = %d %s %q", tc.r, e.Status, e.Code, e.Message)
			}
			if e.Details["route_id"] != tc.r.ID {
				t.Errorf("route_id = %v, want %d", e.Details["route_id"], tc.r.ID)
			}
			if r, ok := e.Details["route"].(Route); !ok || r.ID != tc.r.ID {
				t.Errorf("route detail = %v", e.Details["route"])
			}
		})
	}
}
