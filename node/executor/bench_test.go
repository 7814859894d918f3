package executor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dop251/goja"

	"github.com/picloud/picloud/shared"
)

const helloSrc = `function handle(req) { return "hello " + req.path }`

func BenchmarkHelloPooled(b *testing.B) {
	benchPooled(b, helloSrc, &Request{Method: "GET", Path: "/"})
}

// benchPooled runs src for req on a warm pool, as a node does between
// script updates.
func benchPooled(b *testing.B, src string, req *Request) {
	e := New(Options{})
	l := shared.DefaultLimits()
	p, err := e.Compile(1, 1, src, l)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	e.Run(ctx, Invocation{Program: p, Limits: l, Request: req}) // warm the pool
	cpu := cpuTime()
	for b.Loop() {
		if res := e.Run(ctx, Invocation{Program: p, Limits: l, Request: req}); res.Err != nil {
			b.Fatal(res.Err)
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkHelloFresh builds a new hardened runtime for every request.
func BenchmarkHelloFresh(b *testing.B) {
	e := New(Options{})
	l := shared.DefaultLimits()
	p, err := e.Compile(1, 1, helloSrc, l)
	if err != nil {
		b.Fatal(err)
	}
	req := &Request{Method: "GET", Path: "/"}
	ctx := context.Background()
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		for len(e.idle) > 0 { // empty pool
			<-e.idle
		}
		if res := e.Run(ctx, Invocation{Program: p, Limits: l, Request: req}); res.Err != nil {
			b.Fatal(res.Err)
		}
	}
	reportCPU(b, cpu)
}

const loopSrc = `function handle() { let s = 0; for (let i = 0; i < 100000; i++) { s += i % 7 } return s }`
const fibSrc = `function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2) } function handle() { return fib(25) }`
const sieveSrc = `function handle() { const a = []; for (let i = 0; i < 20000; i++) a[i] = true;
	for (let i = 2; i < 20000; i++) if (a[i]) for (let j = i * i; j < 20000; j += i) a[j] = false;
	let n = 0; for (let i = 2; i < 20000; i++) if (a[i]) n++; return n }`

func benchInstrumented(b *testing.B, src string) {
	e := New(Options{})
	l := shared.DefaultLimits()
	l.MaxOperations = 1 << 60
	l.TimeoutMS = 60_000
	p, err := e.Compile(1, 1, src, l)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	e.Run(ctx, Invocation{Program: p, Limits: l}) // warm the pool
	cpu := cpuTime()
	for b.Loop() {
		if res := e.Run(ctx, Invocation{Program: p, Limits: l}); res.Err != nil {
			b.Fatal(res.Err)
		}
	}
	reportCPU(b, cpu)
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// benchPlain runs the same handle in bare goja: no instrumentation, no
// wrapped built-ins, a reused runtime.
func benchPlain(b *testing.B, src string) {
	rt := goja.New()
	if _, err := rt.RunString(src); err != nil {
		b.Fatal(err)
	}
	handle, _ := goja.AssertFunction(rt.Get("handle"))
	cpu := cpuTime()
	for b.Loop() {
		if _, err := handle(goja.Undefined()); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

func BenchmarkLoopInstrumented(b *testing.B)  { benchInstrumented(b, loopSrc) }
func BenchmarkLoopPlain(b *testing.B)         { benchPlain(b, loopSrc) }
func BenchmarkFibInstrumented(b *testing.B)   { benchInstrumented(b, fibSrc) }
func BenchmarkFibPlain(b *testing.B)          { benchPlain(b, fibSrc) }
func BenchmarkSieveInstrumented(b *testing.B) { benchInstrumented(b, sieveSrc) }
func BenchmarkSievePlain(b *testing.B)        { benchPlain(b, sieveSrc) }

// BenchmarkHelloPooledRequest is BenchmarkHelloPooled with the request a
// browser-like client sends: the cost of building req grows with it.
func BenchmarkHelloPooledRequest(b *testing.B) {
	benchPooled(b, helloSrc, browserRequest())
}

// browserRequest is a request as a browser sends it.
func browserRequest() *Request {
	return &Request{Method: "GET", Host: "example.test", Path: "/items/42", App: "default",
		Params: map[string]string{"id": "42"},
		Query:  map[string][]string{"q": {"x"}},
		Header: map[string][]string{"User-Agent": {"Mozilla/5.0"}, "Accept": {"*/*"}, "Accept-Encoding": {"gzip"},
			"Accept-Language": {"en"}, "Cookie": {"a=1"}, "X-Forwarded-For": {"10.0.0.1"}}}
}

// BenchmarkFirstRunOfNewVersion is the first request after a script update:
// the new version runs on an already hardened runtime.
func BenchmarkFirstRunOfNewVersion(b *testing.B) {
	e := New(Options{})
	l := shared.DefaultLimits()
	ctx := context.Background()
	req := &Request{Method: "GET", Path: "/"}
	b.ReportAllocs()
	var v int64
	for b.Loop() {
		b.StopTimer()
		v++
		p, err := e.Compile(1, v, helloSrc, l)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if res := e.Run(ctx, Invocation{Program: p, Limits: l, Request: req}); res.Err != nil {
			b.Fatal(res.Err)
		}
	}
}

// BenchmarkRequestObject builds req for the request the bench client sends
// (two headers, no query or params): a large share of a hello world's run.
func BenchmarkRequestObject(b *testing.B) {
	sb, err := newSandbox()
	if err != nil {
		b.Fatal(err)
	}
	r := &Request{Method: "GET", Host: "localhost", Path: "/", App: "default",
		Header: map[string][]string{"User-Agent": {"picloud-bench"}, "Accept": {"*/*"}}}
	b.ReportAllocs()
	for b.Loop() {
		sb.run = &runState{sb: sb, limits: shared.DefaultLimits()}
		if _, err := sb.request(r, allFields); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHelloWholeRequest is BenchmarkHelloPooledRequest with a script
// that sees req whole, so that every property is built.
func BenchmarkHelloWholeRequest(b *testing.B) {
	benchPooled(b, `function handle(req) { return Object.keys(req).join() }`, browserRequest())
}

// BenchmarkEnvPooled is a handle(req, env) that reads one of ten
// variables: the cost of building env, beside BenchmarkHelloPooled.
func BenchmarkEnvPooled(b *testing.B) {
	e := New(Options{})
	l := shared.DefaultLimits()
	p, err := e.Compile(1, 1, `function handle(req, env) { return "hello " + env.NAME }`, l)
	if err != nil {
		b.Fatal(err)
	}
	vars := map[string]string{"NAME": "world"}
	for i := range 9 {
		vars[fmt.Sprintf("VAR_%d", i)] = "value"
	}
	inv := Invocation{Program: p, Limits: l, Request: &Request{Method: "GET", Path: "/"}, Bindings: &Bindings{Vars: vars}}
	ctx := context.Background()
	b.ReportAllocs()
	e.Run(ctx, inv) // warm the pool
	cpu := cpuTime()
	for b.Loop() {
		if res := e.Run(ctx, inv); res.Err != nil {
			b.Fatal(res.Err)
		}
	}
	reportCPU(b, cpu)
}
