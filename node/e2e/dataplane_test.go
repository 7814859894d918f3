package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/picloud/picloud/node/nodetest"
	"github.com/picloud/picloud/shared"
)

// SPEC §2: a fresh install answers "Hello, World!" on http://localhost:PORT/
// at once; §4: /healthz and /version answer on both listeners without auth.
func TestFreshInstallSaysHello(t *testing.T) {
	e := start(t)
	_, port, _ := net.SplitHostPort(e.n.DataAddr().String())

	// Exactly what the user types (the listener is on 127.0.0.1, so the
	// Host header is what makes it localhost).
	r := e.do(e.newRequest("http://localhost:"+port, request{Path: "/"}))
	if r.Status != http.StatusOK || r.String() != "Hello, World!" {
		t.Fatalf("GET http://localhost:%s/ = %d %q, want 200 \"Hello, World!\"", port, r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("a returned string has Content-Type %q, want text/plain; charset=utf-8", ct)
	}

	for _, base := range []string{e.n.DataURL, e.n.AdminURL} {
		for _, host := range []string{"localhost", "nobody-claims.example"} {
			req := e.newRequest(base, request{Path: "/healthz"})
			req.Host = host
			h := e.do(req)
			if h.Status != http.StatusOK || h.json(t)["status"] != "ok" {
				t.Errorf("%s/healthz (Host %s) = %d %s", base, host, h.Status, h.Body)
			}
		}
		v := e.do(e.newRequest(base, request{Path: "/version"}))
		m := v.json(t)
		if v.Status != http.StatusOK || m["product"] != shared.Product || m["node_id"] != e.n.NodeID() ||
			m["name"] != "test-node" || m["schema"] != float64(e.n.Store().SchemaVersion()) {
			t.Errorf("%s/version = %d %s", base, v.Status, v.Body)
		}
	}

	// The default app exists, claims localhost and the loopback
	// addresses, and holds the seed.
	def, err := e.c.App(e.ctx, shared.DefaultAppSlug)
	if err != nil {
		t.Fatal(err)
	}
	if len(def.Domains) != 3 || def.Domains[0].Pattern != "localhost" || def.Domains[1].Pattern != "127.0.0.1" ||
		def.Domains[2].Pattern != "::1" || def.ScriptCount != 1 || def.RouteCount != 1 {
		t.Errorf("default app = %+v, want localhost, 127.0.0.1, ::1, 1 script, 1 route", def)
	}
	scripts, err := e.c.Scripts(e.ctx, shared.DefaultAppSlug)
	if err != nil || len(scripts) != 1 || scripts[0].Name != "hello-world" {
		t.Fatalf("default app's scripts = %+v, %v; want hello-world", scripts, err)
	}
}

// SPEC §3, §4, §5: an app with a derived slug, exact, wildcard and IDNA
// claims, a script and a route; a request with a Host header reaches it and
// the script sees method, host, path, params, query, headers, body, json()
// and app.
func TestScriptSeesTheRequest(t *testing.T) {
	e := start(t)
	app := e.createApp("My Shop!", "")
	if app.Slug != "my-shop" {
		t.Fatalf("slug derived from \"My Shop!\" = %q, want my-shop", app.Slug)
	}
	e.claim("my-shop", "shop.example.com")
	e.claim("my-shop", "*.shop.example.com")
	idn := e.claim("my-shop", "Bücher.Example.")
	if idn.Pattern != "xn--bcher-kva.example" {
		t.Errorf("IDNA claim stored as %q, want xn--bcher-kva.example", idn.Pattern)
	}
	s := e.script("my-shop", "echo", echo, nil)
	e.route("my-shop", s.ID, "POST", "/items/:id", "")

	r := e.data(request{
		Method: "POST", Host: "Shop.Example.com:8080", Path: "/items/42?a=1&b=2&b=3",
		Header: http.Header{"X-Test": {"yes"}, "Content-Type": {"application/json"}},
		Body:   []byte(`{"n": 1}`),
	})
	got := decodeEcho(t, r)
	if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("an object body is sent with Content-Type %q, want JSON", ct)
	}
	if r.Header.Get("X-Script") != "echo" {
		t.Errorf("script's header missing: %v", r.Header)
	}
	if got.Method != "POST" || got.Host != "shop.example.com" || got.Path != "/items/42" || got.App != "my-shop" {
		t.Errorf("script saw method %q host %q path %q app %q", got.Method, got.Host, got.Path, got.App)
	}
	if got.Params["id"] != "42" || len(got.Params) != 1 {
		t.Errorf("params = %v, want id=42", got.Params)
	}
	if got.Query["a"] != "1" || fmt.Sprint(got.Query["b"]) != "[2 3]" {
		t.Errorf("query = %v, want a=1, b=[2 3]", got.Query)
	}
	if got.Headers["x-test"] != "yes" || got.Headers["content-type"] != "application/json" {
		t.Errorf("headers (lower-case names) = %v", got.Headers)
	}
	if got.Body != `{"n": 1}` || fmt.Sprint(got.JSON) != "map[n:1]" {
		t.Errorf("body %q, json() %v", got.Body, got.JSON)
	}

	// Every claim reaches the app: wildcard at any depth, IDNA in either
	// spelling (the client sends punycode on the wire either way).
	for _, host := range []string{"a.shop.example.com", "a.b.shop.example.com", "xn--bcher-kva.example", "bücher.example"} {
		r := e.data(request{Method: "POST", Host: host, Path: "/items/7"})
		if got := decodeEcho(t, r); got.Params["id"] != "7" || got.App != "my-shop" {
			t.Errorf("Host %s: script saw %+v", host, got)
		}
	}
}

