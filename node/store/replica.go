package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// A cluster's replicated command carries what the store would otherwise
// decide itself: the time it stamps and the Raft index it records.
type (
	commandKey struct{}
	command    struct {
		index uint64
		at    time.Time
	}
)

// metaRaftApplied is the meta row holding the index of the last Raft
// command whose writes this database holds.
const metaRaftApplied = "raft_applied"

// WithCommand makes the writes under ctx those of a replicated command:
// they stamp at instead of the node's clock, and their transaction records
// index as applied, so a restarted member does not apply it again.
func WithCommand(ctx context.Context, index uint64, at time.Time) context.Context {
	return context.WithValue(ctx, commandKey{}, command{index: index, at: at})
}

// recordApplied notes the command's index in the write's own transaction.
func recordApplied(ctx context.Context, tx *sql.Tx) error {
	c, ok := ctx.Value(commandKey{}).(command)
	if !ok || c.index == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, metaRaftApplied, strconv.FormatUint(c.index, 10))
	if err != nil {
		return fmt.Errorf("record applied index: %w", err)
	}
	return nil
}

// AppliedIndex is the index of the last replicated command this database
// holds the writes of (0 for a node that never was in a cluster).
func (s *Store) AppliedIndex(ctx context.Context) (uint64, error) {
	var v string
	err := s.w.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, metaRaftApplied).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("applied index: %w", err)
	}
	return strconv.ParseUint(v, 10, 64)
}

// replicatedTables are the tables a cluster replicates, parents before
// children (SPEC §12). Execution logs and the migration history stay
// local; kv_usage comes last because kv_entries' triggers count into it.
var replicatedTables = []string{
	"meta", "apps", "app_slug_history", "app_domains", "scripts", "script_versions",
	"routes", "schedules", "app_egress", "app_env", "kv_entries", "kv_usage",
}

// CopyReplicated makes a consistent copy of the replicated tables (one
// read of the database, with VACUUM INTO) in a file under dir and returns
// it open; closing it removes the file. Execution logs are left out.
func (s *Store) CopyReplicated(ctx context.Context, dir string) (io.ReadCloser, error) {
	f, err := os.CreateTemp(dir, "snapshot-*.db")
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	path := f.Name()
	_ = f.Close()
	_ = os.Remove(path) // VACUUM INTO wants to create it
	if _, err := s.w.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	if err := dropLocal(ctx, path); err != nil {
		_ = os.Remove(path)
		return nil, err
	}
	f, err = os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return &removeOnClose{File: f}, nil
}

// dropLocal empties the local-only tables of a copy and compacts it.
func dropLocal(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer db.Close()
	for _, q := range []string{`DELETE FROM execution_logs`, `DELETE FROM sqlite_sequence WHERE name = 'execution_logs'`, `VACUUM`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("snapshot: %s: %w", q, err)
		}
	}
	return nil
}

type removeOnClose struct{ *os.File }

func (r *removeOnClose) Close() error {
	err := r.File.Close()
	_ = os.Remove(r.Name())
	return err
}

// RestoreReplicated replaces the replicated tables by those of a copy made
// by CopyReplicated (read from r), in one transaction, and publishes a
// change of everything. Execution logs stay. A copy of another schema
// version is refused.
func (s *Store) RestoreReplicated(ctx context.Context, dir string, r io.Reader) error {
	f, err := os.CreateTemp(dir, "restore-*.db")
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	path := f.Name()
	defer os.Remove(path)
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	// The KV cache must not answer with entries the copy replaced. Its
	// lock comes before the connection, as in ApplyKV.
	s.kvCache.applying.Lock()
	defer s.kvCache.applying.Unlock()
	defer s.kvCache.forgetAll()
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS snap`, path); err != nil {
		return fmt.Errorf("restore: attach: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `DETACH DATABASE snap`) //nolint:errcheck
	var version int
	if err := conn.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM snap.schema_migrations`).Scan(&version); err != nil {
		return fmt.Errorf("restore: schema of the copy: %w", err)
	}
	if version != s.schema {
		return fmt.Errorf("restore: the copy has schema %d, this node %d", version, s.schema)
	}
	if err := restoreTables(ctx, conn); err != nil {
		return err
	}
	s.changes.publish(ctx, Change{Kind: ChangeApp})
	s.changes.publish(ctx, Change{Kind: ChangeSchedule})
	return nil
}

