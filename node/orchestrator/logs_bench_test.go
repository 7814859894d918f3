//go:build unix

package orchestrator

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/picloud/picloud/node/nodetest/storetest"
	"github.com/picloud/picloud/shared"
)

// BenchmarkLogWriter measures the whole log path of one execution: queueing
// it, the batched insert and the pruning to the default retention, on a real
// store whose app already holds its retention's worth of logs (a node that
// has been running for a while). ns/op includes the final flush; cpu-ns/op
// is the CPU time of the whole process per entry (the writer runs on
// another core, so wall time hides most of it).
func BenchmarkLogWriter(b *testing.B) {
	ctx := context.Background()
	st := storetest.Open(b)
	a, err := st.CreateApp(ctx, shared.App{Slug: "a", Name: "a"}, false)
	if err != nil {
		b.Fatal(err)
	}
	entry := shared.Log{AppID: a.ID, ScriptID: 1, Trigger: shared.TriggerRoute, Host: "localhost", Method: "GET",
		Path: "/", Status: 200, DurationUS: 40, Operations: 12, Output: "", StartedAt: time.Now()}
	fill := make([]shared.Log, DefaultLogRetention)
	for i := range fill {
		fill[i] = entry
	}
	if err := st.InsertLogs(ctx, fill); err != nil {
		b.Fatal(err)
	}
	w := newLogWriter(st, DefaultLogQueue, DefaultLogRetention, slog.New(slog.DiscardHandler))
	b.ReportAllocs()
	cpu := cpuTime(b)
	for b.Loop() {
		w.record(entry)
	}
	if err := w.close(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/op")
	if d := w.dropped.Load(); d > 0 {
		b.Fatalf("%d entries dropped", d)
	}
}

// cpuTime is the user and system CPU time the process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLogWriterPaced measures the CPU the log path costs per entry
// when entries arrive at a steady rate the writer keeps up with, as on a
// busy node: two goroutines each do some 15 µs of other work between
// entries. log-cpu-ns/op is the process's CPU time per entry minus that of
// the same work without logging.
func BenchmarkLogWriterPaced(b *testing.B) {
	ctx := context.Background()
	st := storetest.Open(b)
	a, err := st.CreateApp(ctx, shared.App{Slug: "a", Name: "a"}, false)
	if err != nil {
		b.Fatal(err)
	}
	entry := shared.Log{AppID: a.ID, ScriptID: 1, Trigger: shared.TriggerRoute, Host: "localhost", Method: "GET",
		Path: "/", Status: 200, DurationUS: 40, Operations: 12, StartedAt: time.Now()}
	var sink atomic.Uint64
	// run has two goroutines do b.N units of work, calling record after each.
	run := func(record func()) {
		var wg sync.WaitGroup
		for g := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := g; i < b.N; i += 2 {
					h := uint64(i)
					for j := range uint64(20_000) {
						h = h*31 + j
					}
					sink.Add(h)
					record()
				}
			}()
		}
		wg.Wait()
	}
	start := cpuTime(b)
	run(func() {})
	work := cpuTime(b) - start
	w := newLogWriter(st, DefaultLogQueue, DefaultLogRetention, slog.New(slog.DiscardHandler))
	b.ResetTimer()
	start = cpuTime(b)
	run(func() { w.record(entry) })
	if err := w.close(ctx); err != nil {
		b.Fatal(err)
	}
	logged := cpuTime(b) - start
	b.ReportMetric(float64(logged-work)/float64(b.N), "log-cpu-ns/op")
	if d := w.dropped.Load(); d > 0 {
		b.Fatalf("%d entries dropped", d)
	}
}