// SPEC §4.1 host matching, with resolve answering the same for each host
// (SPEC §3: "exactly what the data plane would do").
func TestHostMatching(t *testing.T) {
	e := start(t)
	for _, a := range []struct{ slug, pattern string }{
		{"exact", "api.example.com"},
		{"wild", "*.example.com"},
		{"wild-eu", "*.eu.example.com"},
		{"ipv4", "10.1.2.3"},
		{"ipv6", "[2001:db8::1]"},
	} {
		e.createApp(a.slug, a.slug)
		e.claim(a.slug, a.pattern)
		s := e.script(a.slug, "who", named(a.slug), nil)
		e.route(a.slug, s.ID, shared.MethodAny, "/*rest", "")
	}
	for _, tc := range []struct {
		host, want string // want "" means 404 unknown_host
	}{
		{"api.example.com", "exact"},
		{"API.Example.COM.", "exact"},
		{"api.example.com:8443", "exact"},
		{"x.example.com", "wild"},
		{"a.b.c.example.com", "wild"},
		{"eu.example.com", "wild"}, // apex of *.eu.example.com is not covered by it
		{"x.eu.example.com", "wild-eu"},
		{"a.b.eu.example.com", "wild-eu"},
		{"example.com", ""}, // *.example.com does not cover its apex
		{"notexample.com", ""},
		{"10.1.2.3:80", "ipv4"},
		{"[2001:db8::1]:8080", "ipv6"},
		{"[2001:0db8:0::1]", "ipv6"},
		{"10.1.2.4", ""},
	} {
		t.Run(tc.host, func(t *testing.T) {
			r := e.get(tc.host, "/anything")
			res, err := e.c.Resolve(e.ctx, tc.host, "GET", "/anything")
			if tc.want == "" {
				ee := r.apiError(t, http.StatusNotFound, shared.CodeUnknownHost)
				norm, nerr := shared.NormalizeHost(tc.host)
				if nerr != nil {
					t.Fatal(nerr)
				}
				if ee["host"] != norm || !strings.Contains(ee["message"].(string), norm) {
					t.Errorf("unknown_host does not name the host %q: %s", norm, r.Body)
				}
				nodetest.WantError(t, err, http.StatusNotFound, shared.CodeUnknownHost)
				return
			}
			if r.Status != http.StatusOK || r.String() != tc.want {
				t.Errorf("data plane: %d %q, want app %s", r.Status, r.Body, tc.want)
			}
			if err != nil || res.App.Slug != tc.want || res.Params["rest"] != "/anything" {
				t.Errorf("resolve: %+v, %v; want app %s", res, err, tc.want)
			}
		})
	}
}

