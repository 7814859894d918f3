package orchestrator

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/picloud/picloud/shared"
)

// BenchmarkLogWriter measures the whole log path of one execution: queueing
// it, the batched insert and the pruning to the default retention, on a real
// store whose app already holds its retention's worth of logs (a node that
// has been running for a while). ns/op includes the final flush.
func BenchmarkLogWriter(b *testing.B) {
	ctx := context.Background()
	st := openStore(b)
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
	for b.Loop() {
		w.record(entry)
	}
	if err := w.close(ctx); err != nil {
		b.Fatal(err)
	}
	if d := w.dropped.Load(); d > 0 {
		b.Fatalf("%d entries dropped", d)
	}
}
