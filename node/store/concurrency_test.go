package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud/shared"
)

// Many goroutines writing at once never see "database is locked": writes
// queue for the one writer connection.
func TestConcurrentWritersNeverLocked(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	const writers, rounds = 16, 5
	shared0 := mkApp(t, s, "shared")
	counter := mkScript(t, s, shared0.ID, "counter")

	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds*6)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				slug := fmt.Sprintf("w%d-%d", w, i)
				a, err := s.CreateApp(ctx, shared.App{Slug: slug, Name: slug}, false)
				if err != nil {
					errs <- err
					continue
				}
				if _, err := s.AddDomain(ctx, a.ID, slug+".example", slug+".example"); err != nil {
					errs <- err
				}
				sc, err := s.CreateScript(ctx, shared.Script{AppID: a.ID, Name: "main", Source: "function handle(){}"})
				if err != nil {
					errs <- err
					continue
				}
				if _, err := s.CreateRoute(ctx, shared.Route{AppID: a.ID, ScriptID: sc.ID, Method: "GET", Path: "/"}, nil); err != nil {
					errs <- err
				}
				src := fmt.Sprintf("function handle(){ return %q }", slug)
				if _, err := s.UpdateScript(ctx, counter.ID, shared.UpdateScriptRequest{Source: &src}); err != nil {
					errs <- err
				}
				if err := s.InsertLogs(ctx, logsFor(a.ID, sc.ID, 5, time.Now())); err != nil {
					errs <- err
				}
			}
		}()
	}
	// Readers run beside the writers and must not fail either.
	stop := make(chan struct{})
	var rwg sync.WaitGroup
	for range 2 {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.Snapshot(ctx); err != nil {
					errs <- err
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	wg.Wait()
	close(stop)
	rwg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent write failed: %v", err)
	}
	apps, _ := s.ListApps(ctx)
	if want := 2 + writers*rounds; len(apps) != want {
		t.Errorf("%d apps, want %d", len(apps), want)
	}
	// Every update of the shared script counted: none was lost.
	if sc, _ := s.Script(ctx, counter.ID); sc.Version != 1+writers*rounds {
		t.Errorf("counter version = %d, want %d", sc.Version, 1+writers*rounds)
	}
}

// A snapshot is one consistent state: taken while apps with scripts and
// routes are created and deleted, it never holds a route without its
// script, a script or domain without its app, or counts that disagree.
func TestSnapshotConsistentUnderWrites(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			slug := fmt.Sprintf("churn-%d", i)
			a, err := s.CreateApp(ctx, shared.App{Slug: slug, Name: slug}, false)
			if err != nil {
				t.Error(err)
				return
			}
			s.AddDomain(ctx, a.ID, slug+".example", slug+".example")
			sc, _ := s.CreateScript(ctx, shared.Script{AppID: a.ID, Name: "main", Source: "x"})
			s.CreateRoute(ctx, shared.Route{AppID: a.ID, ScriptID: sc.ID, Method: "GET", Path: "/"}, nil)
			if i%2 == 0 {
				s.DeleteScript(ctx, sc.ID)
			}
			if err := s.DeleteApp(ctx, a.ID); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	deadline := time.Now().Add(500 * time.Millisecond)
	snaps := 0
	for time.Now().Before(deadline) || snaps < 20 {
		snap, err := s.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		snaps++
		apps := map[int64]shared.App{}
		for _, a := range snap.Apps {
			apps[a.ID] = a
		}
		scripts := map[int64]shared.Script{}
		scriptsOf, routesOf, domainsOf := map[int64]int{}, map[int64]int{}, map[int64]int{}
		for _, sc := range snap.Scripts {
			if _, ok := apps[sc.AppID]; !ok {
				t.Fatalf("script %d of missing app %d", sc.ID, sc.AppID)
			}
			scripts[sc.ID] = sc
			scriptsOf[sc.AppID]++
		}
		for _, r := range snap.Routes {
			if sc, ok := scripts[r.ScriptID]; !ok || sc.AppID != r.AppID {
				t.Fatalf("route %d without its script %d", r.ID, r.ScriptID)
			}
			routesOf[r.AppID]++
		}
		for _, d := range snap.Domains {
			if _, ok := apps[d.AppID]; !ok {
				t.Fatalf("domain %d of missing app %d", d.ID, d.AppID)
			}
			domainsOf[d.AppID]++
		}
		for _, a := range snap.Apps {
			if a.ScriptCount != scriptsOf[a.ID] || a.RouteCount != routesOf[a.ID] || a.DomainCount != domainsOf[a.ID] ||
				len(a.Domains) != domainsOf[a.ID] {
				t.Fatalf("app %s counts %d/%d/%d disagree with the snapshot's rows", a.Slug, a.ScriptCount, a.RouteCount, a.DomainCount)
			}
		}
	}
	close(stop)
	wg.Wait()
}

