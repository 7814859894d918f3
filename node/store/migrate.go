package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SchemaTooNewError refuses a database written by a newer binary: running
// an older schema's queries against it could corrupt it.
type SchemaTooNewError struct {
	Database int // schema version found in the database
	Binary   int // newest schema version this binary knows
}

func (e *SchemaTooNewError) Error() string {
	return fmt.Sprintf("database schema version %d is newer than this binary supports (schema %d); "+
		"run a newer picloud-node or restore a backup", e.Database, e.Binary)
}

type migration struct {
	version int
	name    string // file name
	sql     string
}

// loadMigrations reads NNNN_name.sql files from fsys, ordered by number.
// Numbers must run 1, 2, 3, ... without gaps, so "schema version = number of
// the last applied migration" always means the same schema.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		num, _, ok := strings.Cut(path.Base(name), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql", name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected number %d (numbers run 1, 2, 3, ... without gaps or repeats)", m.name, i+1)
		}
	}
	return ms, nil
}

// migrate applies the migrations of fsys that db lacks, up to and including
// version target (all when target < 0), each in its own transaction together
// with its row in schema_migrations. It returns the resulting schema version.
func migrate(ctx context.Context, db *sql.DB, fsys fs.FS, target int, logger *slog.Logger) (int, error) {
	ms, err := loadMigrations(fsys)
	if err != nil {
		return 0, err
	}
	if target < 0 || target > len(ms) {
		target = len(ms)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL
	)`); err != nil {
		return 0, fmt.Errorf("create schema_migrations: %w", err)
	}
	current, err := schemaVersion(ctx, db)
	if err != nil {
		return 0, err
	}
	if current > len(ms) {
		return current, &SchemaTooNewError{Database: current, Binary: len(ms)}
	}
	for _, m := range ms[min(current, target):target] {
		applied, err := applyMigration(ctx, db, m)
		if err != nil {
			return current, err
		}
		current = m.version
		if applied {
			logger.Info("applied migration", "version", m.version, "name", m.name)
		}
	}
	return current, nil
}

// applyMigration applies m unless another process on the same file did so
// while this one waited for the write lock.
func applyMigration(ctx context.Context, db *sql.DB, m migration) (applied bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migration %s: begin: %w", m.name, err)
	}
	defer tx.Rollback()
	var done int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&done); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.name, err)
	}
	if done > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, fmt.Errorf("migration %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, formatTime(time.Now())); err != nil {
		return false, fmt.Errorf("migration %s: record: %w", m.name, err)
	}
	// A migration must leave no row breaking a foreign key behind.
	rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return false, fmt.Errorf("migration %s: foreign key check: %w", m.name, err)
	}
	bad := rows.Next()
	rows.Close()
	if bad {
		return false, fmt.Errorf("migration %s: leaves rows that break foreign keys", m.name)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migration %s: commit: %w", m.name, err)
	}
	return true, nil
}

func schemaVersion(ctx context.Context, q querier) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, `SELECT ifnull(max(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}
