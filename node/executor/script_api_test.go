package executor

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/picloud/picloud/shared"
)

func TestResponses(t *testing.T) {
	cases := []struct {
		name       string
		src        string
		status     int
		ctype      string
		body       string
		headerName string
		headerVal  string
	}{
		{"string", `function handle(){ return "hi" }`, 200, "text/plain; charset=utf-8", "hi", "", ""},
		{"object with string body", `function handle(){ return { status: 201, headers: { "content-type": "text/html", "x-a": "1" }, body: "<b>" } }`, 201, "text/html", "<b>", "X-A", "1"},
		{"string body default type", `function handle(){ return { body: "plain" } }`, 200, "text/plain; charset=utf-8", "plain", "", ""},
		{"object body is JSON", `function handle(){ return { status: 202, body: { ok: true, n: [1, 2] } } }`, 202, "application/json; charset=utf-8", `{"ok":true,"n":[1,2]}`, "", ""},
		{"number is JSON", `function handle(){ let i = 0; for (; i < 10000; i++) {} return i }`, 200, "application/json; charset=utf-8", "10000", "", ""},
		{"array is JSON", `function handle(){ return [1, "a"] }`, 200, "application/json; charset=utf-8", `[1,"a"]`, "", ""},
		{"plain object is JSON", `function handle(){ return { hello: "world" } }`, 200, "application/json; charset=utf-8", `{"hello":"world"}`, "", ""},
		{"no body", `function handle(){ return { status: 204 } }`, 204, "", "", "", ""},
		{"multi-value header", `function handle(){ return { headers: { "set-cookie": ["a=1", "b=2"] }, body: "" } }`, 200, "text/plain; charset=utf-8", "", "Set-Cookie", "a=1"},
		{"async handle", `async function handle(){ const v = await Promise.resolve("later"); return v }`, 200, "text/plain; charset=utf-8", "later", "", ""},
		{"arrow handle", `const handle = (req) => "arrow"`, 200, "text/plain; charset=utf-8", "arrow", "", ""},
		{"regexps work", `function handle(){ const s = 'a,b;c'; return [s.split(/[,;]/).join('|'), s.replace(/[,;]/g, '-'), /b/.test(s), s.search(/c/), (s.match(/[a-c]/g) || []).length, [...'a1b2'.matchAll(/\d/g)].length, /(?<x>b)/.exec(s).groups.x].join(' ') }`, 200, "text/plain; charset=utf-8", "a|b|c a-b-c true 4 3 2 b", "", ""},
		{"global replace on 40 KB", `function handle(){ return String('ab'.repeat(20000).replace(/a/g, 'c').length) }`, 200, "text/plain; charset=utf-8", "40000", "", ""},
		{"join converts like JavaScript", "function handle(){ return [1, true, null, undefined, 'é\\uD800', {toString(){ return 'o' }}, [2, [3]], 1.5].join('-') + ','.concat(1, null, 'x') }", 200, "text/plain; charset=utf-8", "1-true---é\uFFFD-o-2,3-1.5,1nullx", "", ""},
		{"JSON.stringify with replacers", `function handle(){ const o = {a: 1, b: 'x', c: [1, {d: 2}], e: undefined, f: new Date(0)}; return [JSON.stringify(o), JSON.stringify(o, (k, v) => typeof v === 'number' ? v * 10 : v), JSON.stringify(o, ['a', 'c']), JSON.stringify({a: [1]}, null, 1)].join(' ') }`, 200, "text/plain; charset=utf-8", `{"a":1,"b":"x","c":[1,{"d":2}],"f":"1970-01-01T00:00:00.000Z"} {"a":10,"b":"x","c":[10,{"d":20}],"f":"1970-01-01T00:00:00.000Z"} {"a":1,"c":[1,{}]} {` + "\n" + ` "a": [` + "\n" + `  1` + "\n" + ` ]` + "\n" + `}`, "", ""},
		{"String.raw", "function handle(){ return String.raw`a\\n${1+1}b${'c'}` + String.raw({raw: ['x', 'y', 'z']}, 1) }", 200, "text/plain; charset=utf-8", "a\\n2bcx1yz", "", ""},
		{"flat", "function handle(){ return [[1, [2, [3]]], , 4].flat().length + ',' + [[1, [2, [3]]]].flat(Infinity).join('') }", 200, "text/plain; charset=utf-8", "3,123", "", ""},
		{"toLocaleString", "function handle(){ const a = [1, 'x', null, [2, 3]]; a.push(a); return a.toLocaleString() }", 200, "text/plain; charset=utf-8", "1,x,,2,3,", "", ""},
		{"split", "function handle(){ return ['a,b,,c'.split(',').length, 'abc'.split('').length, 'a,b,c'.split(',', 2).length, 'a1b2'.split(/\\d/).length].join('') }", 200, "text/plain; charset=utf-8", "4323", "", ""},
		{"cyclic array joins", `function handle(){ const a = [1, 2]; a.push(a); return String(a) }`, 200, "text/plain; charset=utf-8", "1,2,", "", ""},
		{"moderately nested JSON", `function handle(){ let a = [1]; for (let i = 0; i < 200; i++) a = [a]; return JSON.stringify(a).length + "" }`, 200, "text/plain; charset=utf-8", "403", "", ""},
	}
	e := New(Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, e, tc.src, shared.DefaultLimits(), &Request{Method: "GET", Path: "/"})
			if res.Err != nil {
				t.Fatalf("err: %v", res.Err)
			}
			if res.Status != tc.status || string(res.Body) != tc.body || res.Header.Get("Content-Type") != tc.ctype {
				t.Fatalf("got %d %q %q", res.Status, res.Header.Get("Content-Type"), res.Body)
			}
			if tc.headerName != "" && res.Header.Get(tc.headerName) != tc.headerVal {
				t.Fatalf("header %s = %q", tc.headerName, res.Header.Get(tc.headerName))
			}
		})
	}
}