func BenchmarkCreateRoute(b *testing.B) {
	s, _ := openTest(b)
	ctx := context.Background()
	a := mkApp(b, s, "bench")
	sc := mkScript(b, s, a.ID, "main")
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.CreateRoute(ctx, shared.Route{AppID: a.ID, ScriptID: sc.ID, Method: "GET", Path: fmt.Sprintf("/r%d", i)}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInsertLogs100(b *testing.B) {
	s, _ := openTest(b)
	ctx := context.Background()
	a := mkApp(b, s, "bench")
	batch := logsFor(a.ID, 1, 100, time.Now())
	b.ResetTimer()
	for range b.N {
		if err := s.InsertLogs(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSnapshot1000Routes(b *testing.B) {
	s, _ := openTest(b)
	ctx := context.Background()
	for i := range 10 {
		a := mkApp(b, s, fmt.Sprintf("app%d", i))
		sc := mkScript(b, s, a.ID, "main")
		for j := range 100 {
			mkRoute(b, s, a.ID, sc.ID, "GET", fmt.Sprintf("/r%d", j), nil)
		}
	}
	b.ResetTimer()
	for range b.N {
		if _, err := s.Snapshot(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// Two stores on one file (as a second process would be) wait for each
// other's write locks through busy_timeout instead of failing.
func TestTwoStoresOneFile(t *testing.T) {
	s1, path := openTest(t)
	s2 := openAt(t, path)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i, s := range []*Store{s1, s2, s1, s2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 10 {
				slug := fmt.Sprintf("s%d-%d", i, j)
				if _, err := s.CreateApp(ctx, shared.App{Slug: slug, Name: slug}, false); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("write failed: %v", err)
	}
	if apps, _ := s2.ListApps(ctx); len(apps) != 41 {
		t.Errorf("%d apps, want 41", len(apps))
	}
}

// Nodes started twice on one fresh file at the same moment (a crash loop, a
// tool beside the node) migrate and seed it once.
func TestConcurrentOpenOfFreshFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "picloud.db")
	ctx := context.Background()
	const n = 4
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(ctx, path, nil)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open #%d: %v", i, err)
		}
		defer stores[i].Close()
	}
	s := stores[0]
	var versions, migrated int
	s.r.QueryRow(`SELECT count(*), ifnull(max(version), 0) FROM schema_migrations`).Scan(&migrated, &versions)
	if migrated != versions || versions != s.SchemaVersion() {
		t.Errorf("%d migration rows for schema %d", migrated, versions)
	}
	apps, _ := s.ListApps(ctx)
	scripts, _ := s.Scripts(ctx, 0)
	if len(apps) != 1 || len(scripts) != 1 {
		t.Errorf("%d apps and %d scripts after concurrent opens, want 1 and 1", len(apps), len(scripts))
	}
}

// Logs carry no foreign key on their app (migration 0004): the store alone
// keeps logs of deleted apps out. Batches that mix a lasting app's logs
// with those of apps deleted at the same moment keep every log of the
// lasting app and leave no log without its app.
func TestLogsOfAppsDeletedWhileLogging(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	kept := mkApp(t, s, "kept")
	const rounds = 200
	churn := make(chan int64, rounds)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for id := range churn {
			if err := s.DeleteApp(ctx, id); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	want := 0
	for i := range rounds {
		a := mkApp(t, s, fmt.Sprintf("churn-%d", i))
		churn <- a.ID // deleted before, during or after the batch
		batch := append(logsFor(kept.ID, 1, 3, time.Now()), logsFor(a.ID, 1, 5+i%70, time.Now())...)
		batch = append(batch, logsFor(kept.ID, 1, 2, time.Now())...)
		if err := s.InsertLogs(ctx, batch); err != nil {
			t.Fatal(err)
		}
		want += 5
	}
	close(churn)
	wg.Wait()
	if n := count(t, s, "execution_logs", kept.ID); n != want {
		t.Errorf("%d logs of the lasting app, want %d", n, want)
	}
	var orphans int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM execution_logs
		WHERE app_id NOT IN (SELECT id FROM apps)`).Scan(&orphans); err != nil {
		t.Fatal(err)
	}
	if orphans != 0 {
		t.Errorf("%d logs of deleted apps left", orphans)
	}
}
