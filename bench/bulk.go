package bench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	_ "modernc.org/sqlite" // the driver the node uses

	"github.com/picloud/picloud/shared"
)

// DispatchHost is the host of app i in a dispatch table made by SeedDispatch.
func DispatchHost(i int) string { return fmt.Sprintf("app-%d.bench.test", i) }

// DispatchPath is the path of extra default-app route i.
func DispatchPath(i int) string { return fmt.Sprintf("/r/%d", i) }

// DispatchBody is what app i's script (and default-app route i) answers.
func DispatchBody(i int) string { return fmt.Sprintf("app %d", i) }

// SeedDispatch writes a dispatch table of n entries straight into a node's
// (stopped) database, in one transaction: n apps, each claiming
// DispatchHost(i) with one script routed GET /, plus n routes GET
// DispatchPath(i) in the default app. Going through the admin API would
// rebuild the routing table after each of 4n writes, which is not what is
// measured here. The shape of the rows is the one the store writes.
func SeedDispatch(ctx context.Context, dbPath string, n int) error {
	db, err := sql.Open("sqlite", dbPath+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
	if err != nil {
		return fmt.Errorf("open %s: %w", dbPath, err)
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000000000Z")
	var defID int64
	if err := tx.QueryRowContext(ctx, `SELECT id FROM apps WHERE slug = ?`, shared.DefaultAppSlug).Scan(&defID); err != nil {
		return fmt.Errorf("find default app: %w", err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO scripts (app_id, name, source, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		defID, "dispatch", `function handle(req) { return "app " + req.path.slice(3); }`, now, now)
	if err != nil {
		return fmt.Errorf("insert default-app script: %w", err)
	}
	defScript, _ := res.LastInsertId()
	for i := range n {
		res, err := tx.ExecContext(ctx, `INSERT INTO apps (slug, name, created_at, updated_at) VALUES (?, ?, ?, ?)`,
			fmt.Sprintf("app-%d", i), fmt.Sprintf("App %d", i), now, now)
		if err != nil {
			return fmt.Errorf("insert app %d: %w", i, err)
		}
		app, _ := res.LastInsertId()
		pattern, shape, err := shared.NormalizeDomain(DispatchHost(i))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO app_domains (app_id, pattern, shape_key, created_at) VALUES (?, ?, ?, ?)`,
			app, pattern, shape, now); err != nil {
			return fmt.Errorf("insert domain %d: %w", i, err)
		}
		res, err = tx.ExecContext(ctx, `INSERT INTO scripts (app_id, name, source, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			app, "hello", fmt.Sprintf("function handle(req) { return %q; }", DispatchBody(i)), now, now)
		if err != nil {
			return fmt.Errorf("insert script %d: %w", i, err)
		}
		script, _ := res.LastInsertId()
		if _, err := tx.ExecContext(ctx, `INSERT INTO routes (app_id, script_id, method, path, created_at) VALUES (?, ?, 'GET', '/', ?)`,
			app, script, now); err != nil {
			return fmt.Errorf("insert route %d: %w", i, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO routes (app_id, script_id, method, path, created_at) VALUES (?, ?, 'GET', ?, ?)`,
			defID, defScript, DispatchPath(i), now); err != nil {
			return fmt.Errorf("insert default-app route %d: %w", i, err)
		}
	}
	return tx.Commit()
}

// IntegrityCheck runs PRAGMA integrity_check on the SQLite file at path,
// read-only, and returns nil when SQLite answers "ok".
func IntegrityCheck(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return fmt.Errorf("integrity_check %s: %w", path, err)
	}
	defer rows.Close()
	var msgs []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return err
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("integrity_check %s: %w", path, err)
	}
	if len(msgs) != 1 || msgs[0] != "ok" {
		return fmt.Errorf("integrity_check %s: %q", path, msgs)
	}
	return nil
}

// LoggedExecutions is how many execution logs were ever written to the
// database at path (stopped node): execution_logs ids come from
// AUTOINCREMENT, so its sequence counts rows that pruning has since removed.
func LoggedExecutions(ctx context.Context, path string) (int64, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	var n int64
	err = db.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = 'execution_logs'`).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("count execution logs in %s: %w", path, err)
	}
	return n, nil
}
