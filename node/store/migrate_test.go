package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/picloud/picloud/migrations"
	"github.com/picloud/picloud/shared"
)

func migrationsFS() fs.FS { return migrations.FS }

// rawDB opens path without the store, for building databases at a given
// schema version.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	return db
}

// schemaOf lists a database's tables, indexes and triggers with their SQL.
func schemaOf(t *testing.T, path string) string {
	t.Helper()
	db := rawDB(t, path)
	defer db.Close()
	rows, err := db.Query(`SELECT type, name, tbl_name, ifnull(sql, '') FROM sqlite_master
		WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var typ, name, tbl, sqlText string
		if err := rows.Scan(&typ, &name, &tbl, &sqlText); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s on %s: %s\n", typ, name, tbl, sqlText)
	}
	return b.String()
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// checkCanonicalData reads the data set of testdata/fixtures back through
// the store and compares every value.
func checkCanonicalData(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	shop, err := s.App(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	wantShop := shared.App{ID: 2, Slug: "shop", Name: "Shop", Description: "The shop",
		CreatedAt: ts("2026-01-02T10:00:00Z"), UpdatedAt: ts("2026-01-03T11:00:00.5Z"),
		Domains: []shared.Domain{
			{ID: 2, AppID: 2, Pattern: "*.shop.example", CreatedAt: ts("2026-01-02T10:01:00Z")},
			{ID: 3, AppID: 2, Pattern: "xn--bcher-kva.example", CreatedAt: ts("2026-01-02T10:02:00Z")},
		},
		ScriptCount: 2, RouteCount: 2, DomainCount: 2}
	if !reflect.DeepEqual(shop, wantShop) {
		t.Errorf("shop =\n%+v\nwant\n%+v", shop, wantShop)
	}
	if old, err := s.AppByOldSlug(ctx, "old-shop"); err != nil || old.ID != 2 {
		t.Errorf("AppByOldSlug(old-shop) = %d, %v", old.ID, err)
	}
	scripts, err := s.Scripts(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	wantScripts := []shared.Script{
		{ID: 1, AppID: 2, AppSlug: "shop", Name: "cart", Description: "Cart API",
			Source: `function handle(req) { return "cart " + req.params.id; }`, Sandbox: shared.Overrides{"max_operations": 500},
			MemoryLimitMB: 64, Version: 3, CreatedAt: ts("2026-01-02T10:03:00Z"), UpdatedAt: ts("2026-01-02T12:00:00Z")},
		{ID: 2, AppID: 2, AppSlug: "shop", Name: "home", Source: `function handle(req) { return "home"; }`,
			Sandbox: shared.Overrides{}, Version: 1, CreatedAt: ts("2026-01-02T10:04:00Z"), UpdatedAt: ts("2026-01-02T10:04:00Z")},
	}
	if !reflect.DeepEqual(scripts, wantScripts) {
		t.Errorf("scripts =\n%+v\nwant\n%+v", scripts, wantScripts)
	}
	routes, err := s.Routes(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	wantRoutes := []shared.Route{
		{ID: 1, AppID: 2, ScriptID: 1, Method: "GET", Path: "/cart/:id", Host: ptr("api.shop.example"), CreatedAt: ts("2026-01-02T10:05:00Z")},
		{ID: 2, AppID: 2, ScriptID: 2, Method: "ANY", Path: "/", CreatedAt: ts("2026-01-02T10:06:00Z")},
	}
	if !reflect.DeepEqual(routes, wantRoutes) {
		t.Errorf("routes =\n%+v\nwant\n%+v", routes, wantRoutes)
	}
	logs, err := s.Logs(ctx, 2, 0, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantLogs := []shared.Log{
		{ID: 2, AppID: 2, ScriptID: 99, Trigger: "execute", Host: "__internal__", Method: "POST", Path: "/", Status: 500,
			DurationUS: 99, Operations: 7, Error: "ReferenceError: x is not defined", StartedAt: ts("2026-01-02T13:00:01Z")},
		{ID: 1, AppID: 2, ScriptID: 1, RouteID: ptr(int64(1)), Trigger: "route", Host: "api.shop.example", Method: "GET",
			Path: "/cart/7", Status: 200, DurationUS: 1234, Operations: 56, Output: "hit /cart/7\n", StartedAt: ts("2026-01-02T13:00:00.000001Z")},
	}
	if !reflect.DeepEqual(logs, wantLogs) {
		t.Errorf("logs =\n%+v\nwant\n%+v", logs, wantLogs)
	}
	// The default app had its scripts once: no seeding on upgrade.
	if def, err := s.App(ctx, "default"); err != nil || def.ID != 1 || def.ScriptCount != 0 {
		t.Errorf("default app = %+v, %v; want id 1 without scripts", def, err)
	}
	// Ids keep counting where the old database left off.
	sc := mkScript(t, s, 2, "new")
	if sc.ID != 11 {
		t.Errorf("new script id = %d, want 11", sc.ID)
	}
}

// TestMigrationsUpgradeKeepsData builds a database at every earlier schema
// version, fills it with the canonical data set of that version, opens it
// with the current binary and checks the data survived and the schema
// matches a fresh install.
func TestMigrationsUpgradeKeepsData(t *testing.T) {
	ms, err := loadMigrations(migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	freshPath := filepath.Join(t.TempDir(), "fresh.db")
	openAt(t, freshPath).Close()
	fresh := schemaOf(t, freshPath)

	for from := 0; from < len(ms); from++ {
		t.Run(fmt.Sprintf("from_v%d", from), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "picloud.db")
			db := rawDB(t, path)
			v, err := migrate(ctx, db, migrations.FS, from, slog.New(slog.DiscardHandler))
			if err != nil || v != from {
				t.Fatalf("migrate to %d: version %d, %v", from, v, err)
			}
			if from > 0 {
				fixture := filepath.Join("testdata", "fixtures", fmt.Sprintf("%04d.sql", from))
				b, err := os.ReadFile(fixture)
				if err != nil {
					t.Fatalf("every schema version but the newest needs a fixture: %v", err)
				}
				if _, err := db.ExecContext(ctx, string(b)); err != nil {
					t.Fatalf("load %s: %v", fixture, err)
				}
			}
			db.Close()

			s := openAt(t, path)
			if s.SchemaVersion() != len(ms) {
				t.Fatalf("SchemaVersion = %d, want %d", s.SchemaVersion(), len(ms))
			}
			rows, err := s.r.QueryContext(ctx, `SELECT version, name FROM schema_migrations ORDER BY version`)
			if err != nil {
				t.Fatal(err)
			}
			var recorded []string
			for rows.Next() {
				var v int
				var name string
				rows.Scan(&v, &name)
				recorded = append(recorded, fmt.Sprintf("%d %s", v, name))
			}
			rows.Close()
			var want []string
			for _, m := range ms {
				want = append(want, fmt.Sprintf("%d %s", m.version, m.name))
			}
			if !reflect.DeepEqual(recorded, want) {
				t.Errorf("schema_migrations = %q, want %q", recorded, want)
			}
			if from == 0 {
				if def, err := s.App(ctx, "default"); err != nil || def.ScriptCount != 1 {
					t.Errorf("fresh database not seeded: %+v, %v", def, err)
				}
			} else {
				checkCanonicalData(t, s)
			}
			s.Close()
			if got := schemaOf(t, path); got != fresh {
				t.Errorf("schema after upgrade differs from a fresh install:\n%s\nwant\n%s", got, fresh)
			}
		})
	}
}

func TestMigrationsRefuseNewerDatabase(t *testing.T) {
	s, path := openTest(t)
	binary := s.SchemaVersion()
	if _, err := s.w.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future.sql', '2030-01-01T00:00:00Z')`, binary+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	before := schemaOf(t, path)

	_, err := Open(context.Background(), path, nil)
	tooNew, ok := errorsAs[*SchemaTooNewError](err)
	if !ok {
		t.Fatalf("Open = %v, want *SchemaTooNewError", err)
	}
	if tooNew.Database != binary+1 || tooNew.Binary != binary {
		t.Fatalf("error = %+v", tooNew)
	}
	msg := err.Error()
	if !strings.Contains(msg, fmt.Sprint(binary+1)) || !strings.Contains(msg, fmt.Sprint(binary)) || !strings.Contains(msg, "newer") {
		t.Errorf("message %q does not name both versions", msg)
	}
	if after := schemaOf(t, path); after != before {
		t.Error("refused database was changed")
	}
}

func TestMigrationFailureRollsBack(t *testing.T) {
	first, err := fs.ReadFile(migrations.FS, "0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{
		"0001_init.sql":   {Data: first},
		"0002_broken.sql": {Data: []byte("CREATE TABLE half_done (a INTEGER NOT NULL);\nINSERT INTO half_done VALUES (NULL);")},
	}
	path := filepath.Join(t.TempDir(), "picloud.db")
	db := rawDB(t, path)
	defer db.Close()
	ctx := context.Background()
	v, err := migrate(ctx, db, fsys, -1, slog.New(slog.DiscardHandler))
	if err == nil {
		t.Fatal("broken migration applied")
	}
	if !strings.Contains(err.Error(), "0002_broken.sql") {
		t.Errorf("error %q does not name the migration", err)
	}
	if v != 1 {
		t.Errorf("version after failure = %d, want 1", v)
	}
	if got, _ := schemaVersion(ctx, db); got != 1 {
		t.Errorf("recorded version = %d, want 1", got)
	}
	var n int
	db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'half_done'`).Scan(&n)
	if n != 0 {
		t.Error("a failed migration left a table behind")
	}
}

func TestLoadMigrationsRejectsBadNumbering(t *testing.T) {
	sql := &fstest.MapFile{Data: []byte("SELECT 1;")}
	for name, fsys := range map[string]fstest.MapFS{
		"gap":       {"0001_a.sql": sql, "0003_c.sql": sql},
		"repeat":    {"0001_a.sql": sql, "0001_b.sql": sql},
		"zero":      {"0000_a.sql": sql},
		"no number": {"init.sql": sql},
	} {
		if _, err := loadMigrations(fsys); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if ms, err := loadMigrations(fstest.MapFS{"0002_b.sql": sql, "0001_a.sql": sql, "README": sql}); err != nil || len(ms) != 2 || ms[0].version != 1 {
		t.Errorf("good set: %+v, %v", ms, err)
	}
}
