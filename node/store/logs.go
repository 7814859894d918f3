package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"sync"

	"github.com/picloud/picloud/shared"
)

// Paging bounds of Logs.
const (
	DefaultLogLimit = 100
	MaxLogLimit     = 1000
	// MaxLogPageBytes bounds the text (error, output, path, host) of one
	// page: a log holds up to 64 KiB of each of error and output, so 1,000
	// of them could be 128 MB. A page stops at the log that passes it, and
	// has at least one log.
	MaxLogPageBytes = 4 << 20
)

// logsPerStmt is how many rows one INSERT of InsertLogs carries at most: a
// multi-row statement pays the statement overhead once for all its rows,
// and 64 rows × 14 columns stays far below SQLite's bound on parameters.
// Shorter statements carry the rest of a batch in powers of two, so a
// handful of statement texts, each prepared once per store, cover every
// batch size.
//
// Binding is most of an insert's cost (the driver takes the connection's
// mutex for every value and copies every text into C memory), and the logs
// of a busy node come in runs from one request context: same app, script,
// route, trigger, host and method. A run of at least minSharedRun rows is
// written with shared INSERTs, which bind those six values once per
// statement instead of once per row.
const (
	logsPerStmt  = 64
	logStmtSizes = 7 // 1, 2, 4, ..., 64 rows
	logColumns   = 14
	minSharedRun = 8
)

// logStatements caches the log writes' prepared statements: the plain and
// shared INSERTs by log2 of their row count (parsing a 64-row INSERT costs
// more than binding it), and the small queries every log transaction runs.
type logStatements struct {
	mu      sync.Mutex
	insert  [2][logStmtSizes]*sql.Stmt // [0] plain, [1] shared
	live    *sql.Stmt                  // whether an app still exists
	version *sql.Stmt                  // PRAGMA data_version, see logCounts
}

// preparedLogStmts returns the prepared statements, preparing them on
// first use. It must not be called while the writer connection is held:
// preparing takes it. Statements prepared here are closed with the
// database.
func (s *Store) preparedLogStmts(ctx context.Context) (*logStatements, error) {
	c := &s.logStmts
	c.mu.Lock()
	defer c.mu.Unlock()
	var err error
	for kind, stmts := range &c.insert {
		for i, st := range stmts {
			if st != nil {
				continue
			}
			oneContext := kind == 1
			if c.insert[kind][i], err = s.w.PrepareContext(ctx, insertLogsSQL(1<<i, oneContext)); err != nil {
				return nil, fmt.Errorf("prepare insert of %d logs (shared %t): %w", 1<<i, oneContext, err)
			}
		}
	}
	if c.live == nil {
		c.live, err = s.w.PrepareContext(ctx, liveAppSQL)
		if err != nil {
			return nil, fmt.Errorf("prepare app check: %w", err)
		}
	}
	if c.version == nil {
		if c.version, err = s.w.PrepareContext(ctx, `PRAGMA data_version`); err != nil {
			return nil, fmt.Errorf("prepare data version: %w", err)
		}
	}
	return c, nil
}

// InsertLogs writes a batch of execution logs in one transaction: all of
// them or none. Logs of an app deleted since the execution are dropped
// (there is nobody left to read them), so one stale entry cannot sink the
// batch it travels in. ID is assigned by the store, in the batch's order.
//
// Log transactions commit with synchronous=NORMAL (see writeLogs): a power
// cut may lose the last batches written, never control data.
func (s *Store) InsertLogs(ctx context.Context, logs []shared.Log) error {
	if len(logs) == 0 {
		return nil
	}
	for i, l := range logs {
		switch l.Trigger {
		case shared.TriggerRoute, shared.TriggerExecute, shared.TriggerCron:
		default:
			return fmt.Errorf("insert logs: entry %d: unknown trigger %q", i, l.Trigger)
		}
	}
	stmts, err := s.preparedLogStmts(ctx)
	if err != nil {
		return fmt.Errorf("insert %d logs: %w", len(logs), err)
	}
	c := &s.logCounts
	c.mu.Lock()
	defer c.mu.Unlock()
	var live map[int64]bool
	err = s.writeLogs(ctx, func(tx *sql.Tx) error {
		if len(c.n) > 0 {
			if err := c.check(ctx, tx.StmtContext(ctx, stmts.version)); err != nil {
				return err
			}
		}
		var err error
		if live, err = liveApps(ctx, tx.StmtContext(ctx, stmts.live), logs); err != nil {
			return err
		}
		rows := make([]*shared.Log, 0, len(logs))
		for i := range logs {
			if live[logs[i].AppID] {
				rows = append(rows, &logs[i])
			}
		}
		ins := logInsert{ctx: ctx, tx: tx, stmts: stmts, args: make([]any, 0, min(len(rows), logsPerStmt)*logColumns)}
		for len(rows) > 0 {
			n := sameContext(rows)
			if n >= minSharedRun {
				n = stmtRows(n)
				if err := ins.exec(rows[:n], true); err != nil {
					return err
				}
				rows = rows[n:]
				continue
			}
			// Plain statements up to the next long run.
			for n < len(rows) {
				m := sameContext(rows[n:])
				if m >= minSharedRun {
					break
				}
				n += m
			}
			for plain := rows[:n]; len(plain) > 0; {
				k := stmtRows(len(plain))
				if err := ins.exec(plain[:k], false); err != nil {
					return err
				}
				plain = plain[k:]
			}
			rows = rows[n:]
		}
		return nil
	})
	if err != nil {
		clear(c.n) // committed or not, nobody knows
		return fmt.Errorf("insert %d logs: %w", len(logs), err)
	}
	for _, l := range logs {
		if n, ok := c.n[l.AppID]; ok && live[l.AppID] {
			c.n[l.AppID] = n + 1
		}
	}
	return nil
}

