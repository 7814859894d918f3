package orchestrator

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/picloud/picloud/node/store"
	"github.com/picloud/picloud/shared"
)

// Apps are pruned in bulk, not after every batch: an app runs at most
// slack-1 logs over its retention between batches, is cut back to the
// newest retention once it reaches slack over, and is at or under its
// retention after close. The batches here are written by the writer's own
// write, one at a time, so the counts between batches can be looked at.
func TestLogPruningSlack(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	app := func(slug string) int64 {
		a, err := st.CreateApp(ctx, shared.App{Slug: slug, Name: slug}, false)
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	busy, quiet, gone := app("busy"), app("quiet"), app("gone")
	if err := st.DeleteApp(ctx, gone); err != nil {
		t.Fatal(err)
	}
	const retention = 50
	w := &logWriter{store: st, retention: retention, slack: max(retention/10, 1), log: slog.New(slog.DiscardHandler),
		unpruned: map[int64]int{}}
	if w.slack != 5 {
		t.Fatalf("slack %d, want a tenth of the retention", w.slack)
	}
	count := func(appID int64) ([]shared.Log, int) {
		t.Helper()
		logs, err := st.Logs(ctx, appID, 0, store.MaxLogLimit, 0)
		if err != nil {
			t.Fatal(err)
		}
		return logs, len(logs)
	}
	seq := 0
	entry := func(appID int64) shared.Log {
		seq++
		return shared.Log{AppID: appID, ScriptID: 1, Trigger: shared.TriggerRoute, Method: "GET",
			Path: fmt.Sprintf("/%d", seq), Status: 200, StartedAt: time.Now()}
	}
	prunes, prev := 0, 0
	for i := 0; i < 40; i++ {
		var batch []shared.Log
		for j := 0; j < 1+i%4; j++ {
			batch = append(batch, entry(busy), entry(gone))
		}
		last := seq - 1 // the batch's last log of the busy app
		w.write(batch)
		logs, n := count(busy)
		if n > retention+w.slack-1 {
			t.Fatalf("batch %d: %d logs, over retention %d + slack %d - 1", i, n, retention, w.slack)
		}
		if logs[0].Path != fmt.Sprintf("/%d", last) {
			t.Fatalf("batch %d: newest log %s, want /%d", i, logs[0].Path, last)
		}
		if n < prev+len(batch)/2 { // pruned: back to exactly the newest retention
			prunes++
			if n != retention {
				t.Fatalf("batch %d: pruned to %d logs, want %d", i, n, retention)
			}
		}
		prev = n
	}
	if prunes < 5 {
		t.Errorf("the busy app was pruned %d times over 100 logs past its retention, want every slack logs", prunes)
	}
	for i := 0; i < retention+3; i++ { // under slack: not pruned yet
		w.write([]shared.Log{entry(quiet)})
	}
	if _, n := count(quiet); n != retention+3 {
		t.Fatalf("quiet app: %d logs, want %d (within the slack)", n, retention+3)
	}
	w.prune(ctx, 1) // what close does
	for _, a := range []int64{busy, quiet} {
		logs, n := count(a)
		if n != retention {
			t.Fatalf("app %d after the closing prune: %d logs, want %d", a, n, retention)
		}
		if a == quiet && logs[0].Path != fmt.Sprintf("/%d", seq) {
			t.Fatalf("quiet app: newest log %s, want /%d", logs[0].Path, seq)
		}
	}
	if len(w.unpruned) != 0 {
		t.Errorf("apps still due after the closing prune: %v", w.unpruned)
	}
}
