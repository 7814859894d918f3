package executor

import (
	"fmt"
	"net/http"
	"regexp"
	"testing"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"

	"github.com/picloud/picloud/shared"
)

// reusableCases: which programs may keep their top-level functions across
// runs. The refusals include programs that would be safe: the rule is by
// name and conservative.
var reusableCases = []struct {
	name string
	src  string
	want bool
}{
	{"seeded hello world", `function handle(req) { return "Hello, World!"; }`, true},
	{"use strict", `"use strict"; function handle(req) { return req.path }`, true},
	{"use strict twice", `'use strict'; "use strict"; function handle() { return typeof this }`, true},
	{"helpers", `function add(a, b) { return a + b } function handle() { return String(add(1, 2)) }`, true},
	{"helper declared after handle", `function handle() { return String(add(1, 2)) } function add(a, b) { return a + b }`, true},
	{"recursion", `function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2) } function handle() { return String(fib(10)) }`, true},
	{"mutual recursion", `function even(n) { return n == 0 || odd(n - 1) } function odd(n) { return n != 0 && even(n - 1) }
		function handle(req) { return String(even(req.path.length)) }`, true},
	{"handle calls itself", `function handle(req, n) { return n ? "deep" : handle(req, 1) }`, true},
	{"calls in arguments", `function f(x) { return x } function handle() { return String(f(f(1))) }`, true},
	{"called from a closure", `function f(x) { return x * 2 } function handle() { return [1, 2].map(x => f(x)).join() }`, true},
	{"called in a default", `function d() { return 1 } function handle(req, x = d()) { return String(x) }`, true},
	{"parenthesized callee", `function f() { return 1 } function handle() { return String((f)()) }`, true},
	{"inner declarations", `function handle() { function inner() { return 1 } inner.x = 2; return String(inner() + inner.x) }`, true},
	{"this", `function handle() { return typeof this }`, true},
	{"new.target", `function handle() { return String(new.target) }`, true},
	{"empty statements", `;function handle() { return "a" };;`, true},
	{"property and method named like one", `function f() { return 1 }
		function handle() { const o = {f: 2, g() { return 3 }}; return String(o.f + f() + o.g()) }`, true},
	{"a class inside", `function handle() { class A { m() { return 1 } } return String(new A().m()) }`, true},
	{"generator inside", `function handle() { function* g() { yield 1 } return String([...g()][0]) }`, true},
	{"async inside", `function handle() { return (async () => "x")() }`, true},

	{"var at the top", `var n = 0; function handle() { return String(++n) }`, false},
	{"const at the top", `const k = 1; function handle() { return String(k) }`, false},
	{"expression at the top", `console.log("x"); function handle() { return "a" }`, false},
	{"arrow handle", `const handle = () => "x"`, false},
	{"generator at the top", `function* g() { yield 1 } function handle() { return String([...g()][0]) }`, false},
	{"async handle", `async function handle() { return "x" }`, false},
	{"class at the top", `class A {} function handle() { return "a" }`, false},
	{"block at the top", `{ } function handle() { return "a" }`, false},
	{"if at the top", `if (true) {} function handle() { return "a" }`, false},
	{"late use strict", `function handle() { return "a" } "use strict"`, false},
	{"other directive", `"use asm"; function handle() { return "a" }`, false},
	{"escaped use strict", `"use\x20strict"; function handle() { return "a" }`, false},
	{"declared twice", `function handle() { return "a" } function handle() { return "b" }`, false},
	{"property set", `function handle() { handle.n = (handle.n || 0) + 1; return String(handle.n) }`, false},
	{"new", `function F() {} function handle() { return String(new F() instanceof Object) }`, false},
	{"prototype", `function F() {} function handle() { F.prototype.x = 1; return "a" }`, false},
	{"typeof", `function handle() { return typeof handle }`, false},
	{"passed as a value", `function f(x) { return x } function handle() { return [1].map(f).join() }`, false},
	{"returned", `function handle() { return String(handle) }`, false},
	{"assigned", `function f() {} function handle() { f = 1; return "a" }`, false},
	{"compound assigned", `function f() {} function handle() { f += 1; return "a" }`, false},
	{"deleted", `function f() {} function handle() { return String(delete f) }`, false},
	{"compared", `function f() {} function handle() { return String(f === f) }`, false},
	{"instanceof", `function F() {} function handle() { return String({} instanceof F) }`, false},
	{"call method", `function f() { return "a" } function handle() { return f.call(null) }`, false},
	{"bracket", `function f() { return "a" } function handle() { return f["call"](null) }`, false},
	{"optional call", `function f() { return 1 } function handle() { return String(f?.()) }`, false},
	{"tagged template", "function t(s) { return s[0] } function handle() { return t`x` }", false},
	{"sequence callee", `function f() { return "a" } function handle() { return (0, f)() }`, false},
	{"spread", `function f() {} function handle() { return String([...[f]].length) }`, false},
	{"shorthand property", `function f() {} function handle() { return typeof {f}.f }`, false},
	{"shadowed by a parameter", `function f() { return 1 } function handle(f) { return String(f) }`, false},
	{"shadowed by let", `function f() { return 1 } function handle() { let f = () => 2; return String(f()) }`, false},
	{"shadowed by a declaration", `function f() { return 1 } function handle() { function f() { return 2 } return String(f()) }`, false},
	{"shadowed in a block", `function f() { return 1 } function handle() { { function f() { return 2 } } return String(f()) }`, false},
	{"shadowed by catch", `function f() { return 1 } function handle() { try { throw 2 } catch (f) { return String(f) } }`, false},
	{"shadowed by a class", `function f() { return 1 } function handle() { class f {} return "a" }`, false},
	{"named function expression", `function f() { return 1 } function handle() { return String((function f() { return 2 })()) }`, false},
	{"destructured", `function f() { return 1 } function handle({f}) { return String(f) }`, false},
	{"label", `function handle() { handle: for (;;) break handle; return "a" }`, false},
	{"private name", `function f() { return 1 } function handle() { class A { #f = 1; g() { return this.#f } } return String(new A().g()) }`, false},
	{"arguments", `function handle() { return String(arguments.length) }`, false},
	{"arguments.callee", `function handle() { arguments.callee.x = 1; return "a" }`, false},
	{"arguments in an inner function", `function handle() { return String((function () { return arguments.length })(1)) }`, false},
	{"eval", `function handle() { return typeof eval }`, false},
	{"eval as a property is fine, a shorthand is not", `function handle() { const o = {eval}; return "a" }`, false},
	{"with", `function handle() { with ({}) {} return "a" }`, false},
}

