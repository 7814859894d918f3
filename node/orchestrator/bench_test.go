package orchestrator

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/picloud/picloud/node/executor"
	"github.com/picloud/picloud/node/nodetest/storetest"
	"github.com/picloud/picloud/node/store"
	"github.com/picloud/picloud/shared"
)

// benchNode is an orchestrator whose routing table holds n claims and n
// routes over n/10 apps (half the claims exact, half wildcards, a tenth of
// the routes naming a host). The table is built by the orchestrator's own
// build from data shaped like store.Snapshot, with the real executor, and
// logs go to a real store: inserting 20,000 rows one admin call at a time
// would only slow the setup, not change what is measured.
func benchNode(b *testing.B, n int) (o *Orchestrator, host, path string) {
	b.Helper()
	ctx := context.Background()
	st := storetest.Open(b)
	o = New(Config{Store: st, Executor: executor.New(executor.Options{}), Defaults: shared.DefaultLimits(),
		LogQueue: 1 << 16, Logger: slog.New(slog.DiscardHandler)})
	b.Cleanup(func() { o.Close(ctx) })
	o.current.Store(o.build(benchData(n)))
	// A wildcard claim three labels below its suffix, and a host-less route
	// of the same app.
	target := n/2 | 1
	return o, fmt.Sprintf("a.b.c.w%d.bench.test:8080", target), fmt.Sprintf("/svc%d/items/42", target)
}

// benchData is n claims and n routes over n/10 apps, each app with one
// script.
func benchData(n int) *store.Snapshot {
	apps := max(1, n/10)
	data := &store.Snapshot{}
	for i := 1; i <= apps; i++ {
		data.Apps = append(data.Apps, shared.App{ID: int64(i), Slug: fmt.Sprintf("app%d", i)})
		data.Scripts = append(data.Scripts, shared.Script{ID: int64(i), AppID: int64(i), Name: "s", Version: 1,
			Source: `function handle(req) { return "ok " + req.params.id; }`})
	}
	for i := 0; i < n; i++ {
		appID := int64(i%apps + 1)
		pattern := fmt.Sprintf("h%d.bench.test", i)
		if i%2 == 1 {
			pattern = fmt.Sprintf("*.w%d.bench.test", i)
		}
		data.Domains = append(data.Domains, shared.Domain{ID: int64(i + 1), AppID: appID, Pattern: pattern})
		r := shared.Route{ID: int64(i + 1), AppID: appID, ScriptID: appID, Method: "GET", Path: fmt.Sprintf("/svc%d/items/:id", i)}
		if i%10 == 0 {
			h := fmt.Sprintf("h%d.bench.test", i)
			r.Host = &h
		}
		data.Routes = append(data.Routes, r)
	}
	return data
}

// BenchmarkResolve measures host → app → route alone.
func BenchmarkResolve(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			o, host, path := benchNode(b, n)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := o.Resolve(ctx, host, "GET", path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDispatch measures a whole data-plane request: lookup, script run
// and log record.
func BenchmarkDispatch(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			o, host, path := benchNode(b, n)
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("GET", path, nil)
				req.Host = host
				w := httptest.NewRecorder()
				o.ServeHTTP(w, req)
				if w.Code != 200 || w.Body.String() != "ok 42" {
					b.Fatalf("%d %q", w.Code, w.Body)
				}
			}
		})
	}
}

// BenchmarkLookup measures the two tables alone, for a host already
// normalised: what grows with the number of claims and routes, if anything.
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			o, host, path := benchNode(b, n)
			host, err := shared.NormalizeHost(host)
			if err != nil {
				b.Fatal(err)
			}
			snap := o.current.Load()
			b.ReportAllocs()
			for b.Loop() {
				id, ok := snap.domains.match(host)
				if !ok {
					b.Fatal("no app")
				}
				if r, _, _ := snap.apps[id].routes.lookup(host, "GET", path); r == nil {
					b.Fatal("no route")
				}
			}
		})
	}
}

// BenchmarkRebuild measures building the routing table from a snapshot of
// the store with every program already compiled: the cost of one admin
// change on the data plane.
func BenchmarkRebuild(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			o, _, _ := benchNode(b, n)
			data := benchData(n)
			b.ReportAllocs()
			for b.Loop() {
				o.current.Store(o.build(data))
			}
		})
	}
}
