package orchestrator

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud/node/executor"
	"github.com/picloud/picloud/node/nodetest/storetest"
	"github.com/picloud/picloud/node/store"
	"github.com/picloud/picloud/shared"
)

// node is a data plane over a real SQLite store and a real executor, served
// over loopback by httptest.
type node struct {
	t     testing.TB
	ctx   context.Context
	db    string // path of the SQLite file
	store *store.Store
	exec  *executor.Executor
	orch  *Orchestrator
	srv   *httptest.Server // the data plane
	admin *httptest.Server // Execute, as the manager mounts it
}

func newNode(t testing.TB, opts ...func(*Config)) *node {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	db := filepath.Join(t.TempDir(), "picloud.db")
	st := storetest.OpenAt(t, db)
	ex := executor.New(executor.Options{})
	cfg := Config{Store: st, Executor: ex, Defaults: shared.DefaultLimits(), Logger: logger}
	for _, o := range opts {
		o(&cfg)
	}
	n := &node{t: t, ctx: ctx, db: db, store: st, exec: ex, orch: New(cfg)}
	if err := n.orch.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	n.srv = httptest.NewServer(n.orch)
	n.admin = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, _ := strings.CutPrefix(r.URL.Path, shared.PathExecute)
		id, _ := strconv.ParseInt(strings.SplitN(rest, "/", 2)[0], 10, 64)
		n.orch.Execute(w, r, id)
	}))
	t.Cleanup(func() {
		n.srv.Close()
		n.admin.Close()
		n.orch.Close(ctx)
	})
	return n
}

func (n *node) rebuild() {
	n.t.Helper()
	if err := n.orch.Rebuild(n.ctx); err != nil {
		n.t.Fatal(err)
	}
}

func (n *node) app(slug string, claims ...string) shared.App {
	n.t.Helper()
	a, err := n.store.CreateApp(n.ctx, shared.App{Slug: slug, Name: slug}, false)
	if err != nil {
		n.t.Fatal(err)
	}
	for _, c := range claims {
		n.claim(a.ID, c)
	}
	return a
}

func (n *node) claim(appID int64, pattern string) shared.Domain {
	n.t.Helper()
	norm, shape, err := shared.NormalizeDomain(pattern)
	if err != nil {
		n.t.Fatal(err)
	}
	d, err := n.store.AddDomain(n.ctx, appID, norm, shape)
	if err != nil {
		n.t.Fatal(err)
	}
	return d
}

func (n *node) script(appID int64, name, source string, sandbox shared.Overrides) shared.Script {
	n.t.Helper()
	sc, err := n.store.CreateScript(n.ctx, shared.Script{AppID: appID, Name: name, Source: source, Sandbox: sandbox})
	if err != nil {
		n.t.Fatal(err)
	}
	return sc
}

// route adds a route the way the manager does: refused when it clashes.
func (n *node) route(appID, scriptID int64, method, path string, host *string) shared.Route {
	n.t.Helper()
	r := shared.Route{AppID: appID, ScriptID: scriptID, Method: method, Path: path, Host: host}
	r, err := n.store.CreateRoute(n.ctx, r, func(existing []shared.Route, _ []shared.Domain) error {
		if c := shared.RoutesConflict(existing, r); c != nil {
			return fmt.Errorf("route clashes with route %d", c.ID)
		}
		return nil
	})
	if err != nil {
		n.t.Fatal(err)
	}
	return r
}

type answer struct {
	status int
	header http.Header
	body   string
}

// error decodes the contract's error envelope.
func (a answer) error(t testing.TB) *shared.Error {
	t.Helper()
	var e shared.Error
	if err := json.Unmarshal([]byte(a.body), &e); err != nil {
		t.Fatalf("status %d body %q is not an error envelope: %v", a.status, a.body, err)
	}
	e.Status = a.status
	return &e
}

