package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud/shared"
)

func logsFor(appID, scriptID int64, n int, start time.Time) []shared.Log {
	out := make([]shared.Log, n)
	for i := range out {
		out[i] = shared.Log{AppID: appID, ScriptID: scriptID, Trigger: shared.TriggerRoute, Host: "a.example",
			Method: "GET", Path: fmt.Sprintf("/%d", i), Status: 200, DurationUS: int64(i), Operations: int64(10 * i),
			StartedAt: start.Add(time.Duration(i) * time.Millisecond)}
	}
	return out
}

func TestInsertLogsStoresEveryField(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a := mkApp(t, s, "a")
	sc := mkScript(t, s, a.ID, "main")
	r := mkRoute(t, s, a.ID, sc.ID, "ANY", "/*rest", nil)
	// Output as the executor caps it: 64 KiB, multi-byte text and newlines
	// included, stored as given.
	output := strings.Repeat("héllo\n", 64<<10/7) + "\x00end"
	in := []shared.Log{
		{AppID: a.ID, ScriptID: sc.ID, RouteID: &r.ID, Trigger: shared.TriggerRoute, Host: "a.example", Method: "PUT",
			Path: "/x/y", Status: 507, DurationUS: 123456, Operations: 1 << 40, Subrequests: 50, Error: "sandbox limit max_operations exceeded",
			Output: output, StartedAt: time.Date(2026, 11, 27, 5, 0, 0, 123456789, time.FixedZone("x", 3600))},
		{AppID: a.ID, ScriptID: sc.ID, Trigger: shared.TriggerExecute, Host: "__internal__", Method: "POST", Path: "/",
			Status: 200, StartedAt: time.Date(2026, 11, 27, 5, 0, 1, 0, time.UTC)},
	}
	if err := s.InsertLogs(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := s.Logs(ctx, a.ID, 0, 0, 0)
	if err != nil || len(got) != 2 {
		t.Fatalf("Logs = %d, %v", len(got), err)
	}
	for i, want := range []shared.Log{in[1], in[0]} { // newest first
		want.ID = got[i].ID
		want.StartedAt = want.StartedAt.UTC()
		if !reflect.DeepEqual(got[i], want) {
			t.Errorf("log %d =\n%+v\nwant\n%+v", i, got[i], want)
		}
	}
	if got[0].ID <= got[1].ID {
		t.Errorf("ids %d, %d not newest first", got[0].ID, got[1].ID)
	}
}

func TestInsertLogsAllOrNothing(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a := mkApp(t, s, "a")
	batch := logsFor(a.ID, 1, 5, time.Now())
	batch[3].Trigger = "timer"
	before := dump(t, s)
	if err := s.InsertLogs(ctx, batch); err == nil {
		t.Fatal("a batch with a bad trigger was accepted")
	}
	if dump(t, s) != before {
		t.Error("a refused batch left logs behind")
	}
	if err := s.InsertLogs(ctx, nil); err != nil {
		t.Errorf("empty batch: %v", err)
	}
}

func TestInsertLogsDropsDeletedApps(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a, gone := mkApp(t, s, "a"), mkApp(t, s, "gone")
	if err := s.DeleteApp(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	batch := append(logsFor(a.ID, 1, 2, time.Now()), logsFor(gone.ID, 1, 2, time.Now())...)
	if err := s.InsertLogs(ctx, batch); err != nil {
		t.Fatalf("a batch with logs of a deleted app: %v", err)
	}
	if got, _ := s.Logs(ctx, a.ID, 0, 10, 0); len(got) != 2 {
		t.Errorf("logs of the living app = %d, want 2", len(got))
	}
	if n := count(t, s, "execution_logs", gone.ID); n != 0 {
		t.Errorf("%d logs of a deleted app stored", n)
	}
}

func TestLogsFilterAndPaging(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a, b := mkApp(t, s, "a"), mkApp(t, s, "b")
	now := time.Now()
	var batch []shared.Log
	for i := range 30 { // interleave scripts 1 and 2 of a, and app b
		batch = append(batch, logsFor(a.ID, int64(1+i%2), 1, now)...)
		batch = append(batch, logsFor(b.ID, 1, 1, now)...)
	}
	if err := s.InsertLogs(ctx, batch); err != nil {
		t.Fatal(err)
	}
	page := func(scriptID int64, limit int, before int64) []shared.Log {
		t.Helper()
		ls, err := s.Logs(ctx, a.ID, scriptID, limit, before)
		if err != nil {
			t.Fatal(err)
		}
		return ls
	}
	for _, tt := range []struct {
		script int64
		total  int
	}{{0, 30}, {1, 15}, {2, 15}, {3, 0}} {
		t.Run("script "+strconv.FormatInt(tt.script, 10), func(t *testing.T) {
			var all []shared.Log
			for before := int64(0); ; {
				p := page(tt.script, 7, before)
				all = append(all, p...)
				if len(p) < 7 {
					break
				}
				before = p[len(p)-1].ID
			}
			if len(all) != tt.total {
				t.Errorf("script %d: %d logs over all pages, want %d", tt.script, len(all), tt.total)
			}
			for i, l := range all {
				if l.AppID != a.ID || (tt.script != 0 && l.ScriptID != tt.script) || (i > 0 && l.ID >= all[i-1].ID) {
					t.Errorf("script %d: log %d = %+v out of order or of the wrong app/script", tt.script, i, l)
				}
			}
		})
	}
	if got := page(0, 0, 0); len(got) != 30 {
		t.Errorf("limit 0 = %d logs, want the default page", len(got))
	}
	_, err := s.Logs(ctx, 999, 0, 10, 0)
	if !shared.IsCode(err, shared.CodeNotFound) {
		t.Errorf("logs of a missing app: %v", err)
	}
}

// New logs arriving while someone pages through never shift the pages: each
// log is seen once, newest first, until the end.
func TestLogsPagingStableUnderInserts(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a := mkApp(t, s, "a")
	if err := s.InsertLogs(ctx, logsFor(a.ID, 1, 200, time.Now())); err != nil {
		t.Fatal(err)
	}
	stop := repeat(t, func() error { return s.InsertLogs(ctx, logsFor(a.ID, 1, 3, time.Now())) })
	first, err := s.Logs(ctx, a.ID, 0, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	all := first
	for before := first[len(first)-1].ID; ; {
		p, err := s.Logs(ctx, a.ID, 0, 10, before)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p...)
		if len(p) < 10 {
			break
		}
		before = p[len(p)-1].ID
	}
	stop()
	for i, l := range all {
		if seen[l.ID] || (i > 0 && l.ID >= all[i-1].ID) {
			t.Fatalf("log %d seen twice or out of order", l.ID)
		}
		seen[l.ID] = true
	}
	// Everything from the first page down was there before paging began.
	if want := int(first[0].ID - all[len(all)-1].ID + 1); len(all) != want {
		t.Errorf("paged %d logs, want %d", len(all), want)
	}
}

func TestPruneLogsKeepsNewestPerApp(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a, b := mkApp(t, s, "a"), mkApp(t, s, "b")
	if err := s.InsertLogs(ctx, append(logsFor(a.ID, 1, 50, time.Now()), logsFor(b.ID, 1, 20, time.Now())...)); err != nil {
		t.Fatal(err)
	}
	newest, _ := s.Logs(ctx, a.ID, 0, 10, 0)
	for _, keep := range []int{100, 50, 10} {
		if err := s.PruneLogs(ctx, a.ID, keep); err != nil {
			t.Fatal(err)
		}
		if n := count(t, s, "execution_logs", a.ID); n != min(keep, 50) {
			t.Errorf("keep %d: %d logs left", keep, n)
		}
	}
	if got, _ := s.Logs(ctx, a.ID, 0, 100, 0); !reflect.DeepEqual(got, newest) {
		t.Errorf("kept logs are not the newest 10")
	}
	if n := count(t, s, "execution_logs", b.ID); n != 20 {
		t.Errorf("pruning a touched app b: %d logs left", n)
	}
	if err := s.PruneLogs(ctx, a.ID, 0); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, "execution_logs", a.ID); n != 0 {
		t.Errorf("keep 0: %d logs left", n)
	}
	if err := s.PruneLogs(ctx, a.ID, -1); err == nil {
		t.Error("negative keep accepted")
	}
	if err := s.PruneLogs(ctx, 999, 5); err != nil {
		t.Errorf("pruning an app without logs: %v", err)
	}
}

// Batches of every shape the writer's statements split into (64-row
// statements, then powers of two) are stored whole, in the batch's order,
// with logs of a deleted app dropped from the middle.
func TestInsertLogsBatchSizes(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a, gone := mkApp(t, s, "a"), mkApp(t, s, "gone")
	if err := s.DeleteApp(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	route := int64(7)
	total := 0
	for _, n := range []int{1, 2, 3, 63, 64, 65, 127, 128, 129, 200, 512, 513} {
		batch := logsFor(a.ID, 1, n, time.Now())
		for i := range batch {
			batch[i].Path = fmt.Sprintf("/%d/%d", n, i)
			if i%3 == 0 {
				batch[i].RouteID = &route
			}
			if i%5 == 4 {
				batch[i].AppID = gone.ID
			}
		}
		if err := s.InsertLogs(ctx, batch); err != nil {
			t.Fatalf("batch of %d: %v", n, err)
		}
		var want []shared.Log
		for _, l := range batch {
			if l.AppID == a.ID {
				want = append(want, l)
			}
		}
		total += len(want)
		got, err := s.Logs(ctx, a.ID, 0, len(want), 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("batch of %d: newest page has %d logs, want %d", n, len(got), len(want))
		}
		for i, g := range got { // newest first
			w := want[len(want)-1-i]
			w.ID, w.StartedAt = g.ID, w.StartedAt.UTC()
			if !reflect.DeepEqual(g, w) {
				t.Fatalf("batch of %d: log %d =\n%+v\nwant\n%+v", n, i, g, w)
			}
		}
	}
	if n := count(t, s, "execution_logs", a.ID); n != total {
		t.Errorf("%d logs stored, want %d", n, total)
	}
	if n := count(t, s, "execution_logs", gone.ID); n != 0 {
		t.Errorf("%d logs of a deleted app stored", n)
	}
}

// Log transactions skip the fsync of each commit (synchronous=NORMAL);
// every other write, before, after or between them and whatever becomes of
// the log transaction, commits with synchronous=FULL.
func TestLogWritesNeverLeaveControlWritesUnsynced(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a := mkApp(t, s, "a")
	pragma := func(q querier) int {
		t.Helper()
		var v int
		if err := q.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	controlSync := func() int {
		t.Helper()
		var v int
		if err := s.write(ctx, func(tx *sql.Tx) error { v = pragma(tx); return nil }); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if err := s.writeLogs(ctx, func(tx *sql.Tx) error {
		if v := pragma(tx); v != 1 {
			t.Errorf("log transaction runs with synchronous=%d, want 1 (NORMAL)", v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if v := controlSync(); v != 2 {
		t.Fatalf("control write after a log write: synchronous=%d, want 2 (FULL)", v)
	}
	// A log transaction that fails, or whose context ends inside it.
	if err := s.writeLogs(ctx, func(*sql.Tx) error { return errors.New("boom") }); err == nil {
		t.Fatal("a failing log transaction reported success")
	}
	if v := controlSync(); v != 2 {
		t.Fatalf("control write after a failed log write: synchronous=%d", v)
	}
	cctx, cancel := context.WithCancel(ctx)
	err := s.writeLogs(cctx, func(tx *sql.Tx) error {
		cancel()
		_, err := tx.ExecContext(cctx, "DELETE FROM execution_logs")
		return err
	})
	if err == nil {
		t.Fatal("a cancelled log transaction reported success")
	}
	if v := controlSync(); v != 2 {
		t.Fatalf("control write after a cancelled log write: synchronous=%d", v)
	}
	// Concurrently: control writes queue behind log writes on the one
	// writer connection and must find it back on FULL every time.
	stop := repeat(t, func() error {
		if err := s.InsertLogs(ctx, logsFor(a.ID, 1, 3, time.Now())); err != nil {
			return err
		}
		return s.PruneLogs(ctx, a.ID, 10)
	})
	for i := 0; i < 200; i++ {
		if v := controlSync(); v != 2 {
			t.Errorf("control write %d ran with synchronous=%d", i, v)
			break
		}
	}
	stop()
}

// repeat calls f in a goroutine, again and again, until the returned stop
// is called (stop waits for it); an error fails the test and ends it.
func repeat(t *testing.T, f func() error) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			if err := f(); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// newestIDs lists the ids of an app's newest n logs, newest first, read
// straight from the table.
func newestIDs(t *testing.T, s *Store, appID int64, n int) []int64 {
	t.Helper()
	ids, err := queryAll(context.Background(), s.r, func(sc scanner) (id int64, err error) { return id, sc.Scan(&id) },
		`SELECT id FROM execution_logs WHERE app_id = ? ORDER BY id DESC LIMIT ?`, appID, n)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// Pruning keeps exactly the newest logs however inserts, prunes, app
// deletions and prunes to other retentions interleave, from many
// goroutines at once.
func TestPruneLogsExactUnderInterleavedWrites(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a, b, gone := mkApp(t, s, "a"), mkApp(t, s, "b"), mkApp(t, s, "gone")
	const keep = 30
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				batch := append(logsFor(a.ID, 1, 1+(w+i)%7, time.Now()), logsFor(b.ID, 2, 1+i%3, time.Now())...)
				if w == 0 {
					batch = append(batch, logsFor(gone.ID, 1, 2, time.Now())...)
				}
				if err := s.InsertLogs(ctx, batch); err != nil {
					t.Error(err)
					return
				}
				app := a.ID
				if i%2 == 1 {
					app = b.ID
				}
				if err := s.PruneLogs(ctx, app, keep+w); err != nil {
					t.Error(err)
					return
				}
				if w == 1 && i == 20 {
					if err := s.DeleteApp(ctx, gone.ID); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, app := range []int64{a.ID, b.ID, gone.ID} {
		for _, k := range []int{keep + 5, keep, 3, 0} {
			want := newestIDs(t, s, app, k)
			if err := s.PruneLogs(ctx, app, k); err != nil {
				t.Fatal(err)
			}
			if got := newestIDs(t, s, app, 1000); !reflect.DeepEqual(got, want) {
				t.Fatalf("app %d pruned to %d: kept %d logs %v, want the newest %v", app, k, len(got), got, want)
			}
		}
	}
}

// Another process writing the same file (adding logs, or pruning them to
// its own retention) never makes this store prune into the newest logs it
// should keep.
func TestPruneLogsWithAnotherWriter(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	a := mkApp(t, s, "a")
	other := rawDB(t, path)
	defer other.Close()
	const keep = 20
	for i := range 12 {
		if err := s.InsertLogs(ctx, logsFor(a.ID, 1, 7, time.Now())); err != nil {
			t.Fatal(err)
		}
		switch i % 3 {
		case 1: // the other process adds logs
			if _, err := other.Exec(`INSERT INTO execution_logs (app_id, script_id, "trigger", started_at)
				SELECT ?, 1, 'route', '2026-01-01T00:00:00.000000000Z' FROM execution_logs LIMIT 5`, a.ID); err != nil {
				t.Fatal(err)
			}
		case 2: // the other process prunes harder
			if _, err := other.Exec(`DELETE FROM execution_logs WHERE id NOT IN (
				SELECT id FROM execution_logs ORDER BY id DESC LIMIT ?)`, keep-4); err != nil {
				t.Fatal(err)
			}
		}
		want := newestIDs(t, s, a.ID, keep)
		if err := s.PruneLogs(ctx, a.ID, keep); err != nil {
			t.Fatal(err)
		}
		if got := newestIDs(t, s, a.ID, 1000); !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: kept %v, want the newest %d: %v", i, got, keep, want)
		}
	}
}

// Runs of logs from one request context (the values shared INSERTs bind
// once per statement) and short runs between them are stored whole and in
// order, whatever the run lengths, whichever single context value changes
// between runs, and when a log of a deleted app sits inside a run.
func TestInsertLogsContextRuns(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a, b, gone := mkApp(t, s, "a"), mkApp(t, s, "b"), mkApp(t, s, "gone")
	if err := s.DeleteApp(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	r1, r2 := int64(1), int64(2)
	contexts := []func(*shared.Log){
		func(*shared.Log) {},
		func(l *shared.Log) { l.AppID = b.ID },
		func(l *shared.Log) { l.ScriptID = 2 },
		func(l *shared.Log) { l.RouteID = &r1 },
		func(l *shared.Log) { l.RouteID = &r2 },
		func(l *shared.Log) { l.Trigger = shared.TriggerExecute },
		func(l *shared.Log) { l.Host = "b.example" },
		func(l *shared.Log) { l.Method = "POST" },
	}
	var batch []shared.Log
	for i, n := range []int{1, 7, 8, 9, 1, 63, 65, 64, 2, 130, 1, 1, 8, 200, 3, 20} {
		for j := range n {
			l := shared.Log{AppID: a.ID, ScriptID: 1, Trigger: shared.TriggerRoute, Host: "a.example", Method: "GET",
				Path: fmt.Sprintf("/%d/%d", i, j), Status: 200 + j%3, DurationUS: int64(j), Operations: int64(i),
				StartedAt: time.Unix(int64(i), int64(j)).UTC()}
			for _, c := range contexts[:1+i%len(contexts)] { // one value more than the run before
				c(&l)
			}
			if j%10 == 9 {
				l.Error, l.Output = "boom", "out\x00"+l.Path
			}
			batch = append(batch, l)
			if j == n/2 && n > 100 {
				batch = append(batch, logsFor(gone.ID, 1, 1, time.Now())...)
			}
		}
	}
	if err := s.InsertLogs(ctx, batch); err != nil {
		t.Fatal(err)
	}
	for _, app := range []int64{a.ID, b.ID} {
		var want []shared.Log
		for _, l := range batch {
			if l.AppID == app {
				want = append(want, l)
			}
		}
		got, err := s.Logs(ctx, app, 0, MaxLogLimit, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("app %d: %d logs stored, want %d", app, len(got), len(want))
		}
		for i, g := range got { // newest first
			w := want[len(want)-1-i]
			w.ID = g.ID
			if !reflect.DeepEqual(g, w) {
				t.Fatalf("app %d: log %d =\n%+v\nwant\n%+v", app, i, g, w)
			}
			if i > 0 && g.ID >= got[i-1].ID {
				t.Fatalf("app %d: ids %d, %d not in the batch's order", app, got[i-1].ID, g.ID)
			}
		}
	}
	if n := count(t, s, "execution_logs", gone.ID); n != 0 {
		t.Errorf("%d logs of a deleted app stored", n)
	}
}

// TestInsertLogsEveryTrigger: each trigger of the contract is stored and
// read back as such (a scheduled run is logged with trigger cron, §9).
func TestInsertLogsEveryTrigger(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a := mkApp(t, s, "a")
	triggers := []string{shared.TriggerRoute, shared.TriggerExecute, shared.TriggerCron}
	batch := logsFor(a.ID, 1, len(triggers), time.Now())
	for i := range batch {
		batch[i].Trigger = triggers[i]
	}
	if err := s.InsertLogs(ctx, batch); err != nil {
		t.Fatal(err)
	}
	got, err := s.Logs(ctx, a.ID, 0, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, l := range got {
		seen = append(seen, l.Trigger)
	}
	slices.Sort(seen)
	if want := []string{"cron", "execute", "route"}; !slices.Equal(seen, want) {
		t.Errorf("triggers stored %q, want %q", seen, want)
	}
}

// Rows written by a shared INSERT (one request context) keep their own
// counts: subrequests is a row's value, not the context's.
func TestInsertLogsSharedRowsKeepSubrequests(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a := mkApp(t, s, "a")
	sc := mkScript(t, s, a.ID, "main")
	var in []shared.Log
	for i := range 2 * minSharedRun {
		in = append(in, shared.Log{AppID: a.ID, ScriptID: sc.ID, Trigger: shared.TriggerRoute, Host: "a.example",
			Method: "GET", Path: "/", Status: 200, Subrequests: i, StartedAt: time.Now()})
	}
	if err := s.InsertLogs(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := s.Logs(ctx, a.ID, 0, 0, 0)
	if err != nil || len(got) != len(in) {
		t.Fatalf("Logs = %d, %v", len(got), err)
	}
	for i, l := range got {
		if want := len(in) - 1 - i; l.Subrequests != want {
			t.Errorf("log %d: subrequests %d, want %d", i, l.Subrequests, want)
		}
	}
}
