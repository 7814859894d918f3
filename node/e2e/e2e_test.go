// Package e2e drives a whole in-process node the way its users do: the data
// plane through real HTTP with Host headers, the admin API through the
// shared client and, where the contract's exact bytes matter (status, error
// envelope, Location, Allow, WWW-Authenticate), through raw net/http. Each
// test walks a promise of SPEC §2–§5.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/node/nodetest"
	"github.com/picloud/picloud/shared"
)

// env is one running node and the ways to talk to it.
type env struct {
	t   *testing.T
	n   *nodetest.Node
	c   *shared.Client
	ctx context.Context
	// raw never follows redirects, so 308s can be inspected.
	raw *http.Client
}

func start(t *testing.T) *env {
	t.Helper()
	return wrap(t, nodetest.Start(t))
}

func wrap(t *testing.T, n *nodetest.Node) *env {
	return &env{
		t:   t,
		n:   n,
		c:   n.Client,
		ctx: t.Context(),
		raw: &http.Client{
			Timeout:       time.Minute,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// sub is e for subtest t, so helpers fail the subtest that called them.
func (e *env) sub(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// reply is an HTTP answer read in full.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r reply) String() string { return string(r.Body) }

// json decodes the body into a generic value, failing the test when it is
// not JSON.
func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %v\n%s", r.Status, err, r.Body)
	}
	return m
}

// apiError checks the contract's error envelope exactly — one key "error"
// holding an object with a string code and a non-empty message — and
// returns that object.
func (r reply) apiError(t *testing.T, status int, code string) map[string]any {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error answer has Content-Type %q, want application/json", ct)
	}
	m := r.json(t)
	if len(m) != 1 {
		t.Errorf("error envelope has keys other than \"error\": %s", r.Body)
	}
	e, ok := m["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %s", r.Body)
	}
	if e["code"] != code {
		t.Fatalf("code %v, want %s: %s", e["code"], code, r.Body)
	}
	if msg, _ := e["message"].(string); msg == "" {
		t.Errorf("error without a message: %s", r.Body)
	}
	return e
}

func (e *env) do(req *http.Request) reply {
	e.t.Helper()
	resp, err := e.raw.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// request is one data-plane or admin request.
type request struct {
	Method string
	Host   string // data plane: the Host header
	Path   string // with query
	Header http.Header
	Body   []byte
	NoAuth bool // admin: send no token
}

// data sends a request to the data listener with the given Host header.
func (e *env) data(r request) reply {
	e.t.Helper()
	req := e.newRequest(e.n.DataURL, r)
	req.Host = r.Host
	return e.do(req)
}

// get is a data-plane GET.
func (e *env) get(host, path string) reply {
	e.t.Helper()
	return e.data(request{Method: http.MethodGet, Host: host, Path: path})
}

// admin sends a raw request to the admin listener, with the token unless
// NoAuth, without following redirects.
func (e *env) admin(r request) reply {
	e.t.Helper()
	req := e.newRequest(e.n.AdminURL, r)
	if !r.NoAuth {
		req.Header.Set("Authorization", "Bearer "+e.n.Token)
	}
	if r.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return e.do(req)
}

// adminJSON is admin with a body given as a JSON text.
func (e *env) adminJSON(method, path, body string) reply {
	e.t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	return e.admin(request{Method: method, Path: path, Body: b})
}

func (e *env) newRequest(base string, r request) *http.Request {
	e.t.Helper()
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(e.ctx, method, base+r.Path, body)
	if err != nil {
		e.t.Fatalf("build request: %v", err)
	}
	for k, vs := range r.Header {
		req.Header[k] = vs
	}
	return req
}

// ---- fixtures through the client ----

func (e *env) createApp(name, slug string) shared.App {
	e.t.Helper()
	a, err := e.c.CreateApp(e.ctx, shared.CreateAppRequest{Name: name, Slug: slug})
	if err != nil {
		e.t.Fatalf("create app %q: %v", name, err)
	}
	return a
}

func (e *env) claim(app, pattern string) shared.Domain {
	e.t.Helper()
	d, err := e.c.AddDomain(e.ctx, app, pattern)
	if err != nil {
		e.t.Fatalf("claim %q for %s: %v", pattern, app, err)
	}
	return d
}

func (e *env) script(app, name, source string, sandbox shared.Overrides) shared.Script {
	e.t.Helper()
	s, err := e.c.CreateScript(e.ctx, shared.CreateScriptRequest{
		AppID: shared.AppRef(app), Name: name, Source: source, Sandbox: sandbox,
	})
	if err != nil {
		e.t.Fatalf("create script %q in %s: %v", name, app, err)
	}
	return s
}

func (e *env) route(app string, scriptID int64, method, path, host string) shared.Route {
	e.t.Helper()
	req := shared.CreateRouteRequest{ScriptID: scriptID, Method: method, Path: path}
	if host != "" {
		req.Host = &host
	}
	r, err := e.c.CreateRoute(e.ctx, app, req)
	if err != nil {
		e.t.Fatalf("route %s %s %q of %s: %v", method, path, host, app, err)
	}
	return r
}

// echo is a script that answers with everything it sees of the request.
const echo = `function handle(req) {
  var parsed = null;
  try { parsed = req.json(); } catch (e) { parsed = "not json"; }
  console.log("echo", req.method, req.path);
  return {status: 200, headers: {"x-script": "echo"}, body: {
    method: req.method, host: req.host, path: req.path, params: req.params,
    query: req.query, headers: req.headers, body: req.body, json: parsed, app: req.app,
  }};
}`

// named returns a script that answers its name as plain text.
func named(name string) string {
	return `function handle(req) { return ` + jsString(name) + `; }`
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// echoed decodes the body written by the echo script.
type echoed struct {
	Method  string            `json:"method"`
	Host    string            `json:"host"`
	Path    string            `json:"path"`
	Params  map[string]string `json:"params"`
	Query   map[string]any    `json:"query"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	JSON    any               `json:"json"`
	App     string            `json:"app"`
}

func decodeEcho(t *testing.T, r reply) echoed {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("echo answered %d: %s", r.Status, r.Body)
	}
	var out echoed
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatalf("echo body: %v\n%s", err, r.Body)
	}
	return out
}

func q(v url.Values) string { return "?" + v.Encode() }