// SPEC §4.2 route selection and the data plane's error answers.
func TestRoutingAndErrors(t *testing.T) {
	e := start(t)
	e.createApp("Router", "")
	e.claim("router", "r.example.com")
	e.claim("router", "*.other.example.com")
	generic := e.script("router", "generic", named("generic"), nil)
	special := e.script("router", "special", named("special"), nil)
	e.route("router", generic.ID, "GET", "/hello", "")
	e.route("router", special.ID, "GET", "/hello", "r.example.com")
	e.route("router", generic.ID, "PUT", "/things/:id", "")

	for _, tc := range []struct{ host, want string }{
		{"r.example.com", "special"},
		{"x.other.example.com", "generic"},
	} {
		t.Run(tc.host, func(t *testing.T) {
			e := e.sub(t)
			if r := e.get(tc.host, "/hello"); r.String() != tc.want {
				t.Errorf("GET /hello on %s = %d %q, want %s", tc.host, r.Status, r.Body, tc.want)
			}
		})
	}

	// No route: 404 no_route.
	e.get("r.example.com", "/nothing").apiError(t, http.StatusNotFound, shared.CodeNoRoute)

	// The path matches another method: 405 with Allow.
	r := e.data(request{Method: "DELETE", Host: "r.example.com", Path: "/things/9"})
	r.apiError(t, http.StatusMethodNotAllowed, shared.CodeMethodNotAllowed)
	if allow := r.Header.Get("Allow"); !strings.Contains(allow, "PUT") || strings.Contains(allow, "GET") {
		t.Errorf("Allow = %q, want PUT only", allow)
	}

	// A thrown error: 500 script_error, no message or stack in the body.
	boom := e.script("router", "boom", `function handle(req) {
  console.log("about to fail");
  throw new Error("secret-detail-42");
}`, nil)
	e.route("router", boom.ID, "GET", "/boom", "")
	r = e.get("r.example.com", "/boom")
	r.apiError(t, http.StatusInternalServerError, shared.CodeScriptError)
	for _, leak := range []string{"secret-detail-42", "at handle", "about to fail", ":3:"} {
		if strings.Contains(r.String(), leak) {
			t.Errorf("script_error body leaks %q: %s", leak, r.Body)
		}
	}
	// A bad return value is a script error too.
	bad := e.script("router", "bad-return", `function handle(req) { return {status: 99}; }`, nil)
	e.route("router", bad.ID, "GET", "/bad", "")
	e.get("r.example.com", "/bad").apiError(t, http.StatusInternalServerError, shared.CodeScriptError)

	// The log has what the body does not.
	logs := nodetest.WaitLogs(t, e.c, "router", boom.ID, 1)
	if l := logs[0]; l.Status != 500 || !strings.Contains(l.Error, "secret-detail-42") ||
		!strings.Contains(l.Output, "about to fail") {
		t.Errorf("log of the failed run = %+v", l)
	}

	// Each sandbox knob is named by the 507.
	for _, tc := range []struct {
		knob   string
		limits shared.Overrides
		source string
	}{
		{"max_operations", shared.Overrides{"max_operations": 500}, `for (;;) {}`},
		{"max_string_size", shared.Overrides{"max_string_size": 1000}, `var s = "x".repeat(5000);`},
		{"max_array_size", shared.Overrides{"max_array_size": 10}, `var a = []; for (var i = 0; i < 100; i++) a.push(i);`},
		{"max_map_size", shared.Overrides{"max_map_size": 10}, `var o = {}; for (var i = 0; i < 100; i++) o["k" + i] = i;`},
		{"max_call_levels", shared.Overrides{"max_call_levels": 10}, `function f(n) { return f(n + 1); } f(0);`},
		{"timeout_ms", shared.Overrides{"timeout_ms": 50}, `var x = 0; for (;;) { x++; }`},
	} {
		t.Run(tc.knob, func(t *testing.T) {
			e := e.sub(t)
			sc := e.script("router", "limit-"+tc.knob, "function handle(req) { "+tc.source+" return 'no'; }", tc.limits)
			e.route("router", sc.ID, "GET", "/limit/"+tc.knob, "")
			r := e.get("r.example.com", "/limit/"+tc.knob)
			if ee := r.apiError(t, http.StatusInsufficientStorage, shared.CodeSandboxLimit); ee["limit"] != tc.knob {
				t.Errorf("%s: 507 names limit %v", tc.knob, ee["limit"])
			}
		})
	}
}

