package executor

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/picloud/picloud/shared"
)

// TestRequestKeysNamedLikeObjectPrototype: params, query keys and headers
// whose names Object.prototype (frozen) also holds are still plain own
// values of the script's req, and __proto__ does not change a prototype.
func TestRequestKeysNamedLikeObjectPrototype(t *testing.T) {
	e := New(Options{})
	src := `function handle(req){
		const out = []
		for (const o of [req.params, req.query]) {
			out.push([o.toString, o.constructor, o.hasOwnProperty, o.__proto__, o.valueOf, o.plain].join('/'))
			out.push(Object.getPrototypeOf(o) === Object.prototype, Object.keys(o).length)
		}
		const h = req.headers // names are lower-cased
		out.push([h.constructor, h.__proto__, h.plain, h.tostring].join('/'), Object.getPrototypeOf(h) === Object.prototype, Object.keys(h).length)
		return out.join('|')
	}`
	names := []string{"toString", "constructor", "hasOwnProperty", "__proto__", "valueOf", "plain"}
	req := &Request{Params: map[string]string{}, Query: url.Values{}, Header: http.Header{}}
	for _, n := range names {
		req.Params[n] = "p-" + n
		req.Query[n] = []string{"q-" + n}
		req.Header[n] = []string{"h-" + n}
	}
	got := body(t, run(t, e, src, shared.DefaultLimits(), req))
	want := "p-toString/p-constructor/p-hasOwnProperty/p-__proto__/p-valueOf/p-plain|true|6|" +
		"q-toString/q-constructor/q-hasOwnProperty/q-__proto__/q-valueOf/q-plain|true|6|" +
		"h-constructor/h-__proto__/h-plain/h-toString|true|6"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// req.headers is built on first read; before and after, req must look and
// behave like an object whose headers are a plain data property.
func TestRequestHeadersBehaveAsData(t *testing.T) {
	e := New(Options{})
	hdr := http.Header{"Accept": {"*/*"}, "X-Token": {"a", "b"}}
	tests := []struct {
		name, src, want string
		limits          func(*shared.Limits)
	}{
		{"keys in order", `function handle(req){ return Object.keys(req).join() }`,
			"method,host,path,app,params,query,headers,body", nil},
		{"values, lower-cased and joined", `function handle(req){ return req.headers.accept + "|" + req.headers["x-token"] }`,
			"*/*|a, b", nil},
		{"a data property once read", `function handle(req){ req.headers; const d = Object.getOwnPropertyDescriptor(req, "headers");
			return [typeof d.value, d.writable, d.enumerable, d.configurable, "get" in d].join() }`,
			"object,true,true,true,false", nil},
		{"the same object on every read", `function handle(req){ const h = req.headers; h.extra = 1; return String(req.headers === h && req.headers.extra) }`,
			"1", nil},
		{"JSON and spread", `function handle(req){ return JSON.stringify(req.headers) + "|" + JSON.stringify({...req}.headers) }`,
			`{"accept":"*/*","x-token":"a, b"}|{"accept":"*/*","x-token":"a, b"}`, nil},
		{"assigned before read", `function handle(req){ req.headers = 5; return String(req.headers) }`, "5", nil},
		{"deleted before read", `function handle(req){ delete req.headers; return String(req.headers) + "|" + ("headers" in req) }`,
			"undefined|false", nil},
		{"read after freezing req", `function handle(req){ Object.freeze(req); return req.headers.accept + "|" + Object.isFrozen(req) }`,
			"*/*|true", nil},
		{"inherited by a child object", `function handle(req){ const c = Object.create(req); c.headers = 1; return c.headers + "|" + req.headers.accept }`,
			"1|*/*", nil},
		{"read at max_call_levels 1", `function handle(req){ return req.headers.accept }`,
			"*/*", func(l *shared.Limits) { l.MaxCallLevels = 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := shared.DefaultLimits()
			if tt.limits != nil {
				tt.limits(&l)
			}
			if got := body(t, run(t, e, tt.src, l, &Request{Method: "GET", Path: "/", Header: hdr})); got != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// The accessor's functions are shared by the runs of a runtime: nothing a
// script does to them may reach the next run, and each run reads its own
// request's headers.
func TestRequestHeadersAccessorKeepsNoState(t *testing.T) {
	e := New(Options{})
	src := `function handle(req){
		const d = Object.getOwnPropertyDescriptor(req, "headers")
		let mark = "none"
		if (d.get) { mark = String(d.get.mark); try { d.get.mark = "x" } catch (e) {} }
		return mark + "|" + req.headers["x-run"]
	}`
	for i, want := range []string{"undefined|1", "undefined|2", "undefined|3"} {
		req := &Request{Header: http.Header{"X-Run": {strconv.Itoa(i + 1)}}}
		if got := body(t, run(t, e, src, shared.DefaultLimits(), req)); got != want {
			t.Fatalf("run %d: got %q, want %q", i+1, got, want)
		}
	}
}