func do(t testing.TB, base, host, method, target string, body io.Reader, header http.Header) answer {
	t.Helper()
	req, err := http.NewRequest(method, base+target, body)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func (n *node) get(host, target string) answer {
	n.t.Helper()
	return do(n.t, n.srv.URL, host, http.MethodGet, target, nil, nil)
}

func wantError(t testing.TB, a answer, status int, code string) *shared.Error {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d body %q, want %d %s", a.status, a.body, status, code)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error Content-Type %q, want application/json", ct)
	}
	e := a.error(t)
	if e.Code != code {
		t.Fatalf("code %q (%s), want %q", e.Code, e.Message, code)
	}
	return e
}

func wantBody(t testing.TB, a answer, status int, body string) {
	t.Helper()
	if a.status != status || a.body != body {
		t.Fatalf("got %d %q, want %d %q", a.status, a.body, status, body)
	}
}

// echo answers with what the script saw of the request, one field a line.
const echo = `function handle(req) {
  var params = Object.keys(req.params).sort().map(function (k) { return k + "=" + req.params[k]; }).join(",");
  return "method=" + req.method + "\nhost=" + req.host + "\npath=" + req.path + "\napp=" + req.app +
    "\nparams=" + params + "\nq=" + req.query.q + "\nx-test=" + req.headers["x-test"] +
    "\nauthorization=" + req.headers["authorization"] + "\nbody=" + req.body;
}`

func text(s string) string {
	return fmt.Sprintf(`function handle(req) { return %q; }`, s)
}

func TestFreshNodeAnswersHelloWorld(t *testing.T) {
	n := newNode(t)
	a := n.get("localhost", "/")
	if a.status != http.StatusOK || !strings.Contains(a.body, "Hello, World!") {
		t.Fatalf("GET / on localhost = %d %q, want the seeded Hello, World!", a.status, a.body)
	}
}

func TestDispatch(t *testing.T) {
	n := newNode(t)
	shop := n.app("shop", "shop.example.com", "*.shop.example.com")
	sc := n.script(shop.ID, "echo", echo, nil)
	n.route(shop.ID, sc.ID, "GET", "/items/:id", nil)
	n.route(shop.ID, sc.ID, "ANY", "/files/*rest", nil)
	n.route(shop.ID, n.script(shop.ID, "eu", text("eu"), nil).ID, "GET", "/items/:id", hostp("eu.shop.example.com"))
	blog := n.app("blog", "blog.example.com")
	n.route(blog.ID, n.script(blog.ID, "home", text("blog home"), nil).ID, "GET", "/", nil)
	n.rebuild()

	a := do(t, n.srv.URL, "Shop.Example.com:8080", "GET", "/items/42?q=hello", nil, http.Header{"X-Test": {"yes"}})
	wantBody(t, a, 200, "method=GET\nhost=shop.example.com\npath=/items/42\napp=shop\nparams=id=42\nq=hello\nx-test=yes\nauthorization=undefined\nbody=")
	if ct := a.header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type of a returned string = %q", ct)
	}
	a = do(t, n.srv.URL, "a.b.shop.example.com", "PUT", "/files/x/y.txt", strings.NewReader("payload"), nil)
	wantBody(t, a, 200, "method=PUT\nhost=a.b.shop.example.com\npath=/files/x/y.txt\napp=shop\nparams=rest=/x/y.txt\nq=undefined\nx-test=undefined\nauthorization=undefined\nbody=payload")
	wantBody(t, n.get("eu.shop.example.com", "/items/1"), 200, "eu")             // the host's own route wins
	wantBody(t, n.get("blog.example.com.", "/"), 200, "blog home")               // another app, trailing dot
	wantBody(t, n.get("localhost:9999", "/"), 200, n.get("localhost", "/").body) // default app untouched

	e := wantError(t, n.get("nobody.example.com", "/"), 404, shared.CodeUnknownHost)
	if e.Detail("host") != "nobody.example.com" || !strings.Contains(e.Message, "nobody.example.com") {
		t.Errorf("unknown_host does not name the host: %+v", e)
	}
	wantError(t, n.get("shop.example.com", "/nothing"), 404, shared.CodeNoRoute)
	a = do(t, n.srv.URL, "shop.example.com", "DELETE", "/items/1", nil, nil)
	wantError(t, a, 405, shared.CodeMethodNotAllowed)
	if allow := a.header.Get("Allow"); allow != "GET" {
		t.Errorf("Allow = %q, want GET", allow)
	}
}

