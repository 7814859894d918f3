package kv

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

// BenchmarkWriterConcurrent is the writer alone under 50 concurrent
// writers (the concurrency of `picloud-bench kv`) on 3,000 keys: puts per
// commit and the process's CPU per put (less sensitive to the machine's
// load than the time per put), without HTTP or scripts.
func BenchmarkWriterConcurrent(b *testing.B) {
	s, _ := openStore(b)
	app := mkApp(b, s, "bench")
	w := NewWriter(Config{Committer: s})
	start(b, w)
	ctx := context.Background()
	var wg sync.WaitGroup
	per := b.N/50 + 1
	b.ResetTimer()
	cpu := cpuTime()
	for range 50 {
		wg.Go(func() {
			for range per {
				k := fmt.Sprint("n", rand.IntN(3000))
				if err := w.Write(ctx, put(app.ID, k, "12345")); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	batches, writes := w.Stats()
	b.ReportMetric(float64(cpuTime()-cpu)/float64(writes), "cpu-ns/put")
	b.ReportMetric(float64(writes)/float64(batches), "puts/commit")
}

// BenchmarkNamespaceGet is a script's get of a key the node holds, its Go
// side: checks and the store's cache.
func BenchmarkNamespaceGet(b *testing.B) {
	s, _ := openStore(b)
	app := mkApp(b, s, "bench")
	svc := NewService(ServiceConfig{Store: s})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go svc.Run(ctx)
	ns := svc.App(app.ID)
	for i := range 100 {
		if err := ns.Write(ctx, put(app.ID, fmt.Sprint("k", i), "Hello")); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, found, err := ns.Get(ctx, fmt.Sprint("k", rand.IntN(100))); !found || err != nil {
			b.Fatal(found, err)
		}
	}
}
