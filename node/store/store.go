// Package store keeps the node's apps, domains, scripts, routes and execution
// logs in SQLite (SPEC §2). It owns every SQL statement of the node.
//
// Writes go through one connection and every write transaction starts with
// BEGIN IMMEDIATE, so writers queue in Go instead of failing with
// "database is locked"; reads use a separate pool and, thanks to WAL, never
// wait for a writer.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"modernc.org/sqlite" // also registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/picloud/picloud/migrations"
)

// busyTimeout is how long a connection waits for a lock held by another
// process (e.g. a backup tool) before giving up.
const busyTimeout = 10 * time.Second

// Store is the node's database. It is safe for concurrent use.
type Store struct {
	w      *sql.DB // one connection: writes are serialised here
	r      *sql.DB // read pool
	log    *slog.Logger
	schema int
	now    func() time.Time

	logStmts  logStatements // log writes' prepared statements
	kvStmts   kvStatements  // KV's prepared statements (kv.go)
	kvCache   *kvCache      // entries recently read or written (kvcache.go)
	logCounts logCounts     // logs each app holds, for PruneLogs
	secrets   Sealer        // seals the apps' secrets (UseSecrets)
	changes   changes       // subscribers to committed configuration (Subscribe)
}

// Open opens (creating if needed) the database at path, applies pending
// migrations and seeds the default app. A database written by a newer
// binary is refused with a *SchemaTooNewError.
func Open(ctx context.Context, path string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s, err := openRetrying(ctx, path, logger)
	if err != nil {
		return nil, err
	}
	if err := s.seed(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("seed %s: %w", path, err)
	}
	return s, nil
}

// openRetrying is open, tried again while another process holds the file's
// lock. Switching a fresh file to WAL needs an exclusive lock that SQLite
// does not wait for through the busy handler, so a second node or tool
// opening the same new file at that moment gets SQLITE_BUSY at once.
func openRetrying(ctx context.Context, path string, logger *slog.Logger) (*Store, error) {
	deadline := time.Now().Add(busyTimeout)
	for {
		s, err := open(ctx, path, logger, migrations.FS)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return s, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (any extended code).
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// open opens the database and migrates it with the migrations in fsys,
// without seeding.
func open(ctx context.Context, path string, logger *slog.Logger, fsys fs.FS) (*Store, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open %q: database path must not contain '?' or '#'", path)
	}
	if err := ownerOnly(path, logger); err != nil {
		return nil, err
	}
	// Both pools: wait for other processes' locks, enforce foreign keys.
	dsn := func(extra ...string) string {
		q := url.Values{}
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
		q.Add("_pragma", "foreign_keys(1)")
		for _, p := range extra {
			q.Add("_pragma", p)
		}
		return path + "?" + q.Encode()
	}
	// Writer: WAL, fsync on every commit, BEGIN IMMEDIATE so a write
	// transaction holds the lock from its first statement. Its page cache
	// is 16 MiB instead of SQLite's 2: the execution logs' pages, their
	// indexes and the apps the log rows reference must stay cached, or
	// every row inserted pays page reads (with 10,000 apps: +40% CPU per
	// logged request, measured with perf). Pages are cached as they are
	// read, so a small node does not grow.
	w, err := sql.Open("sqlite", dsn("journal_mode(WAL)", "synchronous(FULL)", fmt.Sprintf("cache_size(%d)", writerCacheKiB))+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	s := &Store{w: w, log: logger, now: time.Now, kvCache: newKVCache()}
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := s.checkPragmas(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if s.schema, err = migrate(ctx, w, fsys, -1, logger); err != nil {
		w.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}

	// The statistics the last close left may be far off (rows written by
	// another program, or a table that grew a lot): refresh those that are,
	// so that the planner does not scan what it could look up.
	if _, err := w.ExecContext(ctx, "PRAGMA optimize=0x10002"); err != nil {
		logger.Warn("optimize on open", "err", err)
	}

	// Readers open after migrating, so they never see a half-created file.
	r, err := sql.Open("sqlite", dsn("query_only(1)"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s for reading: %w", path, err)
	}
	n := max(2, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s.r = r
	return s, nil
}

// dbFileMode is the mode of the database and its -wal and -shm files: they
// hold the apps' secrets' ciphertext, KV data and logs.
const dbFileMode = 0o600

// ownerOnly creates the database file with dbFileMode if it is missing
// (SQLite gives the -wal and -shm files the database file's mode) and
// takes group and other permissions off the three files where an older
// node or a copy left them.
func ownerOnly(path string, logger *slog.Logger) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, dbFileMode)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("check the mode of %s: %w", p, err)
		}
		if mode := st.Mode().Perm(); mode&0o077 != 0 {
			if err := os.Chmod(p, mode&dbFileMode); err != nil {
				return fmt.Errorf("restrict %s to its owner: %w", p, err)
			}
			logger.Warn("restricted a database file to its owner", "file", p, "was", mode.String(), "now", (mode & dbFileMode).String())
		}
	}
	return nil
}

// checkPragmas makes sure the connection really runs with the settings the
// store's guarantees rest on; a driver that silently ignored one would
// otherwise lose cascades or durability without anyone noticing.
func (s *Store) checkPragmas(ctx context.Context) error {
	var mode string
	var fk, sync int
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if err := s.w.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
		return err
	}
	if err := s.w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		return err
	}
	var cache int
	if err := s.w.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&cache); err != nil {
		return err
	}
	if !strings.EqualFold(mode, "wal") || fk != 1 || sync != 2 || cache != writerCacheKiB {
		return fmt.Errorf("unexpected connection settings: journal_mode=%s foreign_keys=%d synchronous=%d cache_size=%d",
			mode, fk, sync, cache)
	}
	return nil
}