func TestBadReturnValues(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"undefined", `function handle(){}`, "no response"},
		{"null", `function handle(){ return null }`, "no response"},
		{"bad status", `function handle(){ return { status: 42, body: "x" } }`, "status"},
		{"informational status", `function handle(){ return { status: 101, body: "x" } }`, "status"},
		{"fractional status", `function handle(){ return { status: 200.5, body: "x" } }`, "status"},
		{"bad header name", `function handle(){ return { headers: { "a b": "1" }, body: "x" } }`, "header"},
		{"rejected promise", `async function handle(){ throw new Error("nope") }`, "nope"},
		{"never settles", `function handle(){ return new Promise(() => {}) }`, "never settled"},
		{"body with cycle", `function handle(){ const o = {}; o.o = o; return { body: o } }`, "circular"},
		{"thrown string", `function handle(){ throw "plain" }`, "plain"},
	}
	e := New(Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, e, tc.src, shared.DefaultLimits(), nil)
			var se *ScriptError
			if !errors.As(res.Err, &se) || !strings.Contains(strings.ToLower(se.Message), tc.want) {
				t.Fatalf("want script error with %q, got %v", tc.want, res.Err)
			}
			if res.Status != 0 || res.Body != nil {
				t.Fatalf("failed run has a response: %d %q", res.Status, res.Body)
			}
			healthy(t, e)
		})
	}
}

