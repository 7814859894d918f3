package shared

import (
	"net/http"
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/julienschmidt/httprouter"
)

// MethodAny is the route method that answers every HTTP method.
const MethodAny = "ANY"

// maxRoutePathLen bounds a route path; longer ones are almost certainly
// pasted by mistake.
const maxRoutePathLen = 2048

func invalidRoute(field, format string, args ...any) *Error {
	return Errorf(CodeInvalidRoute, format, args...).With("field", field)
}

// ValidateMethod returns m upper-cased if it is an HTTP method token (RFC
// 9110 tchar) or ANY. Failures are 422 invalid_route with field "method".
func ValidateMethod(m string) (string, error) {
	if m == "" {
		return "", invalidRoute("method", "method must not be empty; use ANY for every method")
	}
	if len(m) > 32 {
		return "", invalidRoute("method", "method is longer than 32 characters")
	}
	for i := 0; i < len(m); i++ {
		if !isTchar(m[i]) {
			return "", invalidRoute("method", "%q is not an HTTP method", m)
		}
	}
	return strings.ToUpper(m), nil
}

func isTchar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// ValidateRoutePath checks a route path in httprouter syntax: it starts with
// '/', is clean (no //, /./, /../), has no query, fragment, spaces or control
// characters, at most one named parameter (:name) per segment and a
// catch-all (*name) only at the end. The final word is httprouter's
// own: the path is registered in a throwaway router. Failures are 422
// invalid_route with field "path".
func ValidateRoutePath(p string) error {
	switch {
	case p == "":
		return invalidRoute("path", "path must not be empty")
	case p[0] != '/':
		return invalidRoute("path", "path %q must start with '/'", p)
	case len(p) > maxRoutePathLen:
		return invalidRoute("path", "path is longer than %d characters", maxRoutePathLen)
	case !utf8.ValidString(p):
		return invalidRoute("path", "path is not valid UTF-8")
	}
	for _, r := range p {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '?' || r == '#' {
			return invalidRoute("path", "path %q contains a space, control character, '?' or '#'", p)
		}
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	if clean != p {
		return invalidRoute("path", "path %q is not clean; did you mean %q?", p, clean)
	}
	var names []string
	for _, seg := range strings.Split(p[1:], "/") {
		i := strings.IndexAny(seg, ":*")
		if i < 0 {
			continue
		}
		if strings.ContainsAny(seg[i+1:], ":*") {
			return invalidRoute("path", "path %q has more than one parameter in a segment", p)
		}
		if i == len(seg)-1 {
			return invalidRoute("path", "path %q has a parameter without a name", p)
		}
		// req.params is an object: a second :b would hide the first.
		name := seg[i+1:]
		if slices.Contains(names, name) {
			return invalidRoute("path", "path %q names the parameter %q twice", p, name)
		}
		names = append(names, name)
	}
	if i := strings.IndexByte(p, '*'); i >= 0 && strings.Contains(p[i:], "/") {
		return invalidRoute("path", "path %q: a catch-all (*name) must be the last segment", p)
	}
	if msg := tryRegister(nil, p); msg != "" {
		return invalidRoute("path", "path %q cannot be served: %s", p, msg)
	}
	return nil
}

// tryRegister registers paths and then p in a throwaway router and returns
// httprouter's panic message when p cannot join them ("" when it can).
// Existing paths that themselves fail are skipped: data stored before a rule
// tightened must not make every new route fail.
func tryRegister(paths []string, p string) (msg string) {
	r := httprouter.New()
	h := func(http.ResponseWriter, *http.Request, httprouter.Params) {}
	for _, e := range paths {
		func() {
			defer func() { _ = recover() }()
			r.Handle(http.MethodGet, e, h)
		}()
	}
	defer func() {
		if v := recover(); v != nil {
			msg = "conflicting pattern"
			if s, ok := v.(string); ok {
				msg = s
			}
		}
	}()
	r.Handle(http.MethodGet, p, h)
	return ""
}

// TreeRoutes returns the routes of one app the data plane puts into the tree
// for host and method (SPEC §4): routes of that method or ANY that are
// host-less or name exactly host; a route naming the host replaces a
// host-less one with the same path. Host "" selects only host-less routes.
// The order of routes is kept. RoutesConflict decides conflicts with this
// same function, so what the manager accepts the data plane can build.
func TreeRoutes(routes []Route, host, method string) []Route {
	var named map[string]bool
	if host != "" {
		named = make(map[string]bool)
		for _, r := range routes {
			if r.Host != nil && *r.Host == host && inMethod(r, method) {
				named[r.Path] = true
			}
		}
	}
	var out []Route
	for _, r := range routes {
		if !inMethod(r, method) {
			continue
		}
		switch {
		case r.Host == nil && named[r.Path]:
			// shadowed by a route naming this host
		case r.Host == nil || (host != "" && *r.Host == host):
			out = append(out, r)
		}
	}
	return out
}

func inMethod(r Route, method string) bool {
	return r.Method == method || r.Method == MethodAny
}

// RoutesConflict returns the route of existing (one app's routes) that r
// could not be served beside, or nil. Two routes conflict when some tree of
// the data plane would hold both with the same path, or with patterns
// httprouter cannot register together (/users/:id and /users/:name,
// /files/*rest and /files/x). ANY shares a tree with every method. A
// host-less route shares the tree of every named host, except that a route
// naming a host and a host-less one with the same method and path do not
// conflict: the named one wins for its host. r's Method and Path must be
// validated; RoutesConflict never panics.
func RoutesConflict(existing []Route, r Route) *Route {
	hosts := []string{""}
	if r.Host != nil {
		hosts = []string{*r.Host}
	} else {
		seen := map[string]bool{}
		for _, e := range existing {
			if e.Host != nil && !seen[*e.Host] {
				seen[*e.Host] = true
				hosts = append(hosts, *e.Host)
			}
		}
	}
	methods := []string{r.Method}
	if r.Method == MethodAny {
		seen := map[string]bool{MethodAny: true}
		for _, e := range existing {
			if !seen[e.Method] {
				seen[e.Method] = true
				methods = append(methods, e.Method)
			}
		}
	}
	all := append(existing[:len(existing):len(existing)], r)
	for _, h := range hosts {
		for _, m := range methods {
			tree := TreeRoutes(all, h, m)
			if c := treeConflict(tree, r); c != nil {
				return c
			}
		}
	}
	return nil
}

// RouteConflictError is the 409 route_conflict naming the existing route a
// new one clashes with (its id, and the route itself).
func RouteConflictError(existing Route) *Error {
	on := "every host of the app"
	if existing.Host != nil {
		on = *existing.Host
	}
	return Errorf(CodeRouteConflict,
		"clashes with route %d (%s %s on %s)", existing.ID, existing.Method, existing.Path, on).
		With("route_id", existing.ID).With("route", existing)
}

// treeConflict checks r, the last element of tree if it was not shadowed,
// against the other routes of the tree.
func treeConflict(tree []Route, r Route) *Route {
	if len(tree) == 0 || !sameRoute(tree[len(tree)-1], r) {
		return nil // r is shadowed in this tree by a route naming the host
	}
	others := tree[:len(tree)-1]
	for i := range others {
		if others[i].Path == r.Path {
			c := others[i]
			return &c
		}
	}
	paths := make([]string, len(others))
	for i, e := range others {
		paths[i] = e.Path
	}
	if tryRegister(paths, r.Path) == "" {
		return nil
	}
	// Name the route it clashes with: httprouter conflicts are between two
	// patterns, so test pairs; fall back to the last one if none alone does.
	for i := range others {
		if tryRegister([]string{others[i].Path}, r.Path) != "" {
			c := others[i]
			return &c
		}
	}
	for i := range others {
		if tryRegister([]string{r.Path}, others[i].Path) != "" {
			c := others[i]
			return &c
		}
	}
	if len(others) == 0 {
		return nil // r alone is unregistrable: ValidateRoutePath's job, not a conflict
	}
	c := others[len(others)-1]
	return &c
}

func sameRoute(a, b Route) bool {
	return a.ID == b.ID && a.Method == b.Method && a.Path == b.Path &&
		(a.Host == nil) == (b.Host == nil) && (a.Host == nil || *a.Host == *b.Host)
}