// stmtRows is the row count of the largest INSERT that fits in n rows.
func stmtRows(n int) int { return 1 << (bits.Len(uint(min(n, logsPerStmt))) - 1) }

// logInsert runs InsertLogs' statements in one transaction.
type logInsert struct {
	ctx   context.Context
	tx    *sql.Tx
	stmts *logStatements
	inTx  [2][logStmtSizes]*sql.Stmt // the transaction's statements, made on first use
	args  []any                      // reused from statement to statement
}

// exec inserts rows, a power of two of them up to logsPerStmt, with a
// plain INSERT or, oneContext, a shared one: then every row must have the
// request context of the first.
func (w *logInsert) exec(rows []*shared.Log, oneContext bool) error {
	kind, size := 0, bits.Len(uint(len(rows)))-1
	if oneContext {
		kind = 1
	}
	st := w.inTx[kind][size]
	if st == nil {
		st = w.tx.StmtContext(w.ctx, w.stmts.insert[kind][size])
		w.inTx[kind][size] = st
	}
	args := w.args[:0]
	for i, l := range rows {
		if i == 0 || !oneContext {
			var route any
			if l.RouteID != nil {
				route = *l.RouteID
			}
			args = append(args, l.AppID, l.ScriptID, route, l.Trigger, l.Host, l.Method)
		}
		args = append(args, l.Path, int64(l.Status), l.DurationUS, l.Operations, int64(l.Subrequests),
			nullIfEmpty(l.Error), nullIfEmpty(l.Output), formatTime(l.StartedAt))
	}
	w.args = args
	_, err := st.ExecContext(w.ctx, args...)
	return err
}

// sameContext counts the leading rows that have the request context of the
// first: the values a shared INSERT binds once.
func sameContext(rows []*shared.Log) int {
	a := rows[0]
	n := 1
	for ; n < len(rows); n++ {
		b := rows[n]
		if b.AppID != a.AppID || b.ScriptID != a.ScriptID || (b.RouteID == nil) != (a.RouteID == nil) ||
			(b.RouteID != nil && *b.RouteID != *a.RouteID) || b.Trigger != a.Trigger || b.Host != a.Host ||
			b.Method != a.Method {
			break
		}
	}
	return n
}

// insertLogsSQL is a multi-row INSERT of n execution logs. Plain, every
// row binds its 14 values. Shared (oneContext), the first row binds its 14
// and every other row reuses the first's six context values (?1 to ?6) and
// binds its 8 own: SQLite numbers a bare ? one past the highest number used
// before it.
func insertLogsSQL(n int, oneContext bool) string {
	const (
		row       = "(?,?,?,?,?,?,?,?,?,?,?,coalesce(?,''),coalesce(?,''),?)"
		sharedRow = "(?1,?2,?3,?4,?5,?6,?,?,?,?,?,coalesce(?,''),coalesce(?,''),?)"
	)
	var b strings.Builder
	b.WriteString(`INSERT INTO execution_logs (app_id, script_id, route_id, "trigger", host, method, path, status,
		duration_us, operations, subrequests, error, output, started_at) VALUES `)
	for i := range n {
		switch {
		case i == 0:
			b.WriteString(row)
		case oneContext:
			b.WriteString("," + sharedRow)
		default:
			b.WriteString("," + row)
		}
	}
	return b.String()
}

// nullIfEmpty binds the usually empty error and output as NULL, which
// insertLogsSQL turns back into an empty string: the driver copies every
// text value into C memory and clears it after the statement; a NULL costs
// neither.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// liveAppSQL tells whether an app exists. An equality on the primary key is
// a lookup whatever the planner's statistics say; a join of the batch's ids
// with apps was planned as a scan of every app for every batch once the
// statistics were taken when apps held one row.
const liveAppSQL = `SELECT 1 FROM apps WHERE id = ?`