func TestRequestObject(t *testing.T) {
	e := New(Options{})
	src := `function handle(req){
		const j = req.json();
		return [req.method, req.host, req.path, req.app, req.params.id, req.query.q, req.query.multi.join('+'),
			req.headers['x-token'], req.body.length, j.name, typeof req.headers['X-Token']].join('|')
	}`
	req := &Request{
		Method: "POST", Host: "api.example.com", Path: "/users/7", App: "shop",
		Params: map[string]string{"id": "7"},
		Query:  url.Values{"q": {"x"}, "multi": {"a", "b"}},
		Header: http.Header{"X-Token": {"secret"}},
		Body:   []byte(`{"name":"ann"}`),
	}
	got := body(t, run(t, e, src, shared.DefaultLimits(), req))
	want := "POST|api.example.com|/users/7|shop|7|x|a+b|secret|14|ann|undefined"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

func TestRequestOddKeys(t *testing.T) {
	e := New(Options{})
	src := `function handle(req){ return [Object.getPrototypeOf(req.query) === Object.prototype, req.query.__proto__.join('+'), req.query.constructor].join('|') }`
	got := body(t, run(t, e, src, shared.DefaultLimits(), &Request{Query: url.Values{"__proto__": {"a", "b"}, "constructor": {"c"}}}))
	if got != "true|a+b|c" {
		t.Fatalf("got %q", got)
	}
}

func TestRequestJSONErrors(t *testing.T) {
	e := New(Options{})
	src := `function handle(req){ try { req.json(); return "parsed" } catch (e) { return e.name } }`
	if got := body(t, run(t, e, src, shared.DefaultLimits(), &Request{Body: []byte("{nope")})); got != "SyntaxError" {
		t.Fatalf("got %q", got)
	}
	deep := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
	if got := body(t, run(t, e, src, shared.DefaultLimits(), &Request{Body: []byte(deep)})); got != "SyntaxError" {
		t.Fatalf("deep JSON: got %q", got)
	}
	// A body that parses to an array over max_array_size stops the script.
	l := small()
	res := run(t, e, `function handle(req){ return String(req.json().length) }`, l, &Request{Body: []byte("[" + strings.Repeat("0,", 20000) + "0]")})
	var le *LimitError
	if !errors.As(res.Err, &le) || le.Knob != shared.KnobMaxArraySize {
		t.Fatalf("got %v", res.Err)
	}
}

func TestConsole(t *testing.T) {
	e := New(Options{})
	res := run(t, e, `function handle(){ console.log("a", 1, {x: [1]}); console.info("i"); console.warn("w"); console.error(new Error("e")); return "" }`, shared.DefaultLimits(), nil)
	want := "a 1 {\"x\":[1]}\ni\nwarn: w\nerror: Error: e\n"
	if res.Err != nil || res.Output != want {
		t.Fatalf("got %q, %v", res.Output, res.Err)
	}

	// Output is capped at 64 KiB and the script keeps running.
	res = run(t, e, `function handle(){ for (let i = 0; i < 10000; i++) console.log("line " + i + " " + "x".repeat(100)); return "done" }`, shared.DefaultLimits(), nil)
	if res.Err != nil || string(res.Body) != "done" {
		t.Fatalf("got %v %q", res.Err, res.Body)
	}
	if len(res.Output) > 64<<10 || !strings.HasSuffix(res.Output, "(output truncated)\n") {
		t.Fatalf("output %d bytes, tail %q", len(res.Output), res.Output[len(res.Output)-40:])
	}

	// Printing a huge value does not stop the script.
	res = run(t, e, `function handle(){ const a = []; for (let i = 0; i < 1000; i++) a.push("x".repeat(1000)); console.log(a); return "ok" }`, shared.DefaultLimits(), nil)
	if res.Err != nil || string(res.Body) != "ok" || res.Output != "[Array too large to print]\n" {
		t.Fatalf("got %v %q %q", res.Err, res.Body, res.Output)
	}

	// Output of a failed run is kept (it is what the log shows).
	res = run(t, e, `function handle(){ console.log("before"); throw new Error("x") }`, shared.DefaultLimits(), nil)
	if res.Output != "before\n" || res.Err == nil {
		t.Fatalf("got %q %v", res.Output, res.Err)
	}
}

func TestCompileErrors(t *testing.T) {
	deep := "function handle(){ return " + strings.Repeat("(", 200) + "1" + strings.Repeat(")", 200) + " }"
	deepAST := "function handle(){ return " + strings.Repeat("- ", 200) + "1 }"
	cases := []struct {
		name, src  string
		status     int
		code       string
		line, col  int
		msgContain string
	}{
		{"syntax", "function handle(req) {\n  return 1 +;\n}", 422, shared.CodeScriptSyntax, 2, 13, ""},
		{"no handle", "function other() {}", 422, shared.CodeValidationFailed, 0, 0, "handle"},
		{"handle not a function", "var handle = 1", 422, shared.CodeValidationFailed, 0, 0, "handle"},
		{"brackets too deep", deep, 422, shared.CodeValidationFailed, 1, 0, "max_expr_depth"},
		{"syntax tree too deep", deepAST, 422, shared.CodeValidationFailed, 1, 0, "max_expr_depth"},
		{"too large", "function handle(){}//" + strings.Repeat("x", MaxSourceSize), 413, shared.CodeTooLarge, 0, 0, ""},
		{"backtracking regexp literal", "function handle(){ return /(a)\\1/.test('aa') }", 422, shared.CodeValidationFailed, 1, 27, "backtracking"},
		{"with", "function handle(){ with ({}) { return 1 } }", 422, shared.CodeValidationFailed, 1, 20, "with"},
		{"BigInt literal", "function handle(){ return String(2n ** 64n) }", 422, shared.CodeValidationFailed, 1, 34, "BigInt"},
		{"top-level arguments", "const hidden = arguments[1]; function handle(){ return 1 }", 422, shared.CodeValidationFailed, 1, 16, "arguments"},
		{"arguments in a top-level arrow", "const get = () => arguments; function handle(){ return 1 }", 422, shared.CodeValidationFailed, 1, 19, "arguments"},
	}
	e := New(Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Compile(0, 0, tc.src, shared.DefaultLimits())
			se, ok := shared.AsError(err)
			if !ok || se.Status != tc.status || se.Code != tc.code {
				t.Fatalf("got %v", err)
			}
			if tc.code == shared.CodeValidationFailed && se.Detail("field") != "source" {
				t.Fatalf("field %q", se.Detail("field"))
			}
			if tc.line > 0 && se.Details["line"] != tc.line {
				t.Fatalf("line %v, want %d (%v)", se.Details["line"], tc.line, err)
			}
			if tc.col > 0 && se.Details["column"] != tc.col {
				t.Fatalf("column %v, want %d (%v)", se.Details["column"], tc.col, err)
			}
			if !strings.Contains(se.Message, tc.msgContain) {
				t.Fatalf("message %q", se.Message)
			}
		})
	}
}