// SPEC §5's example, verbatim: 10,000 iterations with max_operations 500
// answer 507; after PATCH to 1000000 the very next request answers 10000.
func TestSandboxExample(t *testing.T) {
	e := start(t)
	e.createApp("Loop", "")
	e.claim("loop", "loop.example.com")
	s := e.script("loop", "loop", `function handle(req) {
  var n = 0;
  for (var i = 0; i < 10000; i++) { n++; }
  return String(n);
}`, shared.Overrides{"max_operations": 500})
	if s.EffectiveSandbox.MaxOperations != 500 || s.Sandbox["max_operations"] != 500 {
		t.Errorf("script sandbox %v, effective %+v", s.Sandbox, s.EffectiveSandbox)
	}
	e.route("loop", s.ID, "GET", "/", "")

	r := e.get("loop.example.com", "/")
	if ee := r.apiError(t, http.StatusInsufficientStorage, shared.CodeSandboxLimit); ee["limit"] != "max_operations" {
		t.Errorf("507 names %v, want max_operations", ee["limit"])
	}
	up := shared.Overrides{"max_operations": 1000000}
	if _, err := e.c.UpdateScript(e.ctx, s.ID, shared.UpdateScriptRequest{Sandbox: &up}); err != nil {
		t.Fatal(err)
	}
	if r := e.get("loop.example.com", "/"); r.Status != http.StatusOK || r.String() != "10000" {
		t.Fatalf("after PATCH: %d %q, want 200 10000", r.Status, r.Body)
	}
}

// SPEC §3 resolve: for every input it answers what the data plane does,
// side by side.
func TestResolveMatchesDataPlane(t *testing.T) {
	e := start(t)
	e.createApp("Shop", "")
	e.claim("shop", "shop.example.com")
	e.claim("shop", "*.shop.example.com")
	list := e.script("shop", "list", named("list"), nil)
	item := e.script("shop", "item", named("item"), nil)
	files := e.script("shop", "files", named("files"), nil)
	admin := e.script("shop", "admin-only", named("admin-only"), nil)
	e.route("shop", list.ID, "GET", "/items", "")
	e.route("shop", item.ID, "GET", "/items/:id", "")
	e.route("shop", item.ID, "DELETE", "/items/:id", "")
	e.route("shop", files.ID, shared.MethodAny, "/files/*rest", "")
	e.route("shop", admin.ID, "GET", "/items", "admin.shop.example.com")

	for _, tc := range []struct {
		host, method, path string
		status             int
		code, script       string
		params             map[string]string
	}{
		{"shop.example.com", "GET", "/items", 200, "", "list", nil},
		{"admin.shop.example.com", "GET", "/items", 200, "", "admin-only", nil},
		{"x.shop.example.com", "GET", "/items", 200, "", "list", nil},
		{"shop.example.com", "GET", "/items/7", 200, "", "item", map[string]string{"id": "7"}},
		{"shop.example.com:81", "DELETE", "/items/7", 200, "", "item", map[string]string{"id": "7"}},
		{"shop.example.com", "PATCH", "/files/a/b.txt", 200, "", "files", map[string]string{"rest": "/a/b.txt"}},
		{"shop.example.com", "POST", "/items/7", 405, shared.CodeMethodNotAllowed, "", nil},
		{"shop.example.com", "GET", "/nope", 404, shared.CodeNoRoute, "", nil},
		{"shop.example.com", "GET", "/items/7/x", 404, shared.CodeNoRoute, "", nil},
		{"elsewhere.example.com", "GET", "/items", 404, shared.CodeUnknownHost, "", nil},
		{"shop.example.com.", "GET", "/items", 200, "", "list", nil},
	} {
		name := tc.method + " " + tc.host + tc.path
		t.Run(name, func(t *testing.T) {
			dp := e.data(request{Method: tc.method, Host: tc.host, Path: tc.path})
			rv := e.admin(request{Path: "/api/v1/admin/resolve" + q(url.Values{
				"host": {tc.host}, "method": {tc.method}, "path": {tc.path},
			})})
			if dp.Status != tc.status || rv.Status != tc.status {
				t.Fatalf("data plane %d, resolve %d, want %d\n%s\n%s", dp.Status, rv.Status, tc.status, dp.Body, rv.Body)
			}
			if tc.code != "" {
				de := dp.apiError(t, tc.status, tc.code)
				re := rv.apiError(t, tc.status, tc.code)
				if de["message"] != re["message"] {
					t.Errorf("messages differ:\ndata plane %v\nresolve    %v", de["message"], re["message"])
				}
				if tc.status == 405 && dp.Header.Get("Allow") == "" {
					t.Errorf("405 without Allow")
				}
				return
			}
			var res shared.Resolution
			if err := json.Unmarshal(rv.Body, &res); err != nil {
				t.Fatal(err)
			}
			if dp.String() != tc.script || res.Script.Name != tc.script {
				t.Errorf("data plane ran %q, resolve names %q, want %q", dp.Body, res.Script.Name, tc.script)
			}
			if res.App.Slug != "shop" || res.Route.ScriptID != res.Script.ID {
				t.Errorf("resolve app %q, route %+v, script %d", res.App.Slug, res.Route, res.Script.ID)
			}
			m := rv.json(t)
			if p, ok := m["params"].(map[string]any); !ok || len(p) != len(tc.params) {
				t.Errorf("resolve params = %v, want %v (an object, never null)", m["params"], tc.params)
			}
			for k, v := range tc.params {
				if res.Params[k] != v {
					t.Errorf("param %s = %q, want %q", k, res.Params[k], v)
				}
			}
			if res.Script.EffectiveSandbox.MaxOperations == 0 {
				t.Errorf("resolve's script has no effective sandbox: %+v", res.Script.EffectiveSandbox)
			}
		})
	}
}

