package orchestrator

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud/node/nodetest/storetest"
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
	st := storetest.Open(t)
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

// Every entry is accounted for, whatever the writer is doing: written, or
// dropped and counted because the queue stayed full (the database is
// locked by another process) or the writer was closing. None is lost
// silently or written twice, and close waits for requests that were
// waiting for room when it began.
func TestLogWriterAccountsForEveryEntry(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "picloud.db")
	st, err := store.Open(ctx, path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, err := st.CreateApp(ctx, shared.App{Slug: "a", Name: "a"}, false)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	lock, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}

	w := newLogWriter(st, 4, 1000, slog.New(slog.DiscardHandler))
	// A first entry, gathered for flushInterval: then the writer waits on
	// the lock, and the queue fills.
	w.record(shared.Log{AppID: a.ID, ScriptID: 1, Trigger: shared.TriggerRoute, Path: "/first", Status: 200, StartedAt: time.Now()})
	time.Sleep(flushInterval + 100*time.Millisecond)
	const senders, each = 8, 6
	sent := sendLogs(w, a.ID, senders, each)
	closed := make(chan error, 1)
	go func() {
		time.Sleep(150 * time.Millisecond) // some senders are waiting for room by now
		closed <- w.close(ctx)
	}()
	sent()
	if _, err := lock.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	logs, err := st.Logs(ctx, a.ID, 0, store.MaxLogLimit, 0)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, l := range logs {
		if seen[l.Path] {
			t.Fatalf("%s written twice", l.Path)
		}
		seen[l.Path] = true
	}
	dropped := int(w.dropped.Load())
	if len(logs)+dropped != senders*each+1 || dropped == 0 || len(logs) < 4 {
		t.Fatalf("%d written + %d dropped of %d entries; want all accounted for, the queue's worth written, some dropped",
			len(logs), dropped, senders*each+1)
	}
}

// A burst far larger than the queue, sent as fast as the senders can, is
// written: the writer takes everything queued at each interval, so it
// keeps up and requests do not wait long enough to drop their entries. A
// writer that took a fixed number a step would drop most of them; on a
// loaded 2-core machine the writer can miss its 100 ms now and then and a
// handful drop (3 of 40,000 seen), so up to 0.1% is allowed.
func TestLogWriterKeepsUpWithBurst(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	a, err := st.CreateApp(ctx, shared.App{Slug: "a", Name: "a"}, false)
	if err != nil {
		t.Fatal(err)
	}
	const senders, each = 4, 10_000
	w := newLogWriter(st, DefaultLogQueue, senders*each, slog.New(slog.DiscardHandler))
	sendLogs(w, a.ID, senders, each)()
	if err := w.close(ctx); err != nil {
		t.Fatal(err)
	}
	dropped := w.dropped.Load()
	if dropped*1000 > senders*each {
		t.Fatalf("%d of %d entries dropped", dropped, senders*each)
	}
	var n int
	for before := int64(0); ; {
		page, err := st.Logs(ctx, a.ID, 0, store.MaxLogLimit, before)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		n += len(page)
		before = page[len(page)-1].ID
	}
	if int64(n)+dropped != senders*each {
		t.Fatalf("%d logs written and %d dropped, want %d in all", n, dropped, senders*each)
	}
}

// sendLogs has senders goroutines record each entries of app (paths
// /sender/i) and returns a function that waits for them all.
func sendLogs(w *logWriter, app int64, senders, each int) (wait func()) {
	var wg sync.WaitGroup
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				w.record(shared.Log{AppID: app, ScriptID: 1, Trigger: shared.TriggerRoute, Host: "localhost",
					Method: "GET", Path: fmt.Sprintf("/%d/%d", g, i), Status: 200, StartedAt: time.Now()})
			}
		}()
	}
	return wg.Wait
}
