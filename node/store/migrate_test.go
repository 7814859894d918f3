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
	"slices"
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
func rawDB(t testing.TB, path string) *sql.DB {
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
	// Scripts from before versions were kept start their history at what
	// they hold.
	if vs, err := s.ScriptVersions(ctx, 1); err != nil || len(vs) != 1 || vs[0].Version != 3 ||
		vs[0].Source != wantScripts[0].Source || !reflect.DeepEqual(vs[0].Sandbox, wantScripts[0].Sandbox) {
		t.Errorf("versions of an upgraded script = %+v, %v", vs, err)
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
	// The default app had its scripts once: no seeding on upgrade. It
	// claims the loopback addresses too (0010).
	if def, err := s.App(ctx, "default"); err != nil || def.ID != 1 || def.ScriptCount != 0 {
		t.Errorf("default app = %+v, %v; want id 1 without scripts", def, err)
	} else if got := domainPatterns(def); !slices.Equal(got, []string{"localhost", "127.0.0.1", "::1"}) {
		t.Errorf("default app claims %q, want localhost, 127.0.0.1 and ::1", got)
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

// TestMigration3KeepsLogsUsable upgrades a schema-2 database holding logs
// (and the statistics a closed node leaves) to the single log index of
// 0003: every log is kept, pages with and without a script and prunes
// still return what they did, and the file passes integrity_check.
func TestMigration3KeepsLogsUsable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "picloud.db")
	db := rawDB(t, path)
	if v, err := migrate(ctx, db, migrations.FS, 2, slog.New(slog.DiscardHandler)); err != nil || v != 2 {
		t.Fatalf("migrate to 2: version %d, %v", v, err)
	}
	// Apps 2 and 3 take turns; app 2's script 29 is rare (1 log in 500).
	const at = `'2026-01-02T10:00:00.000000000Z'`
	for _, q := range []string{
		`INSERT INTO apps (id, slug, name, created_at, updated_at) VALUES
			(1, 'default', 'Default', ` + at + `, ` + at + `), (2, 'a', 'A', ` + at + `, ` + at + `),
			(3, 'b', 'B', ` + at + `, ` + at + `)`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000)
		INSERT INTO execution_logs (app_id, script_id, "trigger", path, status, started_at)
		SELECT 2 + i % 2, CASE WHEN i % 1000 = 0 THEN 29 ELSE 10 * (2 + i % 2) + i % 3 END,
			'route', '/' || i, 200, ` + at + ` FROM n ORDER BY i`,
		`ANALYZE`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// What the logs of every app and script are, newest first, before the
	// upgrade.
	want := map[[2]int64][]int64{}
	rows, err := db.QueryContext(ctx, `SELECT app_id, script_id, id FROM execution_logs ORDER BY id DESC`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var app, script, id int64
		if err := rows.Scan(&app, &script, &id); err != nil {
			t.Fatal(err)
		}
		want[[2]int64{app, 0}] = append(want[[2]int64{app, 0}], id)
		want[[2]int64{app, script}] = append(want[[2]int64{app, script}], id)
	}
	rows.Close()
	db.Close()
	if len(want[[2]int64{2, 29}]) != 6 || len(want[[2]int64{2, 0}]) != 3000 {
		t.Fatalf("data set: %d logs of the rare script, %d of app 2", len(want[[2]int64{2, 29}]), len(want[[2]int64{2, 0}]))
	}

	s := openAt(t, path)
	if s.SchemaVersion() < 3 {
		t.Fatalf("SchemaVersion = %d", s.SchemaVersion())
	}
	var indexes []string
	rows, err = s.r.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'execution_logs'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		rows.Scan(&name)
		indexes = append(indexes, name)
	}
	rows.Close()
	if !reflect.DeepEqual(indexes, []string{logIndex}) {
		t.Errorf("indexes of execution_logs = %q, want only %s", indexes, logIndex)
	}
	checkPages := func(when string) {
		t.Helper()
		for key, ids := range want {
			for _, limit := range []int{7, MaxLogLimit} {
				if got := pageThrough(t, s, key[0], key[1], limit); !reflect.DeepEqual(got, ids) {
					t.Errorf("%s: logs of app %d script %d in pages of %d: %d logs %v..., want %d %v...",
						when, key[0], key[1], limit, len(got), got[:min(3, len(got))], len(ids), ids[:min(3, len(ids))])
				}
			}
		}
	}
	checkPages("after the upgrade")
	checkIntegrity(t, s)

	const keep = 1000
	if err := s.PruneLogs(ctx, 2, keep); err != nil {
		t.Fatal(err)
	}
	for key, ids := range want {
		if key[0] != 2 {
			continue
		}
		cut := want[[2]int64{2, 0}][keep-1] // the oldest log kept
		var kept []int64
		for _, id := range ids {
			if id >= cut {
				kept = append(kept, id)
			}
		}
		want[key] = kept
	}
	if n := len(want[[2]int64{2, 0}]); n != keep {
		t.Fatalf("expected %d logs of app 2 kept, computed %d", keep, n)
	}
	checkPages("after pruning app 2")

	if err := s.DeleteApp(ctx, 3); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM execution_logs WHERE app_id = 3`).Scan(&left); err != nil || left != 0 {
		t.Errorf("logs of the deleted app 3: %d, %v", left, err)
	}
	checkIntegrity(t, s)
}