// TestExprDepthKnob: the limit passed to Compile decides.
func TestExprDepthKnob(t *testing.T) {
	src := "function handle(){ return " + strings.Repeat("[", 20) + strings.Repeat("]", 20) + " }"
	e := New(Options{})
	l := shared.DefaultLimits()
	if _, err := e.Compile(0, 0, src, l); err != nil {
		t.Fatalf("default depth: %v", err)
	}
	l.MaxExprDepth = 10
	if _, err := e.Compile(0, 0, src, l); !shared.IsCode(err, shared.CodeValidationFailed) {
		t.Fatalf("depth 10: %v", err)
	}
}

func TestCompileCache(t *testing.T) {
	e := New(Options{})
	l := shared.DefaultLimits()
	p1, _ := e.Compile(5, 1, `function handle(){ return "v1" }`, l)
	p2, _ := e.Compile(5, 1, `function handle(){ return "ignored: same version" }`, l)
	if p1 != p2 {
		t.Fatal("same (script, version) compiled twice")
	}
	p3, _ := e.Compile(5, 2, `function handle(){ return "v2" }`, l)
	if got := body(t, e.Run(context.Background(), Invocation{Program: p3, Limits: l})); got != "v2" {
		t.Fatalf("got %q", got)
	}
	p0a, _ := e.Compile(0, 0, `function handle(){ return "a" }`, l)
	p0b, _ := e.Compile(0, 0, `function handle(){ return "b" }`, l)
	if p0a == p0b {
		t.Fatal("script id 0 was cached")
	}
}

func TestContextCancel(t *testing.T) {
	e := New(Options{})
	p, err := e.Compile(0, 0, `function handle(){ for(;;){} }`, shared.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	l := shared.DefaultLimits()
	l.MaxOperations = 1 << 60
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := e.Run(ctx, Invocation{Program: p, Limits: l})
	var se *ScriptError
	if !errors.As(res.Err, &se) || !strings.Contains(se.Message, "cancel") {
		t.Fatalf("got %v", res.Err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 30_000_000) // 30ms
	defer cancel()
	res = e.Run(ctx, Invocation{Program: p, Limits: l})
	var le *LimitError
	if !errors.As(res.Err, &le) || le.Knob != shared.KnobTimeoutMS {
		t.Fatalf("got %v", res.Err)
	}
}
