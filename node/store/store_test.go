package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/shared"
)

// openAt opens the store at path and closes it at the end of the test.
func openAt(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openTest opens a fresh store in t.TempDir.
func openTest(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "picloud.db")
	return openAt(t, path), path
}

func mkApp(t testing.TB, s *Store, slug string) shared.App {
	t.Helper()
	a, err := s.CreateApp(context.Background(), shared.App{Slug: slug, Name: "App " + slug}, false)
	if err != nil {
		t.Fatalf("CreateApp(%s): %v", slug, err)
	}
	return a
}

func mkDomain(t testing.TB, s *Store, appID int64, pattern string) shared.Domain {
	t.Helper()
	norm, shape, err := shared.NormalizeDomain(pattern)
	if err != nil {
		t.Fatalf("NormalizeDomain(%s): %v", pattern, err)
	}
	d, err := s.AddDomain(context.Background(), appID, norm, shape)
	if err != nil {
		t.Fatalf("AddDomain(%s): %v", pattern, err)
	}
	return d
}

func mkScript(t testing.TB, s *Store, appID int64, name string) shared.Script {
	t.Helper()
	sc, err := s.CreateScript(context.Background(), shared.Script{AppID: appID, Name: name,
		Source: "function handle(req) { return " + fmt.Sprintf("%q", name) + "; }"})
	if err != nil {
		t.Fatalf("CreateScript(%s): %v", name, err)
	}
	return sc
}

func mkRoute(t testing.TB, s *Store, appID, scriptID int64, method, path string, host *string) shared.Route {
	t.Helper()
	r, err := s.CreateRoute(context.Background(), shared.Route{AppID: appID, ScriptID: scriptID, Method: method, Path: path, Host: host}, nil)
	if err != nil {
		t.Fatalf("CreateRoute(%s %s): %v", method, path, err)
	}
	return r
}

func ptr[T any](v T) *T { return &v }

// wantCode fails unless err is a *shared.Error with status and code.
func wantCode(t testing.TB, err error, status int, code string) *shared.Error {
	t.Helper()
	e, ok := shared.AsError(err)
	if !ok {
		t.Fatalf("error = %v (%T), want *shared.Error %d %s", err, err, status, code)
	}
	if e.Status != status || e.Code != code {
		t.Fatalf("error = %d %s (%v), want %d %s", e.Status, e.Code, e, status, code)
	}
	return e
}

// dump renders every row of every table, to check that a rejected write
// left the database exactly as it was.
func dump(t testing.TB, s *Store) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	for _, table := range []string{"apps", "app_domains", "app_slug_history", "scripts", "routes", "execution_logs", "meta", "schema_migrations"} {
		rows, err := s.r.QueryContext(ctx, "SELECT * FROM "+table+" ORDER BY 1")
		if err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		fmt.Fprintf(&b, "%s %v\n", table, cols)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("dump %s: %v", table, err)
			}
			fmt.Fprintf(&b, "  %v\n", vals)
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		rows.Close()
	}
	return b.String()
}

func TestOpenSettings(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	for _, db := range []*sql.DB{s.w, s.r} {
		var mode string
		var fk, timeout int
		if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&timeout); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || fk != 1 || timeout != int(busyTimeout/time.Millisecond) {
			t.Errorf("journal_mode=%s foreign_keys=%d busy_timeout=%d", mode, fk, timeout)
		}
	}
	var sync int
	if err := s.w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if sync != 2 {
		t.Errorf("writer synchronous = %d, want 2 (FULL)", sync)
	}
	if _, err := s.r.ExecContext(ctx, "DELETE FROM apps"); err == nil {
		t.Error("the read pool accepted a write")
	}
}

func TestOpenRejectsBadPath(t *testing.T) {
	_, err := Open(context.Background(), filepath.Join(t.TempDir(), "a?b.db"), nil)
	if err == nil {
		t.Fatal("Open accepted a path with '?'")
	}
	_, err = Open(context.Background(), filepath.Join(t.TempDir(), "missing", "dir", "x.db"), nil)
	if err == nil {
		t.Fatal("Open of a file in a missing directory succeeded")
	}
}

