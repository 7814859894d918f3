package orchestrator

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/picloud/picloud/node/nodetest/storetest"
	"github.com/picloud/picloud/shared"
)

// A reader that flushes sees every log recorded before, at once, though
// the writer gathers a batch for up to flushInterval; a flush with nothing
// waiting returns at once too.
func TestLogWriterFlushWritesWhatIsWaiting(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	a, err := st.CreateApp(ctx, shared.App{Slug: "a", Name: "a"}, false)
	if err != nil {
		t.Fatal(err)
	}
	w := newLogWriter(st, DefaultLogQueue, DefaultLogRetention, slog.New(slog.DiscardHandler))
	defer w.close(ctx)
	if err := w.flush(ctx); err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		start := time.Now()
		for i := range 3 {
			w.record(shared.Log{AppID: a.ID, ScriptID: 1, Trigger: shared.TriggerExecute, Status: 200, StartedAt: time.Now(),
				Path: string(rune('a' + i))})
		}
		if err := w.flush(ctx); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took >= flushInterval {
			t.Errorf("round %d: flush took %v, as long as a batch gathers", round, took)
		}
		if n := allLogs(t, st, a.ID); n != 3*(round+1) {
			t.Fatalf("round %d: %d logs right after the flush, want %d", round, n, 3*(round+1))
		}
	}
}