// liveApps reports which of the apps the logs belong to still exist, read
// inside the inserting transaction with stmts.live: one primary-key lookup
// per distinct app (a batch rarely has more than a few), not per row.
func liveApps(ctx context.Context, live *sql.Stmt, logs []shared.Log) (map[int64]bool, error) {
	apps := make(map[int64]bool, 4)
	for _, l := range logs {
		if _, seen := apps[l.AppID]; seen {
			continue
		}
		var one int
		err := live.QueryRowContext(ctx, l.AppID).Scan(&one)
		switch {
		case err == nil:
			apps[l.AppID] = true
		case errors.Is(err, sql.ErrNoRows):
			apps[l.AppID] = false
		default:
			return nil, fmt.Errorf("app %d of the logs: %w", l.AppID, err)
		}
	}
	return apps, nil
}

// logCounts remembers how many logs each app holds, so that PruneLogs can
// find its cut by walking from the oldest end over the few logs it deletes
// instead of over the retention's worth of newest ones. mu is held across
// every log transaction, so a count always matches what this store
// committed; a commit by any other connection (another process on the same
// file) changes PRAGMA data_version and makes the store forget every count.
// A count is taken with count(*) the first time an app is pruned; counts
// are forgotten after a failed log transaction, an app's when a delete finds
// fewer logs than expected (the app was deleted).
type logCounts struct {
	mu      sync.Mutex
	n       map[int64]int
	version int64 // PRAGMA data_version of the writer connection n is valid for
}

// check forgets the counts if another connection committed since they were
// taken. It runs inside a log transaction, with mu held; version is the
// transaction's PRAGMA data_version statement.
func (c *logCounts) check(ctx context.Context, version *sql.Stmt) error {
	var v int64
	if err := version.QueryRowContext(ctx).Scan(&v); err != nil {
		return fmt.Errorf("data version: %w", err)
	}
	if v != c.version {
		clear(c.n)
		c.version = v
	}
	return nil
}

// PruneLogs deletes an app's logs except the newest keep (keep 0 deletes
// them all). It walks the logs it deletes (and, the first time an app is
// pruned, counts the app's logs), so callers prune now and then (the log
// writer lets an app run a bounded slack over its retention), not after
// every insert.
func (s *Store) PruneLogs(ctx context.Context, appID int64, keep int) error {
	if keep < 0 {
		return fmt.Errorf("prune logs of app %d: keep %d is negative", appID, keep)
	}
	stmts, err := s.preparedLogStmts(ctx)
	if err != nil {
		return fmt.Errorf("prune logs of app %d: %w", appID, err)
	}
	c := &s.logCounts
	c.mu.Lock()
	defer c.mu.Unlock()
	var held int
	deleted := int64(0)
	err = s.writeLogs(ctx, func(tx *sql.Tx) error {
		if err := c.check(ctx, tx.StmtContext(ctx, stmts.version)); err != nil {
			return err
		}
		var known bool
		if held, known = c.n[appID]; !known {
			err := tx.QueryRowContext(ctx, countLogsSQL, appID).Scan(&held)
			if err != nil {
				return fmt.Errorf("count: %w", err)
			}
		}
		if held <= keep {
			return nil
		}
		// The cut first, on its own: a DELETE bounded by a subquery costs
		// some 15% more per row.
		var cut int64
		err := tx.QueryRowContext(ctx, pruneCutSQL, appID, held-keep-1).Scan(&cut)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // fewer logs than counted: the app is gone
		}
		if err != nil {
			return fmt.Errorf("find the cut: %w", err)
		}
		res, err := tx.ExecContext(ctx, pruneDeleteSQL, appID, cut)
		if err != nil {
			return fmt.Errorf("delete up to log %d: %w", cut, err)
		}
		deleted, err = res.RowsAffected()
		return err
	})
	if err != nil {
		clear(c.n) // committed or not, nobody knows
		return fmt.Errorf("prune logs of app %d: %w", appID, err)
	}
	if want := max(held-keep, 0); deleted != int64(want) {
		delete(c.n, appID)
		return nil
	}
	if c.n == nil {
		c.n = make(map[int64]int)
	}
	c.n[appID] = min(held, keep)
	return nil
}