// SPEC §3 execute: a script with no domain and no route runs with the
// request's method, headers, query and body, under the __internal__ claim,
// answered as the data plane would; SPEC §3 logs record it.
func TestExecute(t *testing.T) {
	e := start(t)
	e.createApp("Tools", "")
	s := e.script("tools", "echo", echo, nil)

	res, err := e.c.Execute(e.ctx, s.ID, shared.ExecuteRequest{
		Method: "PUT", Path: "/sub/path",
		Query:  url.Values{"x": {"1"}},
		Header: http.Header{"X-Hello": {"there"}},
		Body:   []byte(`[1,2]`),
	})
	if err != nil || res.Status != 200 {
		t.Fatalf("execute: %d %v %s", res.Status, err, res.Body)
	}
	got := decodeEcho(t, reply{Status: res.Status, Body: res.Body})
	if got.Method != "PUT" || got.Host != "__internal__" || got.Query["x"] != "1" || got.Headers["x-hello"] != "there" ||
		got.Body != "[1,2]" || fmt.Sprint(got.JSON) != "[1 2]" || got.App != "tools" {
		t.Errorf("execute: script saw %+v", got)
	}
	if _, leaked := got.Headers["authorization"]; leaked {
		t.Errorf("the admin token reached the script")
	}

	// Raw, without auth: 401 with WWW-Authenticate.
	r := e.admin(request{Method: "POST", Path: fmt.Sprintf("/api/v1/execute/%d", s.ID), NoAuth: true})
	r.apiError(t, http.StatusUnauthorized, shared.CodeUnauthorized)
	if r.Header.Get("WWW-Authenticate") != "Bearer" {
		t.Errorf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
	}
	// Errors answer as the data plane would.
	boom := e.script("tools", "boom", `function handle() { throw new Error("hidden"); }`, nil)
	r = e.admin(request{Method: "GET", Path: fmt.Sprintf("/api/v1/execute/%d", boom.ID)})
	r.apiError(t, http.StatusInternalServerError, shared.CodeScriptError)
	if strings.Contains(r.String(), "hidden") {
		t.Errorf("execute's script_error leaks the message: %s", r.Body)
	}
	e.admin(request{Path: "/api/v1/execute/999999"}).apiError(t, http.StatusNotFound, shared.CodeNotFound)
}