// A request with no route parameters, query or body still gives the
// script empty objects and an empty string, and the script's response
// headers reach the client (every value of a repeated one) while the
// connection's own headers stay net/http's.
func TestScriptSeesEmptyRequestPartsAndSetsHeaders(t *testing.T) {
	n := newNode(t)
	a := n.app("bare", "bare.test")
	sc := n.script(a.ID, "h", `function handle(req) {
  return {status: 201, headers: {"x-multi": ["a", "b"], "x-one": "1", "content-length": "999",
    "transfer-encoding": "gzip", "connection": "close"},
    body: JSON.stringify([req.params, req.query, req.body, typeof req.params, typeof req.query])};
}`, nil)
	n.route(a.ID, sc.ID, "GET", "/", nil)
	n.rebuild()

	got := n.get("bare.test", "/")
	wantBody(t, got, 201, `[{},{},"","object","object"]`)
	if vs := got.header.Values("X-Multi"); len(vs) != 2 || vs[0] != "a" || vs[1] != "b" {
		t.Errorf("X-Multi = %q, want [a b]", vs)
	}
	if v := got.header.Get("X-One"); v != "1" {
		t.Errorf("X-One = %q, want 1", v)
	}
	if v := got.header.Get("Content-Length"); v != strconv.Itoa(len(got.body)) {
		t.Errorf("Content-Length = %q for a %d-byte body", v, len(got.body))
	}
	if v := got.header.Get("Transfer-Encoding"); v != "" {
		t.Errorf("the script's Transfer-Encoding %q reached the client", v)
	}
	if v := got.header.Get("Connection"); v != "" {
		t.Errorf("the script's Connection %q reached the client", v)
	}
}

// Changes reach the very next request after Rebuild, with no restart.
func TestChangesTakeEffectOnTheNextRequest(t *testing.T) {
	n := newNode(t)
	a := n.app("live")
	wantError(t, n.get("live.test", "/"), 404, shared.CodeUnknownHost)

	d := n.claim(a.ID, "live.test")
	n.rebuild()
	wantError(t, n.get("live.test", "/"), 404, shared.CodeNoRoute)

	sc := n.script(a.ID, "v", text("one"), nil)
	r := n.route(a.ID, sc.ID, "GET", "/", nil)
	n.rebuild()
	wantBody(t, n.get("live.test", "/"), 200, "one")

	src := text("two")
	if _, err := n.store.UpdateScript(n.ctx, sc.ID, shared.UpdateScriptRequest{Source: &src}); err != nil {
		t.Fatal(err)
	}
	n.rebuild()
	wantBody(t, n.get("live.test", "/"), 200, "two")

	if err := n.store.DeleteRoute(n.ctx, a.ID, r.ID); err != nil {
		t.Fatal(err)
	}
	n.rebuild()
	wantError(t, n.get("live.test", "/"), 404, shared.CodeNoRoute)

	if err := n.store.DeleteDomain(n.ctx, a.ID, d.ID); err != nil {
		t.Fatal(err)
	}
	n.rebuild()
	wantError(t, n.get("live.test", "/"), 404, shared.CodeUnknownHost)
}