// writeLogs runs fn in a write transaction that touches execution logs
// only, committed with synchronous=NORMAL: in WAL mode that skips the fsync
// of every commit and keeps the database consistent after a crash, which
// may lose the last log transactions. Control data keeps FULL: the writer
// pool has a single connection, held here from switching to NORMAL until
// FULL is back, and a connection that could not be switched back is
// discarded (the pool opens a new one with the DSN's FULL), so no other
// write can ever run under NORMAL. A later FULL commit syncs the WAL, logs
// before it included, so a crash never keeps a control write and loses a
// log committed before it.
func (s *Store) writeLogs(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin write: %w", err)
	}
	defer func() {
		// Restore even when ctx is done: the connection goes back to the pool.
		_, rerr := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA synchronous = FULL")
		if rerr != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			err = errors.Join(err, fmt.Errorf("restore synchronous=FULL: %w", rerr))
		}
		conn.Close()
	}()
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = NORMAL"); err != nil {
		return fmt.Errorf("synchronous=NORMAL: %w", err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin write: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Logs returns up to limit logs of an app, newest first, optionally of one
// script (scriptID 0: all). before > 0 returns only logs with an id below
// it: pass the last id of a page to get the next one. Ids only grow, so
// pages stay stable while new logs arrive. limit <= 0 means
// DefaultLogLimit; it is capped at MaxLogLimit.
func (s *Store) Logs(ctx context.Context, appID, scriptID int64, limit int, before int64) ([]shared.Log, error) {
	if limit <= 0 {
		limit = DefaultLogLimit
	}
	limit = min(limit, MaxLogLimit)
	var out []shared.Log
	err := s.read(ctx, func(tx *sql.Tx) error {
		if _, err := appByID(ctx, tx, appID); err != nil {
			return err
		}
		args := []any{appID}
		if scriptID != 0 {
			args = append(args, scriptID)
		}
		if before > 0 {
			args = append(args, before)
		}
		args = append(args, limit)
		var err error
		out, err = queryLogPage(ctx, tx, logsPageSQL(scriptID != 0, before > 0), args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("logs of app %d: %w", appID, err)
	}
	return out, nil
}

// queryLogPage reads a page of logs, stopping once their text passes
// MaxLogPageBytes.
func queryLogPage(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]shared.Log, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []shared.Log{}
	size := 0
	for size < MaxLogPageBytes && rows.Next() {
		l, err := scanLog(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
		size += len(l.Error) + len(l.Output) + len(l.Path) + len(l.Host)
	}
	return out, rows.Err()
}

// logIndex is execution_logs' only secondary index, (app_id, id, script_id)
// (migrations 0003 and 0004): every log query below is a search of it.
const logIndex = "execution_logs_app_id_id_script_id"

// logsPageSQL is the query of a logs page: optionally of one script
// (byScript), optionally below a cursor (before); its arguments are the app,
// the script, the cursor (those present) and the limit.
//
// The page is a range on (app_id, id) of logIndex, walked newest first;
// script_id is checked in the index entry, so the table row is read only
// for a log of the script. INDEXED BY keeps it so: with statistics that give
// an app a large share of the logs, the planner takes id < ? for the better
// range and walks the table by rowid, every app's rows and whole rows (the
// old (app_id, script_id, id) index had kept script pages off that path).
func logsPageSQL(byScript, before bool) string {
	q := `SELECT id, app_id, script_id, route_id, "trigger", host, method, path, status, duration_us, operations,
		subrequests, error, output, started_at FROM execution_logs INDEXED BY ` + logIndex + ` WHERE app_id = ?`
	if byScript {
		q += ` AND script_id = ?`
	}
	if before {
		q += ` AND id < ?`
	}
	return q + ` ORDER BY id DESC LIMIT ?`
}

// The queries of PruneLogs, each a search of logIndex: the count of an
// app's logs, the id of the newest log to delete (the offset: how many
// older logs go with it), both from the index alone (covering), and the
// delete up to it, one pass that deletes each index entry under the cursor
// and its table row by rowid (with no foreign key on execution_logs since
// 0004, nothing needs the row's values first). The planner picks the index
// for them with or without statistics (plan_test.go checks both), so they
// need no INDEXED BY.
const (
	countLogsSQL   = `SELECT count(*) FROM execution_logs WHERE app_id = ?`
	pruneCutSQL    = `SELECT id FROM execution_logs WHERE app_id = ? ORDER BY id LIMIT 1 OFFSET ?`
	pruneDeleteSQL = `DELETE FROM execution_logs WHERE app_id = ? AND id <= ?`
)

// deleteAppLogsSQL deletes every log of an app, for DeleteApp: a one-pass
// search of logIndex on app_id, as pruneDeleteSQL.
const deleteAppLogsSQL = `DELETE FROM execution_logs WHERE app_id = ?`

func scanLog(sc scanner) (shared.Log, error) {
	var l shared.Log
	var route sql.NullInt64
	err := sc.Scan(&l.ID, &l.AppID, &l.ScriptID, &route, &l.Trigger, &l.Host, &l.Method, &l.Path,
		&l.Status, &l.DurationUS, &l.Operations, &l.Subrequests, &l.Error, &l.Output, timeScan{&l.StartedAt})
	if route.Valid {
		l.RouteID = &route.Int64
	}
	return l, err
}