func restoreTables(ctx context.Context, conn *sql.Conn) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("restore: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck
	stmts := []string{`PRAGMA defer_foreign_keys = ON`}
	for i := len(replicatedTables) - 1; i >= 0; i-- {
		stmts = append(stmts, `DELETE FROM main.`+replicatedTables[i])
	}
	for _, t := range replicatedTables {
		if t == "kv_usage" {
			stmts = append(stmts, `DELETE FROM main.kv_usage`)
		}
		stmts = append(stmts, `INSERT INTO main.`+t+` SELECT * FROM snap.`+t)
	}
	names := `'` + strings.Join(replicatedTables, `','`) + `'`
	stmts = append(stmts,
		`DELETE FROM main.sqlite_sequence WHERE name IN (`+names+`)`,
		`INSERT INTO main.sqlite_sequence (name, seq) SELECT name, seq FROM snap.sqlite_sequence WHERE name IN (`+names+`)`)
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("restore: %s: %w", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("restore: commit: %w", err)
	}
	return nil
}

// DumpReplicated is every row of the replicated tables as text, in a fixed
// order, for comparing members (tests, diagnostics). A secret is dumped
// opened, not as its ciphertext: each member seals it at rest with a nonce
// of its own.
func (s *Store) DumpReplicated(ctx context.Context) (string, error) {
	var b strings.Builder
	err := s.read(ctx, func(tx *sql.Tx) error {
		for _, t := range replicatedTables {
			if err := s.dumpTable(ctx, tx, &b, t); err != nil {
				return err
			}
		}
		return nil
	})
	return b.String(), err
}

func (s *Store) dumpTable(ctx context.Context, tx *sql.Tx, b *strings.Builder, table string) error {
	rows, err := tx.QueryContext(ctx, `SELECT * FROM `+table+` ORDER BY 1, 2`)
	if err != nil {
		return fmt.Errorf("dump %s: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		fmt.Fprintf(b, "%s:", table)
		var appID int64
		var name string
		for i, c := range cols {
			v := vals[i]
			switch {
			case table == "app_env" && c == "app_id":
				appID, _ = v.(int64)
			case table == "app_env" && c == "name":
				name, _ = v.(string)
			case table == "app_env" && c == "sealed" && v != nil:
				plain, err := s.secrets.Open(v.([]byte), envAD(appID, name))
				if err != nil {
					return fmt.Errorf("dump secret %s of app %d: %w", name, appID, err)
				}
				v = "secret:" + string(plain)
			}
			if bs, ok := v.([]byte); ok {
				v = string(bs)
			}
			fmt.Fprintf(b, " %s=%v", c, v)
		}
		b.WriteByte('\n')
	}
	return rows.Err()
}

// clusterMetaPrefix marks the meta rows a cluster keeps about itself (its
// id, its members' names); they replicate with the rest of meta.
const clusterMetaPrefix = "cluster/"

// SetClusterMeta stores a cluster fact under key; with once, a value
// already there is kept (the first command applied wins on every member).
func (s *Store) SetClusterMeta(ctx context.Context, key, value string, once bool) error {
	q := `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`
	if once {
		q = `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, q, clusterMetaPrefix+key, value); err != nil {
			return fmt.Errorf("set cluster %s: %w", key, err)
		}
		return nil
	})
}

// ClusterMeta is every cluster fact, by key.
func (s *Store) ClusterMeta(ctx context.Context) (map[string]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT key, value FROM meta WHERE key >= ? AND key < ?`,
		clusterMetaPrefix, clusterMetaPrefix[:len(clusterMetaPrefix)-1]+"0")
	if err != nil {
		return nil, fmt.Errorf("cluster meta: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[strings.TrimPrefix(k, clusterMetaPrefix)] = v
	}
	return out, rows.Err()
}
