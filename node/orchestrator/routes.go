package orchestrator

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/picloud/picloud/shared"
)

// routeTable holds one app's routes (the RouteTable of the design):
// httprouter trees for the routes without a host, and separate trees for
// each host that routes name explicitly. Routes naming the request's host
// are tried before host-less ones, so a route naming the host wins over a
// host-less route with the same method and path.
//
// For every route set the manager accepts (shared.RoutesConflict) this
// answers exactly as the per-host, per-method trees of shared.TreeRoutes
// would (FuzzRouteTableAgreesWithTreeRoutes checks it), while holding each
// host-less route once instead of once per named host. Routes the manager
// would refuse (GET beside ANY on one path) still get a sensible answer:
// the exact method wins.
type routeTable struct {
	routes []shared.Route
	all    *routeScope
	hosts  map[string]*routeScope
}

// routeScope is the routes of one scope (host-less, or one named host): a
// httprouter tree per method, "ANY" being one more tree.
type routeScope struct {
	router  *httprouter.Router
	methods []string // methods with at least one route, sorted, for Allow
}

// hit receives the matched route from a httprouter handle: Lookup returns
// only the Handle, so each route's Handle records its index into the
// ResponseWriter it is given.
type hit struct {
	http.ResponseWriter // never used
	index               int
}

func newRouteTable() *routeTable {
	return &routeTable{hosts: make(map[string]*routeScope)}
}

// add inserts a route. httprouter panics on patterns it cannot hold side by
// side (e.g. "/a/:x" beside "/a/:y"); the manager refuses such routes, but a
// table is rebuilt from whatever the database holds, so a clash is turned
// into an error that skips only this route.
func (t *routeTable) add(r shared.Route) (err error) {
	scope := t.all
	if r.Host != nil {
		scope = t.hosts[*r.Host]
	}
	if scope == nil {
		scope = &routeScope{router: httprouter.New()}
		if r.Host != nil {
			t.hosts[*r.Host] = scope
		} else {
			t.all = scope
		}
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("route %d %s %s: %v", r.ID, r.Method, r.Path, p)
		}
	}()
	index := len(t.routes)
	scope.router.Handle(r.Method, r.Path, func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
		w.(*hit).index = index
	})
	t.routes = append(t.routes, r)
	if i, found := slices.BinarySearch(scope.methods, r.Method); !found {
		scope.methods = slices.Insert(scope.methods, i, r.Method)
	}
	return nil
}

// lookup finds the route for a normalised host, a method and a path. When
// no route matches but the path exists for other methods, allow lists them
// (for 405 and its Allow header); when the path exists nowhere both results
// are nil. A HEAD request no HEAD or ANY route takes is served by the GET
// route, as net/http and browsers expect (net/http drops the body).
func (t *routeTable) lookup(host, method, path string) (route *shared.Route, params httprouter.Params, allow []string) {
	route, params, allow = t.find(host, method, path)
	if route == nil && method == http.MethodHead {
		if r, ps, _ := t.find(host, http.MethodGet, path); r != nil {
			return r, ps, nil
		}
	}
	return route, params, allow
}

// find is lookup without the HEAD fallback. Within the request's host
// scope before the host-less one, an exact method beats ANY.
func (t *routeTable) find(host, method, path string) (route *shared.Route, params httprouter.Params, allow []string) {
	scopes := [2]*routeScope{t.hosts[host], t.all}
	for _, s := range scopes {
		if s == nil {
			continue
		}
		for _, m := range [2]string{method, shared.MethodAny} {
			if h, ps, _ := s.router.Lookup(m, path); h != nil {
				var got hit
				h(&got, nil, nil)
				return &t.routes[got.index], ps, nil
			}
			if method == shared.MethodAny {
				break
			}
		}
	}
	for _, s := range scopes {
		if s == nil {
			continue
		}
		for _, m := range s.methods {
			if m == shared.MethodAny || slices.Contains(allow, m) {
				continue
			}
			if h, _, _ := s.router.Lookup(m, path); h != nil {
				allow = append(allow, m)
			}
		}
	}
	slices.Sort(allow)
	return nil, nil, allow
}

// allowHeader formats methods for the Allow header.
func allowHeader(methods []string) string { return strings.Join(methods, ", ") }
