package executor

import (
	"context"
	"testing"
	"time"

	"github.com/picloud/picloud/shared"
)

// BenchmarkWebCost runs each web native on large input and reports the
// wall time per operation it is charged: the per-kind rates in web.go aim
// at about 100 ns, what a loop iteration costs. A figure far above that
// means a script can buy more time with that native than with plain code.
func BenchmarkWebCost(b *testing.B) {
	for _, bc := range []struct{ name, body string }{
		{"url", `const s = "http://h/" + "a".repeat(60000); new URL(s)`},
		{"url-setter", `const u = new URL("http://h/"); u.pathname = "a".repeat(60000)`},
		{"search-params", `new URLSearchParams("a=b&".repeat(15000))`},
		{"search-params-string", `new URLSearchParams("a=b&".repeat(15000)).toString()`},
		{"random", `crypto.getRandomValues(new Uint8Array(65536))`},
		{"digest", `await crypto.subtle.digest("SHA-256", new Uint8Array(80000))`},
		{"btoa", `btoa("x".repeat(60000))`},
		{"atob", `atob("QUFB".repeat(15000))`},
		{"encode", `new TextEncoder().encode("x".repeat(60000))`},
		{"decode", `new TextDecoder().decode(new Uint8Array(60000).fill(97))`},
		{"build-2000", `const a = []; for (let i = 0; i < 2000; i++) a.push({i})`},
		{"structuredClone", `const a = []; for (let i = 0; i < 2000; i++) a.push({i}); structuredClone(a)`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := New(Options{})
			l := shared.DefaultLimits()
			l.MaxOperations, l.TimeoutMS = 1<<50, 30_000
			p, err := e.Compile(1, 1, "async function handle(){ "+bc.body+"; return \"\" }", l)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			var ops int64
			var wall time.Duration
			for b.Loop() {
				start := time.Now()
				res := e.Run(ctx, Invocation{Program: p, Limits: l, Request: &Request{}})
				wall += time.Since(start)
				if res.Err != nil {
					b.Fatal(res.Err)
				}
				ops += res.Operations
			}
			b.ReportMetric(float64(wall.Nanoseconds())/float64(ops), "ns/charged-op")
		})
	}
}
