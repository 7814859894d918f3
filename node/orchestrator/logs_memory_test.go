package orchestrator

import (
	"context"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/node/nodetest/storetest"
	"github.com/picloud/picloud/node/store"
	"github.com/picloud/picloud/shared"
)

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// Once written, entries are not kept reachable by the writer: 200 logs of
// 128 KiB (25 MB) leave the live heap where it was. Errors over 64 KiB
// are cut to it, keeping their start (the message before the stack).
func TestLogWriterKeepsNothingWritten(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	a, err := st.CreateApp(ctx, shared.App{Slug: "a", Name: "a"}, false)
	if err != nil {
		t.Fatal(err)
	}
	w := newLogWriter(st, DefaultLogQueue, DefaultLogRetention, slog.New(slog.DiscardHandler))
	defer w.close(ctx)
	heap := liveHeap()
	const n = 200
	entries := make([]shared.Log, n)
	for i := range entries {
		entries[i] = shared.Log{AppID: a.ID, ScriptID: 1, Trigger: shared.TriggerRoute, Status: 500, StartedAt: time.Now(),
			Error: strings.Repeat("e", maxLogText), Output: strings.Repeat("o", maxLogText)}
	}
	entries[n-1].Error = "Error: boom " + strings.Repeat("é", 1<<19) + "\n\tat handle"
	for _, e := range entries { // in a burst: the writer takes them in few batches
		w.record(e)
	}
	deadline := time.Now().Add(30 * time.Second)
	for allLogs(t, st, a.ID) < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	// One small entry more, written after them: the writer is done with
	// the big batches (it may still hold the batch it just wrote).
	w.record(shared.Log{AppID: a.ID, ScriptID: 1, Trigger: shared.TriggerRoute, Status: 200, StartedAt: time.Now()})
	for allLogs(t, st, a.ID) < n+1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	page, err := st.Logs(ctx, a.ID, 0, 2, 0)
	if err != nil || len(page) != 2 {
		t.Fatalf("newest log: %v %v", page, err)
	}
	if w.dropped.Load() > 0 {
		t.Fatalf("%d entries dropped", w.dropped.Load())
	}
	l := page[1]
	if len(l.Error) > maxLogText || len(l.Output) > maxLogText || !strings.HasPrefix(l.Error, "Error: boom é") {
		t.Fatalf("stored error of %d bytes (%.20q), output of %d", len(l.Error), l.Error, len(l.Output))
	}
	if after := liveHeap(); after > heap+8<<20 {
		t.Fatalf("live heap grew from %d to %d MB after the logs were written", heap>>20, after>>20)
	}
}

// allLogs counts an app's logs, page by page.
func allLogs(t *testing.T, st *store.Store, app int64) int {
	t.Helper()
	n := 0
	for before := int64(0); ; {
		p, err := st.Logs(context.Background(), app, 0, store.MaxLogLimit, before)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) == 0 {
			return n
		}
		n += len(p)
		before = p[len(p)-1].ID
	}
}