// pageThrough reads every log of an app (of one script, unless scriptID is
// 0) page by page, as a client following the before cursor would, and
// returns their ids.
func pageThrough(t *testing.T, s *Store, appID, scriptID int64, limit int) []int64 {
	t.Helper()
	var ids []int64
	before := int64(0)
	for {
		page, err := s.Logs(context.Background(), appID, scriptID, limit, before)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range page {
			if l.AppID != appID || (scriptID != 0 && l.ScriptID != scriptID) {
				t.Fatalf("log %d of app %d script %d in a page of app %d script %d", l.ID, l.AppID, l.ScriptID, appID, scriptID)
			}
			ids = append(ids, l.ID)
		}
		if len(page) < limit {
			return ids
		}
		before = page[len(page)-1].ID
	}
}

func checkIntegrity(t *testing.T, s *Store) {
	t.Helper()
	var res string
	if err := s.w.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Errorf("integrity_check = %q, %v", res, err)
	}
}

// logRows is every column of every execution log, in id order, as text.
func logRows(t *testing.T, q querier) []string {
	t.Helper()
	rows, err := q.QueryContext(context.Background(), `SELECT id, app_id, script_id, quote(route_id), "trigger", host,
		method, path, status, duration_us, operations, error, output, started_at FROM execution_logs ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v [14]any
		ptrs := make([]any, len(v))
		for i := range v {
			ptrs[i] = &v[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%#v", v))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// logSequence is execution_logs' AUTOINCREMENT counter; no row counts as 0,
// as AUTOINCREMENT takes it.
func logSequence(t *testing.T, q querier) int64 {
	t.Helper()
	var seq int64
	err := q.QueryRowContext(context.Background(), `SELECT seq FROM sqlite_sequence WHERE name = 'execution_logs'`).Scan(&seq)
	if err != nil && err != sql.ErrNoRows {
		t.Fatal(err)
	}
	return seq
}

// TestMigration4DropsTheLogsAppKey upgrades schema-3 databases holding
// logs to execution_logs without a foreign key on app_id: the table keeps
// every column exactly, every log with its id, the sequence (above max(id)
// when the newest logs were deleted: no id is ever handed out twice) and
// its index; deleting an app deletes exactly its logs.
func TestMigration4DropsTheLogsAppKey(t *testing.T) {
	for _, tc := range []struct {
		name     string
		logs     int
		deleteAt int64 // logs with an id from here on are deleted before the upgrade (0: none)
	}{
		{"newest logs deleted", 3000, 2991},
		{"every log deleted", 500, 1},
		{"no log ever", 0, 0},
		{"nothing deleted", 1000, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "picloud.db")
			db := rawDB(t, path)
			if v, err := migrate(ctx, db, migrations.FS, 3, slog.New(slog.DiscardHandler)); err != nil || v != 3 {
				t.Fatalf("migrate to 3: version %d, %v", v, err)
			}
			// Apps 2 and 3 take turns; every column varies.
			const at = `'2026-01-02T10:00:00.000000000Z'`
			stmts := []string{
				`INSERT INTO apps (id, slug, name, created_at, updated_at) VALUES
					(1, 'default', 'Default', ` + at + `, ` + at + `), (2, 'a', 'A', ` + at + `, ` + at + `),
					(3, 'b', 'B', ` + at + `, ` + at + `)`,
				fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
				INSERT INTO execution_logs (app_id, script_id, route_id, "trigger", host, method, path, status,
					duration_us, operations, error, output, started_at)
				SELECT 2 + i %% 2, 10 * (2 + i %% 2) + i %% 3, CASE WHEN i %% 4 = 0 THEN NULL ELSE i %% 7 END,
					CASE WHEN i %% 4 = 0 THEN 'execute' ELSE 'route' END, 'h' || i %% 5, 'GET', '/' || i,
					200 + i %% 3, i, 10 * i, CASE WHEN i %% 9 = 0 THEN 'boom ' || i ELSE '' END,
					CASE WHEN i %% 2 = 0 THEN 'out' || char(10) ELSE '' END,
					strftime('%%Y-%%m-%%dT%%H:%%M:%%S.000000000Z', 1767225600 + i, 'unixepoch')
				FROM n WHERE %[1]d > 0 ORDER BY i`, tc.logs),
			}
			if tc.deleteAt > 0 {
				stmts = append(stmts, fmt.Sprintf(`DELETE FROM execution_logs WHERE id >= %d`, tc.deleteAt))
			}
			stmts = append(stmts, `ANALYZE`)
			for _, q := range stmts {
				if _, err := db.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			wantRows, wantSeq := logRows(t, db), logSequence(t, db)
			if tc.logs > 0 && wantSeq != int64(tc.logs) {
				t.Fatalf("setup: sequence %d, want %d", wantSeq, tc.logs)
			}
			var oldSQL string
			if err := db.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE name = 'execution_logs'`).Scan(&oldSQL); err != nil {
				t.Fatal(err)
			}
			want := map[[2]int64][]int64{} // log ids of every app and script, newest first
			for app := int64(2); app <= 3; app++ {
				for _, script := range []int64{0, 10 * app, 10*app + 1, 10*app + 2} {
					q := `SELECT id FROM execution_logs WHERE app_id = ? AND (? = 0 OR script_id = ?) ORDER BY id DESC`
					ids, err := queryAll(ctx, db, func(sc scanner) (id int64, err error) { return id, sc.Scan(&id) }, q, app, script, script)
					if err != nil {
						t.Fatal(err)
					}
					want[[2]int64{app, script}] = ids
				}
			}
			db.Close()

			s := openAt(t, path)
			if s.SchemaVersion() < 4 {
				t.Fatalf("SchemaVersion = %d", s.SchemaVersion())
			}
			if got := logRows(t, s.w); !reflect.DeepEqual(got, wantRows) {
				t.Errorf("logs after the upgrade differ: %d rows, want %d", len(got), len(wantRows))
			}
			if got := logSequence(t, s.w); got != wantSeq {
				t.Errorf("sequence after the upgrade = %d, want %d", got, wantSeq)
			}
			for key, ids := range want {
				for _, limit := range []int{7, MaxLogLimit} {
					if got := pageThrough(t, s, key[0], key[1], limit); !slices.Equal(got, ids) {
						t.Errorf("logs of app %d script %d in pages of %d: %d logs, want %d", key[0], key[1], limit, len(got), len(ids))
					}
				}
			}

			// The table is 0001's, less the key, with trigger cron allowed
			// (0006) and subrequests added (0009): same columns, types,
			// defaults, NOT NULLs and CHECKs, in the same text.
			var newSQL string
			if err := s.r.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE name = 'execution_logs'`).Scan(&newSQL); err != nil {
				t.Fatal(err)
			}
			wantSQL := strings.Replace(oldSQL, " REFERENCES apps (id) ON DELETE CASCADE", "", 1)
			wantSQL = strings.Replace(wantSQL, "('route', 'execute')", "('route', 'execute', 'cron')", 1)
			wantSQL = strings.TrimSuffix(wantSQL, ")") + ", subrequests INTEGER NOT NULL DEFAULT 0)"
			if gotSQL := strings.Replace(newSQL, `"execution_logs"`, "execution_logs", 1); gotSQL != wantSQL || wantSQL == oldSQL {
				t.Errorf("execution_logs after the upgrade:\n%s\nwant\n%s", newSQL, wantSQL)
			}
			var keys int
			if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM pragma_foreign_key_list('execution_logs')`).Scan(&keys); err != nil || keys != 0 {
				t.Errorf("execution_logs has %d foreign keys (%v), want none", keys, err)
			}
			var cols []string
			rows, err := s.r.QueryContext(ctx, `SELECT i.name FROM sqlite_master m, pragma_index_info(m.name) i
				WHERE m.type = 'index' AND m.tbl_name = 'execution_logs' ORDER BY m.name, i.seqno`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var c string
				rows.Scan(&c)
				cols = append(cols, c)
			}
			rows.Close()
			if !reflect.DeepEqual(cols, []string{"app_id", "id", "script_id"}) {
				t.Errorf("indexes of execution_logs cover %q, want only %s (app_id, id, script_id)", cols, logIndex)
			}
			if plan := strings.Join(queryPlan(t, s.r, deleteAppLogsSQL, 3), "; "); !strings.Contains(plan, "USING INDEX "+logIndex+" (app_id=?)") {
				t.Errorf("plan of deleting an app's logs: %s", plan)
			}
			// Dropping the old table dropped its statistics; opening the
			// store (PRAGMA optimize) takes them again.
			var stats int
			if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_stat1 WHERE idx = ?`, logIndex).Scan(&stats); err != nil {
				t.Fatal(err)
			}
			if len(wantRows) > 0 && stats != 1 {
				t.Errorf("statistics of %s after the upgrade: %d rows, want 1", logIndex, stats)
			}
			checkIntegrity(t, s)
			checkForeignKeys(t, s)

			// New ids continue the old sequence.
			if err := s.InsertLogs(ctx, logsFor(2, 20, 1, time.Now())); err != nil {
				t.Fatal(err)
			}
			page, err := s.Logs(ctx, 2, 0, 1, 0)
			if err != nil || len(page) != 1 || page[0].ID != wantSeq+1 {
				t.Fatalf("log inserted after the upgrade: %+v, %v; want id %d", page, err, wantSeq+1)
			}
			want[[2]int64{2, 0}] = append([]int64{page[0].ID}, want[[2]int64{2, 0}]...)

			// Deleting app 3 deletes its logs, and no other.
			if err := s.DeleteApp(ctx, 3); err != nil {
				t.Fatal(err)
			}
			if n := count(t, s, "execution_logs", 3); n != 0 {
				t.Errorf("%d logs of the deleted app 3 left", n)
			}
			if got := pageThrough(t, s, 2, 0, MaxLogLimit); !slices.Equal(got, want[[2]int64{2, 0}]) {
				t.Errorf("logs of app 2 after deleting app 3: %d, want %d", len(got), len(want[[2]int64{2, 0}]))
			}
			checkIntegrity(t, s)
			checkForeignKeys(t, s)
		})
	}
}

