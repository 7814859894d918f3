package kv

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

// BenchmarkWriterConcurrent is the writer alone under 50 concurrent
// writers (the concurrency of `picloud-bench kv`) on 3,000 keys: puts
// per commit and the commit path's cost, without HTTP or scripts.
func BenchmarkWriterConcurrent(b *testing.B) {
	s, _ := openStore(b)
	app := mkApp(b, s, "bench")
	w := NewWriter(Config{Committer: s})
	start(b, w)
	ctx := context.Background()
	var wg sync.WaitGroup
	per := b.N/50 + 1
	b.ResetTimer()
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
	b.ReportMetric(float64(writes)/float64(batches), "puts/commit")
}