func TestReusable(t *testing.T) {
	for _, tt := range reusableCases {
		t.Run(tt.name, func(t *testing.T) {
			prg, err := parser.ParseFile(nil, "t.js", tt.src, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := reusable(prg); got != tt.want {
				t.Fatalf("reusable = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCompileReuses: Compile takes the reusable shape when it may.
func TestCompileReuses(t *testing.T) {
	e := New(Options{})
	for _, tt := range []struct {
		src  string
		want bool
	}{
		{`function handle(req) { return "Hello, World!"; }`, true},
		{`var n = 0; function handle() { return String(++n) }`, false},
	} {
		p, err := e.Compile(0, 0, tt.src, shared.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		if p.reuse != tt.want {
			t.Errorf("%s: reuse = %v", tt.src, p.reuse)
		}
	}
}

type reuseCase struct {
	name   string
	src    string
	limits func(*shared.Limits)
	timed  bool // stopped by the clock: operations vary
	fresh  bool // not reusable
}

// reuseDiffCases run with and without reuse. Most try to carry state from
// one run to the next through the top-level functions.
var reuseDiffCases = []reuseCase{
	{name: "inner function property", src: `function handle(req) { function inner() {} inner.n = (inner.n || 0) + 1; return String(inner.n) }`},
	{name: "inner closure state", src: `function counter() { let n = 0; return () => ++n }
		function handle(req) { const c = counter(); c(); return String(c()) }`},
	{name: "this", src: `function handle(req) { try { this.n = (this.n || 0) + 1 } catch (e) { return e.name } return String(this && this.n) }`},
	{name: "strict this", src: `"use strict"; function handle(req) { return typeof this }`},
	{name: "this of a helper", src: `function f() { try { this.k = 1 } catch (e) {} return typeof this }
		function handle(req) { return f() + typeof globalThis.k }`},
	{name: "global writes", src: `function handle(req) { try { globalThis.n = 1 } catch (e) {} try { leaked = 1 } catch (e) {}
		return typeof n + typeof leaked }`},
	{name: "prototype of an inner function", src: `function handle(req) { function F() {} F.prototype.n = (F.prototype.n || 0) + 1
		return String(new F().n) }`},
	{name: "class static state", src: `function handle(req) { class A { static n = 0 } A.n++; return String(A.n) }`},
	{name: "default parameter object", src: `function f(o = {}) { o.n = (o.n || 0) + 1; return o.n }
		function handle(req) { return String(f() + f()) }`},
	{name: "recursion by path", src: `function c(n) { return n ? 1 + c(n - 1) : 0 }
		function handle(req) { return String(c(Number(req.path.slice(1)))) }`},
	{name: "mutual recursion", src: `function even(n) { return n == 0 || odd(n - 1) } function odd(n) { return n != 0 && even(n - 1) }
		function handle(req) { return String(even(Number(req.path.slice(1)))) }`},
	{name: "handle recursion", src: `function handle(req, n) { return n > 3 ? String(n) : handle(req, (n || 0) + 1) }`},
	{name: "console", src: `function say(x) { console.log("said", x) } function handle(req) { say(req.path); return "ok" }`},
	{name: "object response", src: `function handle(req) { return {status: 201, headers: {"x-p": req.path}, body: {p: req.path}} }`},
	{name: "promise", src: `function later(x) { return Promise.resolve(x).then(v => v + "!") } function handle(req) { return later(req.path) }`},
	{name: "async inside", src: `function handle(req) { return (async () => { await null; return req.path })() }`},
	{name: "pending job", src: `function h() { try { globalThis.j = 1 } catch (e) {} }
		function handle(req) { Promise.resolve().then(() => h()); return {body: "x", get status() { return 200 }} }`},
	{name: "template objects", src: "function handle(req) { function t(s) { try { s.n = (s.n || 0) + 1 } catch (e) { return e.name }\n" +
		"return String(s.n) } return [1, 2].map(() => t`x`).join() }"},
	{name: "error stack", src: `function f() { return new Error("x").stack } function handle(req) { return f() }`},
	{name: "thrown", src: `function f() { throw new Error("boom " + req.path) } function handle(req) { return f() }`},
	{name: "thrown from handle", src: `function handle(req) { throw new TypeError("bad " + req.path) }`},
	{name: "thrown a string", src: `"use strict"; function handle(req) { throw "s" }`},
	{name: "bad return", src: `function handle(req) { return 42 }`},
	{name: "operations", src: `function spin(n) { for (let i = 0; i < n; i++) {} }
		function handle(req) { spin(Number(req.path.slice(1)) * 20); return "ok" }`,
		limits: func(l *shared.Limits) { l.MaxOperations = 50 }},
	{name: "one call level", src: `function f() { return "f" } function handle(req) { return req.path == "/1" ? "h" : f() }`,
		limits: func(l *shared.Limits) { l.MaxCallLevels = 1 }},
	{name: "two call levels", src: `function g() { return "g" } function f(d) { return d ? g() : "f" }
		function handle(req) { return req.path == "/1" ? "h" : f(req.path == "/3") }`,
		limits: func(l *shared.Limits) { l.MaxCallLevels = 2 }},
	{name: "string size", src: `function big(n) { return "x".repeat(n * 40) } function handle(req) { return String(big(Number(req.path.slice(1))).length) }`,
		limits: func(l *shared.Limits) { l.MaxStringSize = 100 }},
	{name: "timeout", src: `function spin() { for (;;) {} } function handle(req) { if (req.path == "/2") spin(); return "ok" }`,
		limits: func(l *shared.Limits) { l.TimeoutMS = 5 }, timed: true},
	{name: "not reusable", src: `var n = 0; function handle(req) { return String(++n) }`, fresh: true},
}

// TestReuseAnswersAsFresh: keeping the top-level functions across runs
// answers exactly as making them for every run, over consecutive runs on
// one runtime: results, outputs, errors, stacks, operations and limits.
func TestReuseAnswersAsFresh(t *testing.T) {
	cases := reuseDiffCases
	for _, tt := range reusableCases {
		if tt.want {
			cases = append(cases, reuseCase{name: tt.name, src: tt.src})
		}
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			l := shared.DefaultLimits()
			if tt.limits != nil {
				tt.limits(&l)
			}
			kept, err := compile(tt.src, l, true)
			if err != nil {
				t.Fatal(err)
			}
			fresh, err := compile(tt.src, l, false)
			if err != nil {
				t.Fatal(err)
			}
			if fresh.reuse || kept.reuse == tt.fresh {
				t.Fatalf("reuse %v and %v", kept.reuse, fresh.reuse)
			}
			ek, ef := oneRuntime(), oneRuntime()
			for i, path := range []string{"/1", "/2", "/3", "/1", "/2"} {
				req := &Request{Method: "GET", Path: path, Header: http.Header{}}
				got, want := ek.Run(t.Context(), Invocation{Program: kept, Limits: l, Request: req}), ef.Run(t.Context(), Invocation{Program: fresh, Limits: l, Request: req})
				if d := resultDiff(got, want, tt.timed); d != "" {
					t.Errorf("run %d (%s), reuse %v: %s", i, path, kept.reuse, d)
				}
			}
		})
	}
}

// entryFrame is the entry function's frame in a stack trace. Its bytecode
// offset differs between the two shapes (and, without reuse, with the
// number of top-level functions), and nothing else does.
var entryFrame = regexp.MustCompile(`at script\.js:1:1\(\d+\)`)

func resultDiff(got, want *Result, timed bool) string {
	if g, w := resultString(got), resultString(want); g != w {
		return fmt.Sprintf("\n got %s\nwant %s", g, w)
	}
	if !timed && got.Operations != want.Operations {
		return fmt.Sprintf("operations %d, want %d", got.Operations, want.Operations)
	}
	return ""
}

func resultString(r *Result) string {
	s := fmt.Sprintf("%d %v %q %q %T %v", r.Status, r.Header, r.Body, r.Output, r.Err, r.Err)
	if se, ok := r.Err.(*ScriptError); ok {
		s += " stack " + se.Stack
	}
	return entryFrame.ReplaceAllString(s, "at script.js:1:1")
}

// TestForcedReuseLeaks: the differential above would notice a leak. Kept
// functions of scripts that are not reusable carry state between runs.
func TestForcedReuseLeaks(t *testing.T) {
	l := shared.DefaultLimits()
	for _, src := range []string{
		`function handle() { handle.n = (handle.n || 0) + 1; return String(handle.n) }`,
		`function F() {} function handle() { F.prototype.n = (F.prototype.n || 0) + 1; return String(new F().n) }`,
		`function handle() { const f = arguments.callee; f.n = (f.n || 0) + 1; return String(f.n) }`,
	} {
		fresh, err := compile(src, l, false)
		if err != nil {
			t.Fatal(err)
		}
		forced := forceReuse(t, src)
		ek, ef := oneRuntime(), oneRuntime()
		var diff bool
		for range 3 {
			diff = diff || resultDiff(ek.Run(t.Context(), Invocation{Program: forced, Limits: l}), ef.Run(t.Context(), Invocation{Program: fresh, Limits: l}), false) != ""
		}
		if !diff {
			t.Errorf("%s: no difference", src)
		}
	}
}

// forceReuse compiles src for reuse whether or not it is reusable.
func forceReuse(t *testing.T, src string) *Program {
	t.Helper()
	prg, err := parser.ParseFile(nil, "script.js", src, 0, parser.WithDisableSourceMaps)
	if err != nil {
		t.Fatal(err)
	}
	shape, err := entryShapeOf(prg)
	if err != nil {
		t.Fatal(err)
	}
	in := &instrumenter{file: prg.File, maxDepth: 128}
	wrapped, err := in.program(prg, true, shape)
	if err != nil {
		t.Fatal(err)
	}
	p := &Program{shape: shape, req: allFields, reuse: true}
	if p.prg, err = goja.CompileAST(wrapped, false); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestReuseOnASharedRuntime: reusable and other scripts take turns on one
// runtime, more of them than it keeps entries for, and each answers as on
// its own.
func TestReuseOnASharedRuntime(t *testing.T) {
	e := oneRuntime()
	l := shared.DefaultLimits()
	var progs []*Program
	for i := range maxEntries + 6 {
		src := fmt.Sprintf(`function f(x) { return x + %d } function handle(req) { return String(f(Number(req.path.slice(1)))) }`, i)
		if i%3 == 0 {
			src = fmt.Sprintf(`var k = %d; function handle(req) { return String(k + Number(req.path.slice(1))) }`, i)
		}
		p, err := e.Compile(int64(i+1), 1, src, l)
		if err != nil {
			t.Fatal(err)
		}
		progs = append(progs, p)
	}
	for round := range 3 {
		for i, p := range progs {
			res := e.Run(t.Context(), Invocation{Program: p, Limits: l, Request: &Request{Path: fmt.Sprintf("/%d", round)}})
			if got, want := string(res.Body), fmt.Sprint(i+round); got != want || res.Err != nil {
				t.Fatalf("round %d, script %d: %q %v, want %q", round, i, got, res.Err, want)
			}
		}
		if sb := pooled(e); sb == nil || len(sb.entries) > maxEntries {
			t.Fatalf("round %d: runtime %v", round, sb)
		}
	}
}