func checkForeignKeys(t *testing.T, s *Store) {
	t.Helper()
	rows, err := s.w.Query(`PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if rows.Next() {
		t.Error("foreign_key_check reports rows breaking a foreign key")
	}
}

// BenchmarkMigration4 measures the upgrade to schema 4 of a database holding
// 100,000 logs (ten apps at the default retention): ns/op is one upgrade.
func BenchmarkMigration4(b *testing.B) {
	ctx := context.Background()
	const logs = 100_000
	src := filepath.Join(b.TempDir(), "v3.db")
	db := rawDB(b, src)
	if v, err := migrate(ctx, db, migrations.FS, 3, slog.New(slog.DiscardHandler)); err != nil || v != 3 {
		b.Fatalf("migrate to 3: version %d, %v", v, err)
	}
	for _, q := range []string{
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)
		INSERT INTO apps (id, slug, name, created_at, updated_at) SELECT i, 'app' || i, 'x', '', '' FROM n`,
		fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)
		INSERT INTO execution_logs (app_id, script_id, route_id, "trigger", host, method, path, status, duration_us,
			operations, started_at)
		SELECT 1 + i %% 10, 1, 1, 'route', 'a.example', 'GET', '/' || i, 200, i, 10 * i,
			'2026-01-02T10:00:00.000000000Z' FROM n`, logs),
		`PRAGMA wal_checkpoint(TRUNCATE)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	db.Close()
	image, err := os.ReadFile(src)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		path := filepath.Join(b.TempDir(), "picloud.db")
		if err := os.WriteFile(path, image, 0o600); err != nil {
			b.Fatal(err)
		}
		db := rawDB(b, path)
		b.StartTimer()
		if v, err := migrate(ctx, db, migrations.FS, 4, slog.New(slog.DiscardHandler)); err != nil || v != 4 {
			b.Fatalf("migrate to 4: version %d, %v", v, err)
		}
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
}

// Migration 0010 gives the default app the loopback addresses, except one
// another app claimed already: that one stays with it.
func TestMigration10ClaimsLoopbackUnlessTaken(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "picloud.db")
	db := rawDB(t, path)
	if v, err := migrate(ctx, db, migrations.FS, 9, slog.New(slog.DiscardHandler)); err != nil || v != 9 {
		t.Fatalf("migrate to 9: version %d, %v", v, err)
	}
	b, err := os.ReadFile(filepath.Join("testdata", "fixtures", "0009.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, string(b)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO app_domains (app_id, pattern, shape_key, created_at)
		VALUES (2, '127.0.0.1', '127.0.0.1', '2026-01-02T10:07:00.000000000Z')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := openAt(t, path)
	defer s.Close()
	for slug, want := range map[string][]string{
		"default": {"localhost", "::1"},
		"shop":    {"*.shop.example", "xn--bcher-kva.example", "127.0.0.1"},
	} {
		a, err := s.App(ctx, slug)
		if err != nil {
			t.Fatal(err)
		}
		if got := domainPatterns(a); !slices.Equal(got, want) {
			t.Errorf("%s claims %q, want %q", slug, got, want)
		}
	}
}