func TestScriptFaults(t *testing.T) {
	n := newNode(t)
	a := n.app("faults", "faults.test")
	thrower := n.script(a.ID, "thrower", "function handle(req) {\n  var secret = 'hunter2';\n  throw new Error('boom ' + secret);\n}", nil)
	n.route(a.ID, thrower.ID, "GET", "/throw", nil)
	loop := n.script(a.ID, "loop", `function handle(req) { var n = 0; for (var i = 0; i < 10000; i++) { n++; } return String(n); }`,
		shared.Overrides{shared.KnobMaxOperations: 500})
	n.route(a.ID, loop.ID, "GET", "/loop", nil)
	n.rebuild()

	a500 := n.get("faults.test", "/throw")
	wantError(t, a500, 500, shared.CodeScriptError)
	for _, leak := range []string{"boom", "hunter2", "at ", "line"} {
		if strings.Contains(a500.body, leak) {
			t.Errorf("public 500 body %q carries %q of the script's error", a500.body, leak)
		}
	}

	e := wantError(t, n.get("faults.test", "/loop"), 507, shared.CodeSandboxLimit)
	if e.Detail("limit") != shared.KnobMaxOperations {
		t.Errorf("507 names limit %q, want %s", e.Detail("limit"), shared.KnobMaxOperations)
	}
	// SPEC §5's example: raising the knob makes the same script answer.
	ops := shared.Overrides{shared.KnobMaxOperations: 1_000_000}
	if _, err := n.store.UpdateScript(n.ctx, loop.ID, shared.UpdateScriptRequest{Sandbox: &ops}); err != nil {
		t.Fatal(err)
	}
	n.rebuild()
	wantBody(t, n.get("faults.test", "/loop"), 200, "10000")

	if err := n.orch.Close(n.ctx); err != nil {
		t.Fatal(err)
	}
	logs, err := n.store.Logs(n.ctx, a.ID, thrower.ID, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 1 || logs[0].Status != 500 || !strings.Contains(logs[0].Error, "boom hunter2") {
		t.Fatalf("thrower's log = %+v, want one 500 entry with the thrown message", logs)
	}
	logs, err = n.store.Logs(n.ctx, a.ID, loop.ID, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 2 || logs[0].Status != 200 || logs[1].Status != 507 || !strings.Contains(logs[1].Error, shared.KnobMaxOperations) {
		t.Fatalf("loop's logs = %+v, want 200 then (older) 507 max_operations", logs)
	}
}

// A script stored with a source this node cannot compile (e.g. written by a
// newer version, or under a lowered max_expr_depth) breaks only its own routes.
func TestScriptThatDoesNotCompileBreaksOnlyItsRoutes(t *testing.T) {
	n := newNode(t)
	bad := n.app("bad", "bad.test")
	n.route(bad.ID, n.script(bad.ID, "broken", "function handle(req) { return (;", nil).ID, "GET", "/", nil)
	n.route(bad.ID, n.script(bad.ID, "fine", text("fine"), nil).ID, "GET", "/fine", nil)
	good := n.app("good", "good.test")
	n.route(good.ID, n.script(good.ID, "ok", text("ok"), nil).ID, "GET", "/", nil)
	n.rebuild()

	wantError(t, n.get("bad.test", "/"), 500, shared.CodeScriptError)
	wantBody(t, n.get("bad.test", "/fine"), 200, "fine")
	wantBody(t, n.get("good.test", "/"), 200, "ok")
}

func TestBodyLimit(t *testing.T) {
	n := newNode(t, func(c *Config) { c.MaxBodyBytes = 1024 })
	a := n.app("up", "up.test")
	n.route(a.ID, n.script(a.ID, "len", `function handle(req) { return String(req.body.length); }`, nil).ID, "POST", "/", nil)
	n.rebuild()
	wantBody(t, do(t, n.srv.URL, "up.test", "POST", "/", strings.NewReader(strings.Repeat("a", 1024)), nil), 200, "1024")
	wantError(t, do(t, n.srv.URL, "up.test", "POST", "/", strings.NewReader(strings.Repeat("a", 1025)), nil), 413, shared.CodeTooLarge)
}

func TestResponseHeaders(t *testing.T) {
	n := newNode(t)
	a := n.app("hdr", "hdr.test")
	n.route(a.ID, n.script(a.ID, "h", `function handle(req) {
  return {status: 201, headers: {"x-custom": "1", "content-type": "application/xml", "content-length": "999"}, body: "<a/>"};
}`, nil).ID, "GET", "/", nil)
	n.rebuild()
	r := n.get("hdr.test", "/")
	wantBody(t, r, 201, "<a/>")
	if r.header.Get("X-Custom") != "1" || r.header.Get("Content-Type") != "application/xml" {
		t.Fatalf("headers %v, want the script's x-custom and content-type", r.header)
	}
}

func TestResolve(t *testing.T) {
	n := newNode(t)
	a := n.app("res", "res.test", "*.res.test")
	sc := n.script(a.ID, "s", text("x"), shared.Overrides{shared.KnobTimeoutMS: 100})
	rAll := n.route(a.ID, sc.ID, "GET", "/u/:id", nil)
	rAPI := n.route(a.ID, sc.ID, "GET", "/u/:id", hostp("api.res.test"))
	n.rebuild()

	res, err := n.orch.Resolve(n.ctx, "www.res.test", "GET", "/u/7")
	if err != nil {
		t.Fatal(err)
	}
	if res.App.Slug != "res" || res.Route.ID != rAll.ID || res.Script.ID != sc.ID || res.Params["id"] != "7" {
		t.Fatalf("resolve = %+v", res)
	}
	if res.Script.EffectiveSandbox.TimeoutMS != 100 || res.Script.EffectiveSandbox.MaxOperations != shared.DefaultLimits().MaxOperations {
		t.Errorf("effective sandbox %+v, want defaults with timeout_ms 100", res.Script.EffectiveSandbox)
	}
	res, err = n.orch.Resolve(n.ctx, "API.res.test:443", "GET", "/u/7")
	if err != nil || res.Route.ID != rAPI.ID {
		t.Fatalf("resolve on the named host = route %d, %v; want %d", res.Route.ID, err, rAPI.ID)
	}
	for _, tt := range []struct {
		host, method, path string
		status             int
		code               string
	}{
		{"res.org", "GET", "/u/7", 404, shared.CodeUnknownHost},
		{"not a host", "GET", "/", 404, shared.CodeUnknownHost},
		{"res.test", "GET", "/v", 404, shared.CodeNoRoute},
		{"res.test", "POST", "/u/7", 405, shared.CodeMethodNotAllowed},
	} {
		t.Run(tt.method+" "+tt.host+tt.path, func(t *testing.T) {
			_, err := n.orch.Resolve(n.ctx, tt.host, tt.method, tt.path)
			e, ok := shared.AsError(err)
			if !ok || e.Status != tt.status || e.Code != tt.code {
				t.Errorf("resolve %s %s %s: %v, want %d %s", tt.host, tt.method, tt.path, err, tt.status, tt.code)
			}
			// The data plane answers the same.
			wantError(t, do(t, n.srv.URL, tt.host, tt.method, tt.path, nil, nil), tt.status, tt.code)
		})
	}
}

func TestExecute(t *testing.T) {
	n := newNode(t)
	a := n.app("ex") // no claims, no routes: execute needs none
	sc := n.script(a.ID, "echo", echo, nil)
	n.rebuild()

	hdr := http.Header{"X-Test": {"t"}, "Authorization": {"Bearer admin-token"}}
	r := do(t, n.admin.URL, "", "PATCH", fmt.Sprintf("/api/v1/execute/%d/some/path?q=v", sc.ID), strings.NewReader("data"), hdr)
	wantBody(t, r, 200, "method=PATCH\nhost=__internal__\npath=/some/path\napp=ex\nparams=\nq=v\nx-test=t\nauthorization=undefined\nbody=data")
	r = do(t, n.admin.URL, "", "GET", fmt.Sprintf("/api/v1/execute/%d", sc.ID), nil, nil)
	if r.status != 200 || !strings.Contains(r.body, "path=/\n") {
		t.Fatalf("execute without a path: %d %q, want path /", r.status, r.body)
	}
	wantError(t, do(t, n.admin.URL, "", "POST", "/api/v1/execute/999999", nil, nil), 404, shared.CodeNotFound)

	if err := n.orch.Close(n.ctx); err != nil {
		t.Fatal(err)
	}
	logs, err := n.store.Logs(n.ctx, a.ID, 0, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 2 {
		t.Fatalf("%d logs, want 2", len(logs))
	}
	l := logs[1]
	if l.Trigger != shared.TriggerExecute || l.RouteID != nil || l.Method != "PATCH" || l.Path != "/some/path" ||
		l.Host != InternalHost || l.Status != 200 || l.ScriptID != sc.ID {
		t.Fatalf("execute log = %+v", l)
	}
}

// Requests in flight while the routing table changes again and again must
// never get a 5xx from the node: each sees the old or the new table whole.
func TestConcurrentRequestsDuringChanges(t *testing.T) {
	n := newNode(t)
	a := n.app("busy", "busy.test")
	n.route(a.ID, n.script(a.ID, "stable", text("stable"), nil).ID, "GET", "/stable/:id", nil)
	churn := n.script(a.ID, "churn", text("v0"), nil)
	n.rebuild()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var bad []string
	var requests int
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				path := fmt.Sprintf("/stable/%d", i)
				if i%2 == 1 {
					path = "/churn"
				}
				req, _ := http.NewRequest("GET", n.srv.URL+path, nil)
				req.Host = "busy.test"
				resp, err := client.Do(req)
				if err != nil {
					mu.Lock()
					bad = append(bad, err.Error())
					mu.Unlock()
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				requests++
				// /churn exists or not (404) at any moment; nothing may fail.
				if resp.StatusCode >= 500 || (path != "/churn" && string(b) != "stable") {
					bad = append(bad, fmt.Sprintf("GET %s: %d %q", path, resp.StatusCode, b))
				}
				mu.Unlock()
			}
		}()
	}
	var churnRoute shared.Route
	for i := 0; i < 60; i++ {
		switch i % 4 {
		case 0:
			churnRoute = n.route(a.ID, churn.ID, "GET", "/churn", nil)
		case 1:
			src := text(fmt.Sprintf("v%d", i))
			if _, err := n.store.UpdateScript(n.ctx, churn.ID, shared.UpdateScriptRequest{Source: &src}); err != nil {
				t.Fatal(err)
			}
		case 2:
			n.claim(a.ID, fmt.Sprintf("c%d.busy.test", i))
		case 3:
			if err := n.store.DeleteRoute(n.ctx, a.ID, churnRoute.ID); err != nil {
				t.Fatal(err)
			}
		}
		n.rebuild()
	}
	close(stop)
	wg.Wait()
	if len(bad) > 0 {
		t.Fatalf("%d of %d requests failed during changes, e.g. %v", len(bad), requests, bad[:min(5, len(bad))])
	}
	if requests < 50 {
		t.Fatalf("only %d requests ran during the changes", requests)
	}
}

// Every execution of a burst is in the logs once the orchestrator is closed,
// with the fields of SPEC §2.
func TestBurstOfExecutionsIsLogged(t *testing.T) {
	n := newNode(t)
	a := n.app("burst", "burst.test")
	sc := n.script(a.ID, "s", `function handle(req) { console.log("hit", req.params.i); return "ok"; }`, nil)
	rt := n.route(a.ID, sc.ID, "POST", "/hit/:i", nil)
	n.rebuild()

	const total = 400
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := 0; i < total; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r := do(t, n.srv.URL, "burst.test", "POST", fmt.Sprintf("/hit/%d", i), nil, nil)
			if r.status != 200 {
				t.Errorf("request %d: %d %q", i, r.status, r.body)
			}
		}()
	}
	wg.Wait()
	before := time.Now()
	if err := n.orch.Close(n.ctx); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var last int64
	for page := 0; ; page++ {
		logs, err := n.store.Logs(n.ctx, a.ID, 0, 100, last)
		if err != nil {
			t.Fatal(err)
		}
		if len(logs) == 0 {
			break
		}
		for _, l := range logs {
			if l.Trigger != shared.TriggerRoute || l.RouteID == nil || *l.RouteID != rt.ID || l.ScriptID != sc.ID ||
				l.Host != "burst.test" || l.Method != "POST" || l.Status != 200 || l.Operations <= 0 ||
				l.StartedAt.IsZero() || l.StartedAt.After(before) || !strings.HasPrefix(l.Output, "hit ") {
				t.Fatalf("log %+v lacks a field of the execution", l)
			}
			seen[l.Path] = true
			last = l.ID
		}
	}
	if len(seen) != total {
		t.Fatalf("%d distinct executions logged, want %d", len(seen), total)
	}
}