// writerCacheKiB is the writer connection's page cache, as PRAGMA
// cache_size takes it (negative: KiB).
const writerCacheKiB = -16 << 10

// Close closes the database. Pending transactions are rolled back.
func (s *Store) Close() error {
	var errs []error
	// Cheap, and keeps the query planner's statistics fresh across restarts.
	if _, err := s.w.Exec("PRAGMA optimize"); err != nil {
		s.log.Warn("optimize on close", "err", err)
	}
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	return errors.Join(errs...)
}

// SchemaVersion is the number of the last migration applied to the database.
func (s *Store) SchemaVersion() int { return s.schema }

// querier is what both *sql.DB and *sql.Tx offer; helpers take it so they
// run inside whichever transaction the caller holds.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queryAll runs query and scans every row with scan. The result is never
// nil, so empty lists reach the API as [].
func queryAll[T any](ctx context.Context, q querier, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// write runs fn in a write transaction (BEGIN IMMEDIATE on the single writer
// connection). Any error from fn rolls everything back. Writes of
// configuration go through change instead, which publishes them.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin write: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := recordApplied(ctx, tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// read runs fn in a read transaction: everything it reads comes from one
// consistent state of the database.
func (s *Store) read(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer tx.Rollback()
	return fn(tx)
}

// timeLayout is fixed width so stored timestamps sort as text.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// nowText is the time a write stamps: the command's when it applies a
// replicated command (WithCommand), so every member stores the same, else
// the node's clock.
func (s *Store) nowText(ctx context.Context) string {
	if c, ok := ctx.Value(commandKey{}).(command); ok {
		return formatTime(c.at)
	}
	return formatTime(s.now())
}

// timeScan scans a stored timestamp into a time.Time.
type timeScan struct{ t *time.Time }

func (d timeScan) Scan(src any) error {
	switch v := src.(type) {
	case string:
		return d.parse(v)
	case []byte:
		return d.parse(string(v))
	case time.Time:
		*d.t = v.UTC()
		return nil
	case nil:
		*d.t = time.Time{}
		return nil
	}
	return fmt.Errorf("timestamp: unexpected %T", src)
}

func (d timeScan) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("timestamp %q: %w", s, err)
	}
	*d.t = t.UTC()
	return nil
}
