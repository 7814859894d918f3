package executor

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/dop251/goja/parser"

	"github.com/picloud/picloud/shared"
)

// requestUseCases: what each script can observe of req. allFields wherever
// req could be seen whole or handle might not be the declared function.
var requestUseCases = []struct {
	name string
	src  string
	want reqFields
}{
	{"seeded hello world", `function handle(req) { return "Hello, World!"; }`, 0},
	{"no parameter", `function handle() { return "hi" }`, 0},
	{"arguments", `function handle() { return String(arguments[0].path) }`, allFields},
	{"arguments beside req", `function handle(req) { return arguments.length }`, allFields},
	{"one field", `function handle(req) { return req.path }`, fieldPath},
	{"nested field", `function handle(r) { return r.params.id + r.query.q }`, fieldParams | fieldQuery},
	{"json reads body", `function handle(req) { return req.json().x }`, fieldBody},
	{"json read, not called", `function handle(req) { const j = req.json; return j.call({body: "1"}) }`, fieldBody},
	{"written field", `function handle(req) { req.method = "X"; return req.method }`, fieldMethod},
	{"in a closure", `function handle(req) { return [1].map(() => req.host).join() }`, fieldHost},
	{"in a later parameter's default", `function handle(req, p = req.path) { return p }`, fieldPath},
	{"every field", `function handle(q) { return [q.method, q.host, q.path, q.app, q.params, q.query, q.headers, q.body].length }`, allFields},
	{"returned", `function handle(req) { return req }`, allFields},
	{"passed on", `function handle(req) { return JSON.stringify(req) }`, allFields},
	{"spread", `function handle(req) { return {...req} }`, allFields},
	{"shorthand property", `function handle(req) { return {req} }`, allFields},
	{"computed property", `function handle(req) { return req["path"] }`, allFields},
	{"unknown property", `function handle(req) { return req.custom }`, allFields},
	{"method of Object.prototype", `function handle(req) { return String(req.hasOwnProperty("method")) }`, allFields},
	{"optional chain", `function handle(req) { return req?.path }`, allFields},
	{"typeof", `function handle(req) { return typeof req }`, allFields},
	{"in", `function handle(req) { return String("path" in req) }`, allFields},
	{"destructured parameter", `function handle({path}) { return path }`, allFields},
	{"default parameter", `function handle(req = {}) { return req.path }`, allFields},
	{"rest parameter", `function handle(...a) { return a[0].path }`, allFields},
	{"reassigned", `function handle(req) { req = {path: "x"}; return req.path }`, allFields},
	{"shadowed", `function handle(req) { return [1].map(req => req).join() }`, allFields},
	{"handle reassigned", `function handle(req) { return "a" } handle = function (r) { return r.path }`, allFields},
	{"handle named twice", `function handle(req) { return "a" } function handle(r) { return JSON.stringify(r) }`, allFields},
	{"handle as a variable", `const handle = (req) => "hi"`, allFields},
	{"handle referenced", `function handle(req) { return handle.length }`, allFields},
	{"property named like req", `const o = {req: 1}; function handle(req) { return o.req + req.path }`, fieldPath},
}

func TestRequestUse(t *testing.T) {
	for _, tt := range requestUseCases {
		t.Run(tt.name, func(t *testing.T) {
			prg, err := parser.ParseFile(nil, "t.js", tt.src, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := requestUse(prg); got != tt.want {
				t.Fatalf("requestUse = %08b, want %08b", got, tt.want)
			}
		})
	}
}

// Building only what requestUse found must answer exactly as building req
// whole, for every case above and more.
func TestRequestUseAnswersAsAWholeReq(t *testing.T) {
	e := New(Options{})
	l := shared.DefaultLimits()
	req := &Request{Method: "POST", Host: "a.example", Path: "/p/1", App: "shop",
		Params: map[string]string{"id": "1"}, Query: url.Values{"q": {"x", "y"}},
		Header: http.Header{"Accept": {"*/*"}}, Body: []byte(`{"x": 42}`)}
	extra := []string{
		`function handle(req) { return Object.keys(req).join() }`,
		`function handle(req) { return req.headers.accept + req.query.q.join("+") }`,
		`function handle(req) { req.body = "{}"; return String(req.json().x) }`,
		`function handle(req) { delete req.path; return String(req.path) }`,
	}
	srcs := extra
	for _, tt := range requestUseCases {
		srcs = append(srcs, tt.src)
	}
	for _, src := range srcs {
		p, err := e.Compile(0, 0, src, l)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		whole := *p
		whole.req = allFields
		got, want := e.Run(context.Background(), Invocation{Program: p, Limits: l, Request: req}), e.Run(context.Background(), Invocation{Program: &whole, Limits: l, Request: req})
		if string(got.Body) != string(want.Body) || got.Status != want.Status || (got.Err == nil) != (want.Err == nil) ||
			(got.Err != nil && got.Err.Error() != want.Err.Error()) {
			t.Errorf("%s\nbuilt %08b: %d %q %v\nwhole:    %d %q %v", src, p.req, got.Status, got.Body, got.Err,
				want.Status, want.Body, want.Err)
		}
	}
}