// SPEC §3 logs: every execution, by route or execute, newest first, with
// the fields of SPEC §2, paged with before.
func TestLogs(t *testing.T) {
	e := start(t)
	e.createApp("Logged", "")
	e.claim("logged", "logs.example.com")
	s := e.script("logged", "talk", `function handle(req) {
  console.log("saw", req.query.n);
  if (req.query.fail) throw new Error("failed " + req.query.n);
  return "ok " + req.query.n;
}`, nil)
	other := e.script("logged", "other", named("other"), nil)
	rt := e.route("logged", s.ID, "GET", "/talk", "")
	e.route("logged", other.ID, "GET", "/other", "")

	for i := range 5 {
		if r := e.get("logs.example.com", fmt.Sprintf("/talk?n=%d", i)); r.Status != 200 {
			t.Fatalf("run %d: %d %s", i, r.Status, r.Body)
		}
	}
	e.get("logs.example.com", "/talk?n=5&fail=1")
	if _, err := e.c.Execute(e.ctx, s.ID, shared.ExecuteRequest{Method: "POST", Query: url.Values{"n": {"6"}}}); err != nil {
		t.Fatal(err)
	}
	e.get("logs.example.com", "/other")

	all := nodetest.WaitLogs(t, e.c, "logged", 0, 8)
	logs := nodetest.WaitLogs(t, e.c, "logged", s.ID, 7)
	if len(all) != 8 || len(logs) != 7 {
		t.Fatalf("%d logs in all, %d of the script; want 8 and 7", len(all), len(logs))
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID >= all[i-1].ID {
			t.Fatalf("logs not newest first: %d after %d", all[i].ID, all[i-1].ID)
		}
	}
	exec, fail, ok := logs[0], logs[1], logs[2]
	if exec.Trigger != shared.TriggerExecute || exec.RouteID != nil || exec.Host != "__internal__" || exec.Method != "POST" ||
		exec.Status != 200 || !strings.Contains(exec.Output, "saw 6") {
		t.Errorf("execute log = %+v", exec)
	}
	if fail.Trigger != shared.TriggerRoute || fail.Status != 500 || !strings.Contains(fail.Error, "failed 5") {
		t.Errorf("failed run's log = %+v", fail)
	}
	if ok.Trigger != shared.TriggerRoute || ok.RouteID == nil || *ok.RouteID != rt.ID || ok.Host != "logs.example.com" ||
		ok.Method != "GET" || ok.Path != "/talk" || ok.Status != 200 || ok.Error != "" ||
		!strings.Contains(ok.Output, "saw 4") || ok.DurationUS <= 0 || ok.Operations <= 0 || ok.StartedAt.IsZero() ||
		ok.ScriptID != s.ID || ok.AppID == 0 {
		t.Errorf("route log = %+v", ok)
	}

	// On the wire, an execute's route_id is null, not absent.
	raw := e.adminJSON("GET", "/api/v1/admin/apps/logged/logs?limit=1&script="+fmt.Sprint(s.ID), "").json(t)
	if l := raw["logs"].([]any)[0].(map[string]any); l["trigger"] != "execute" {
		t.Errorf("newest log of the script = %v", l)
	} else if v, ok := l["route_id"]; !ok || v != nil {
		t.Errorf("execute log route_id = %v (present %v), want null", v, ok)
	}

	// Paging with before: pages of 3 cover everything once, in order.
	var paged []shared.Log
	var before int64
	for {
		page, err := e.c.Logs(e.ctx, "logged", 0, 3, before)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		before = page[len(page)-1].ID
	}
	if len(paged) != len(all) {
		t.Fatalf("paging gave %d logs, want %d", len(paged), len(all))
	}
	for i := range paged {
		if paged[i].ID != all[i].ID {
			t.Fatalf("page order differs at %d: %d vs %d", i, paged[i].ID, all[i].ID)
		}
	}
	// An app without logs lists [] (never null).
	e.createApp("Quiet", "")
	if r := e.admin(request{Path: "/api/v1/admin/apps/quiet/logs"}); r.Status != 200 || !strings.Contains(r.String(), `"logs":[]`) {
		t.Errorf("empty logs = %d %s", r.Status, r.Body)
	}
}