func TestOpenSeedsDefaultApp(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a, err := s.App(ctx, shared.DefaultAppSlug)
	if err != nil {
		t.Fatal(err)
	}
	if got := domainPatterns(a); !slices.Equal(got, []string{"localhost", "127.0.0.1", "::1"}) {
		t.Fatalf("default app domains = %q, want localhost, 127.0.0.1 and ::1", got)
	}
	scripts, err := s.Scripts(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(scripts) != 1 || scripts[0].Name != "hello-world" || scripts[0].Version != 1 {
		t.Fatalf("scripts = %+v", scripts)
	}
	if !strings.Contains(scripts[0].Source, `"Hello, World!"`) || !strings.Contains(scripts[0].Source, "function handle(") {
		t.Errorf("seed source does not answer Hello, World!:\n%s", scripts[0].Source)
	}
	if scripts[0].Sandbox == nil || len(scripts[0].Sandbox) != 0 {
		t.Errorf("seed sandbox = %#v, want empty overrides", scripts[0].Sandbox)
	}
	rs, err := s.Routes(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Method != "GET" || rs[0].Path != "/" || rs[0].Host != nil || rs[0].ScriptID != scripts[0].ID {
		t.Fatalf("routes = %+v", rs)
	}
	if a.ScriptCount != 1 || a.RouteCount != 1 || a.DomainCount != 3 {
		t.Errorf("counts = %d scripts, %d routes, %d domains", a.ScriptCount, a.RouteCount, a.DomainCount)
	}
}

func TestSeedIdempotentAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "picloud.db")
	ctx := context.Background()
	var first string
	for i := range 3 {
		s, err := Open(ctx, path, nil)
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		got := dump(t, s)
		s.Close()
		if i == 0 {
			first = got
		} else if got != first {
			t.Fatalf("reopen #%d changed the database:\n%s\nwant\n%s", i+1, got, first)
		}
	}
}

func TestSeedNeverReturnsOnceDeleted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "picloud.db")
	ctx := context.Background()
	s, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	def, err := s.App(ctx, shared.DefaultAppSlug)
	if err != nil {
		t.Fatal(err)
	}
	scripts, _ := s.Scripts(ctx, def.ID)
	if err := s.DeleteScript(ctx, scripts[0].ID); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = openAt(t, path)
	scripts, err = s.Scripts(ctx, def.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(scripts) != 0 {
		t.Fatalf("hello-world came back after restart: %+v", scripts)
	}
	rs, _ := s.Routes(ctx, def.ID)
	if len(rs) != 0 {
		t.Fatalf("routes after restart: %+v", rs)
	}
}

func TestSeedSkippedWhenDefaultAppHasScripts(t *testing.T) {
	// A database whose default app got scripts before the seed flag existed
	// (e.g. restored from elsewhere) is not seeded on top of them.
	path := filepath.Join(t.TempDir(), "picloud.db")
	ctx := context.Background()
	s := openAt(t, path)
	def, _ := s.App(ctx, shared.DefaultAppSlug)
	scripts, _ := s.Scripts(ctx, def.ID)
	if err := s.DeleteScript(ctx, scripts[0].ID); err != nil {
		t.Fatal(err)
	}
	mine := mkScript(t, s, def.ID, "mine")
	if _, err := s.w.ExecContext(ctx, `DELETE FROM meta WHERE key = ?`, metaDefaultHadScript); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = openAt(t, path)
	scripts, err := s.Scripts(ctx, def.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(scripts) != 1 || scripts[0].ID != mine.ID {
		t.Fatalf("scripts = %+v, want only %q", scripts, mine.Name)
	}
}

func TestSchemaVersion(t *testing.T) {
	s, _ := openTest(t)
	ms, err := loadMigrations(migrationsFS())
	if err != nil {
		t.Fatal(err)
	}
	if s.SchemaVersion() != len(ms) || len(ms) < 1 {
		t.Fatalf("SchemaVersion = %d, migrations = %d", s.SchemaVersion(), len(ms))
	}
	snap, err := s.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Schema != len(ms) {
		t.Fatalf("Snapshot.Schema = %d", snap.Schema)
	}
}

// errorsAs is errors.As for tests that want a specific error type.
func errorsAs[T error](err error) (T, bool) {
	var target T
	ok := errors.As(err, &target)
	return target, ok
}

func domainPatterns(a shared.App) []string {
	var out []string
	for _, d := range a.Domains {
		out = append(out, d.Pattern)
	}
	return out
}