// Retention keeps the newest LogRetention entries of each app.
func TestLogRetention(t *testing.T) {
	const keep = 25
	n := newNode(t, func(c *Config) { c.LogRetention = keep })
	a := n.app("ret", "ret.test")
	other := n.app("other", "other.test")
	n.route(a.ID, n.script(a.ID, "s", text("ok"), nil).ID, "GET", "/n/:i", nil)
	n.route(other.ID, n.script(other.ID, "s", text("ok"), nil).ID, "GET", "/", nil)
	n.rebuild()
	for i := 0; i < 100; i++ {
		wantBody(t, n.get("ret.test", fmt.Sprintf("/n/%d", i)), 200, "ok")
	}
	for i := 0; i < 5; i++ {
		n.get("other.test", "/")
	}
	if err := n.orch.Close(n.ctx); err != nil {
		t.Fatal(err)
	}
	logs, err := n.store.Logs(n.ctx, a.ID, 0, 1000, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != keep {
		t.Fatalf("%d logs kept, want %d", len(logs), keep)
	}
	for i, l := range logs {
		if want := fmt.Sprintf("/n/%d", 99-i); l.Path != want {
			t.Fatalf("log %d is %s, want %s: the newest must be kept", i, l.Path, want)
		}
	}
	if logs, _ := n.store.Logs(n.ctx, other.ID, 0, 1000, 0); len(logs) != 5 {
		t.Fatalf("the other app kept %d logs, want its 5", len(logs))
	}
}

// When the database cannot take logs (another process holds its write lock,
// or the disk is slow), requests still get their answers: a full log queue
// costs an entry, never a stuck request. What was queued is written once the
// database is free again.
func TestFullLogQueueNeverHoldsRequests(t *testing.T) {
	n := newNode(t, func(c *Config) { c.LogQueue = 2 })
	a := n.app("slowdisk", "slowdisk.test")
	n.route(a.ID, n.script(a.ID, "s", text("ok"), nil).ID, "GET", "/:i", nil)
	n.rebuild()

	// Another process (e.g. a backup tool) holds the write lock.
	db, err := sql.Open("sqlite", n.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(n.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(n.ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	// The writer gathers the first requests' logs for flushInterval, then
	// waits on the lock; meanwhile the queue fills and further logs drop.
	const total = 24
	for i := 0; i < total; i++ {
		if i == total/2 {
			time.Sleep(flushInterval + 200*time.Millisecond)
		}
		wantBody(t, n.get("slowdisk.test", fmt.Sprintf("/%d", i)), 200, "ok")
	}
	if _, err := conn.ExecContext(n.ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := n.orch.Close(n.ctx); err != nil {
		t.Fatal(err)
	}
	logs, err := n.store.Logs(n.ctx, a.ID, 0, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	dropped := int(n.orch.logs.dropped.Load())
	if dropped == 0 || len(logs)+dropped != total {
		t.Fatalf("%d logs written and %d dropped of %d executions; want some dropped and the rest written", len(logs), dropped, total)
	}
}