// SPEC §5: what handle returns is the response (status, headers, a string
// as text/plain, anything else as JSON), and no state survives from one
// request, script or app to another.
func TestScriptResponsesAndIsolation(t *testing.T) {
	e := start(t)
	for _, slug := range []string{"left", "right"} {
		e.createApp(slug, slug)
		e.claim(slug, slug+".example.com")
		s := e.script(slug, "count", `var n = 0;
function handle(req) {
  n++;
  try { Array.prototype.leak = (Array.prototype.leak || 0) + 1; } catch (e) {}
  return {status: 201, headers: {"X-Count": String(n)}, body: {n: n, leak: Array.prototype.leak || 0}};
}`, nil)
		e.route(slug, s.ID, "GET", "/", "")
	}
	for i := range 3 {
		for _, slug := range []string{"left", "right"} {
			r := e.get(slug+".example.com", "/")
			if r.Status != http.StatusCreated || r.Header.Get("X-Count") != "1" ||
				r.Header.Get("Content-Type") != "application/json; charset=utf-8" {
				t.Fatalf("run %d on %s: %d %v %s", i, slug, r.Status, r.Header, r.Body)
			}
			// A built-in is either frozen (0) or fresh for every run (1).
			if m := r.json(t); m["n"] != float64(1) || m["leak"].(float64) > 1 {
				t.Errorf("run %d on %s: state leaked: %s", i, slug, r.Body)
			}
		}
	}
}

// SPEC §4: every kind of change is seen by the very next request: a new or
// dropped claim, a rename (req.app), a new source.
func TestNextRequestSeesEveryChange(t *testing.T) {
	e := start(t)
	e.createApp("Live", "live")
	e.get("live.example.com", "/").apiError(t, http.StatusNotFound, shared.CodeUnknownHost)
	d := e.claim("live", "live.example.com")
	e.get("live.example.com", "/").apiError(t, http.StatusNotFound, shared.CodeNoRoute)

	s := e.script("live", "app", `function handle(req) { return "v1 " + req.app; }`, nil)
	rt := e.route("live", s.ID, "GET", "/", "")
	if r := e.get("live.example.com", "/"); r.String() != "v1 live" {
		t.Fatalf("after route: %d %s", r.Status, r.Body)
	}
	slug := "alive"
	if _, err := e.c.UpdateApp(e.ctx, "live", shared.UpdateAppRequest{Slug: &slug}); err != nil {
		t.Fatal(err)
	}
	if r := e.get("live.example.com", "/"); r.String() != "v1 alive" {
		t.Errorf("after rename: %d %s", r.Status, r.Body)
	}
	src := `function handle(req) { return "v2 " + req.app; }`
	up, err := e.c.UpdateScript(e.ctx, s.ID, shared.UpdateScriptRequest{Source: &src})
	if err != nil || up.Version != 2 {
		t.Fatalf("update source: %+v, %v", up, err)
	}
	if r := e.get("live.example.com", "/"); r.String() != "v2 alive" {
		t.Errorf("after new source: %d %s", r.Status, r.Body)
	}

	// A route naming a host only one claim covers pins that claim.
	sub := e.claim("alive", "*.live.example.com")
	e.route("alive", s.ID, "GET", "/sub", "a.live.example.com")
	nodetest.WantError(t, e.c.DeleteDomain(e.ctx, "alive", sub.ID), http.StatusConflict, shared.CodeDomainInUse)
	if err := e.c.DeleteDomain(e.ctx, "alive", d.ID); err != nil {
		t.Fatalf("delete the exact claim: %v", err)
	}
	e.get("live.example.com", "/").apiError(t, http.StatusNotFound, shared.CodeUnknownHost)
	if r := e.get("a.live.example.com", "/sub"); r.String() != "v2 alive" {
		t.Errorf("wildcard claim still serves: %d %s", r.Status, r.Body)
	}
	if err := e.c.DeleteRoute(e.ctx, "alive", rt.ID); err != nil {
		t.Fatal(err)
	}
	e.get("b.live.example.com", "/").apiError(t, http.StatusNotFound, shared.CodeNoRoute)
}
