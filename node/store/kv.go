package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/picloud/picloud/shared"
)

// KVWrite is one put or delete of a KV batch (SPEC §7), validated by the
// caller against the shared rules.
type KVWrite struct {
	AppID      int64
	Key        string
	Delete     bool
	Value      []byte
	Metadata   json.RawMessage // nil: none
	Expiration int64           // seconds since the epoch; 0: never
}

// size is what the entry counts against its app's quota.
func (w KVWrite) size() int64 { return int64(len(w.Key) + len(w.Value) + len(w.Metadata)) }

// KVEntry is a stored value with its metadata.
type KVEntry struct {
	Value      []byte
	Metadata   json.RawMessage
	Expiration int64
	UpdatedAt  time.Time
}

// kvStatements caches KV's prepared statements: parsing the SQL costs
// several times what running it does (80% of a point read, measured).
type kvStatements struct {
	mu                       sync.Mutex
	get                      *sql.Stmt // on the read pool
	usage, size, upsert, del *sql.Stmt // on the writer
}

const (
	kvGetSQL = `SELECT value, metadata, expiration, updated_at FROM kv_entries
		WHERE app_id = ? AND key = ?`
	kvUsageSQL  = `SELECT u.bytes FROM apps a LEFT JOIN kv_usage u ON u.app_id = a.id WHERE a.id = ?`
	kvSizeSQL   = `SELECT size FROM kv_entries WHERE app_id = ? AND key = ?`
	kvUpsertSQL = `INSERT INTO kv_entries (app_id, key, value, metadata, expiration, size, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (app_id, key) DO UPDATE SET value = excluded.value, metadata = excluded.metadata,
			expiration = excluded.expiration, size = excluded.size, updated_at = excluded.updated_at`
	kvDeleteSQL = `DELETE FROM kv_entries WHERE app_id = ? AND key = ? RETURNING size`
)

// preparedKV returns the prepared statements, preparing them on first
// use. Like preparedLogStmts it must not be called inside a write.
func (s *Store) preparedKV(ctx context.Context) (*kvStatements, error) {
	c := &s.kvStmts
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range []struct {
		into **sql.Stmt
		db   *sql.DB
		sql  string
	}{{&c.get, s.r, kvGetSQL}, {&c.usage, s.w, kvUsageSQL}, {&c.size, s.w, kvSizeSQL}, {&c.upsert, s.w, kvUpsertSQL}, {&c.del, s.w, kvDeleteSQL}} {
		if *st.into != nil {
			continue
		}
		stmt, err := st.db.PrepareContext(ctx, st.sql)
		if err != nil {
			return nil, fmt.Errorf("prepare KV statement: %w", err)
		}
		*st.into = stmt
	}
	return c, nil
}

// ApplyKV writes a batch of puts and deletes in one transaction, so a busy
// node pays one commit (one fsync) for many writes, and returns one result
// per write, in order: nil, the quota error of a put that would take its
// app past quota bytes (kv_quota_exceeded), or not_found for an app that
// is gone. A refused write changes nothing and does not affect the others.
// err is a failure of the whole transaction: no write of the batch was
// made. now stamps updated_at; it is the batch's, so that every member of
// a cluster applying the batch stores the same.
func (s *Store) ApplyKV(ctx context.Context, batch []KVWrite, quota int64, now time.Time) (results []error, err error) {
	st, err := s.preparedKV(ctx)
	if err != nil {
		return nil, err
	}
	s.kvCache.applying.Lock()
	defer s.kvCache.applying.Unlock()
	err = s.write(ctx, func(tx *sql.Tx) error {
		b := s.newKVBatch(ctx, tx, st, quota, now)
		defer b.close()
		results = make([]error, len(batch))
		for i, w := range batch {
			if results[i], err = b.apply(w); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("apply %d KV writes: %w", len(batch), err)
	}
	for i, w := range batch {
		if results[i] == nil {
			s.kvCache.store(kvCacheKey{w.AppID, w.Key}, committed(w, now))
		}
	}
	return results, nil
}

// committed is the entry w left in the database, with copies of its
// slices: the cache shares them with every reader.
func committed(w KVWrite, now time.Time) kvCached {
	if w.Delete {
		return kvCached{}
	}
	e := KVEntry{Value: append([]byte{}, w.Value...), Expiration: w.Expiration, UpdatedAt: now.UTC().Truncate(time.Nanosecond)}
	if len(w.Metadata) > 0 {
		e.Metadata = append(json.RawMessage{}, w.Metadata...)
	}
	return kvCached{found: true, e: e}
}

// kvBatch is one ApplyKV transaction: its statements, bound to the
// transaction once, each app's byte total as the batch changes it, and
// the size each key it wrote now has.
type kvBatch struct {
	ctx                        context.Context
	cache                      *kvCache
	usageQ, sizeQ, upsert, del *sql.Stmt
	quota                      int64
	stamp                      string
	usage                      map[int64]int64
	sizes                      map[kvCacheKey]int64
}

func (s *Store) newKVBatch(ctx context.Context, tx *sql.Tx, st *kvStatements, quota int64, now time.Time) *kvBatch {
	return &kvBatch{ctx: ctx, cache: s.kvCache, quota: quota, stamp: formatTime(now),
		usageQ: tx.StmtContext(ctx, st.usage), sizeQ: tx.StmtContext(ctx, st.size),
		upsert: tx.StmtContext(ctx, st.upsert), del: tx.StmtContext(ctx, st.del),
		usage: make(map[int64]int64, 1), sizes: make(map[kvCacheKey]int64)}
}

func (b *kvBatch) close() {
	for _, st := range []*sql.Stmt{b.usageQ, b.sizeQ, b.upsert, b.del} {
		_ = st.Close()
	}
}

// apply makes one write; refused is the write's own error (quota, or
// not_found for an app that is gone), err a failure of the transaction.
func (b *kvBatch) apply(w KVWrite) (refused, err error) {
	used, err := b.used(w.AppID)
	if err != nil {
		if shared.IsCode(err, shared.CodeNotFound) {
			return err, nil
		}
		return nil, err
	}
	k := kvCacheKey{w.AppID, w.Key}
	if w.Delete {
		var old int64
		err := b.del.QueryRowContext(b.ctx, w.AppID, w.Key).Scan(&old)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			old = 0 // deleting a missing key is fine (SPEC §7)
		case err != nil:
			return nil, fmt.Errorf("KV delete: %w", err)
		}
		b.usage[w.AppID] = used - old
		b.sizes[k] = 0
		return nil, nil
	}
	old, err := b.size(k)
	if err != nil {
		return nil, err
	}
	size := w.size()
	// A write that does not grow the app is always allowed, so an app over
	// its quota (after the quota was lowered) can still shrink.
	if grow := size - old; grow > 0 && used+grow > b.quota {
		return shared.KVQuotaExceeded(used, grow, b.quota), nil
	}
	var meta, exp any
	if len(w.Metadata) > 0 {
		meta = string(w.Metadata)
	}
	if w.Expiration > 0 {
		exp = w.Expiration
	}
	if _, err := b.upsert.ExecContext(b.ctx, w.AppID, w.Key, w.Value, meta, exp, size, b.stamp); err != nil {
		return nil, fmt.Errorf("KV put: %w", err)
	}
	b.usage[w.AppID] = used + size - old
	b.sizes[k] = size
	return nil, nil
}

// used is the app's byte total inside the batch, read on first sight.
func (b *kvBatch) used(appID int64) (int64, error) {
	if u, ok := b.usage[appID]; ok {
		return u, nil
	}
	var bytes sql.NullInt64
	err := b.usageQ.QueryRowContext(b.ctx, appID).Scan(&bytes)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, shared.NotFound("app", appID)
	}
	if err != nil {
		return 0, fmt.Errorf("KV usage of app %d: %w", appID, err)
	}
	b.usage[appID] = bytes.Int64
	return bytes.Int64, nil
}

// size is what key k counts against the quota before this write: as an
// earlier write of the batch left it, as the cache knows it (it holds
// what the database does: ApplyKV and ExpireKV store every change they
// commit, under the cache's applying lock, held here), or as the
// database says.
func (b *kvBatch) size(k kvCacheKey) (int64, error) {
	if n, ok := b.sizes[k]; ok {
		return n, nil
	}
	if c, hit, _ := b.cache.lookup(k); hit {
		if !c.found {
			return 0, nil
		}
		return int64(len(k.key) + len(c.e.Value) + len(c.e.Metadata)), nil
	}
	var old int64
	err := b.sizeQ.QueryRowContext(b.ctx, k.app, k.key).Scan(&old)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("KV put: %w", err)
	}
	return old, nil
}

// live is the condition of an entry that has not expired at ?.
const live = `(expiration IS NULL OR expiration > ?)`

// KVGet returns an app's value for key; 404 not_found when it is absent
// or expired at now. It answers from the cache when it can; the entry's
// Value and Metadata are shared and must not be modified.
func (s *Store) KVGet(ctx context.Context, appID int64, key string, now time.Time) (KVEntry, error) {
	k := kvCacheKey{appID, key}
	c, hit, gen := s.kvCache.lookup(k)
	if !hit {
		var err error
		if c, err = s.kvRead(ctx, appID, key); err != nil {
			return KVEntry{}, err
		}
		s.kvCache.fill(k, gen, c)
	}
	if !c.found || (c.e.Expiration != 0 && c.e.Expiration <= now.Unix()) {
		return KVEntry{}, shared.NotFound("key", key)
	}
	return c.e, nil
}

// kvRead reads an entry from the database, expired or not (KVGet checks
// the expiry, so that the cache can hold the entry).
func (s *Store) kvRead(ctx context.Context, appID int64, key string) (kvCached, error) {
	var e KVEntry
	var meta sql.NullString
	var exp sql.NullInt64
	st, err := s.preparedKV(ctx)
	if err != nil {
		return kvCached{}, err
	}
	err = st.get.QueryRowContext(ctx, appID, key).Scan(&e.Value, &meta, &exp, timeScan{&e.UpdatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return kvCached{}, nil
	}
	if err != nil {
		return kvCached{}, fmt.Errorf("KV get: %w", err)
	}
	if meta.Valid {
		e.Metadata = json.RawMessage(meta.String)
	}
	e.Expiration = exp.Int64
	if e.Value == nil {
		e.Value = []byte{}
	}
	return kvCached{found: true, e: e}, nil
}

// KVList returns up to limit of an app's live keys that start with prefix
// and sort after the key after ("" for the first page), in byte order,
// and whether the list is complete.
func (s *Store) KVList(ctx context.Context, appID int64, prefix, after string, limit int, now time.Time) ([]shared.KVKey, bool, error) {
	where := []string{`app_id = ?`, live}
	args := []any{appID, now.Unix()}
	if prefix != "" {
		where = append(where, `key >= ?`)
		args = append(args, prefix)
		if end, ok := prefixEnd(prefix); ok {
			where = append(where, `key < ?`)
			args = append(args, end)
		}
	}
	if after != "" {
		where = append(where, `key > ?`)
		args = append(args, after)
	}
	args = append(args, limit+1)
	keys, err := queryAll(ctx, s.r, scanKVKey, `SELECT key, size, expiration, metadata, updated_at FROM kv_entries
		WHERE `+strings.Join(where, ` AND `)+` ORDER BY key LIMIT ?`, args...)
	if err != nil {
		return nil, false, fmt.Errorf("KV list: %w", err)
	}
	if len(keys) > limit {
		return keys[:limit], false, nil
	}
	return keys, true, nil
}

func scanKVKey(sc scanner) (shared.KVKey, error) {
	var k shared.KVKey
	var exp sql.NullInt64
	var meta sql.NullString
	err := sc.Scan(&k.Name, &k.Size, &exp, &meta, timeScan{&k.UpdatedAt})
	k.Expiration = exp.Int64
	if meta.Valid {
		k.Metadata = json.RawMessage(meta.String)
	}
	return k, err
}

// prefixEnd is the smallest string greater than every string starting
// with prefix, byte-wise; false when there is none (prefix is all 0xFF).
func prefixEnd(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xFF {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// KVUsage returns how many keys an app holds and the bytes they count
// against its quota, expired entries not yet removed included.
func (s *Store) KVUsage(ctx context.Context, appID int64) (keys, bytes int64, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT keys, bytes FROM kv_usage WHERE app_id = ?`, appID).Scan(&keys, &bytes)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("KV usage of app %d: %w", appID, err)
	}
	return keys, bytes, nil
}

// ExpireKV removes up to limit entries expired at now, oldest expiry
// first, and reports how many. Small batches keep each transaction short,
// so the expiry sweep never holds up the writers for long.
func (s *Store) ExpireKV(ctx context.Context, now time.Time, limit int) (int, error) {
	s.kvCache.applying.Lock()
	defer s.kvCache.applying.Unlock()
	var gone []kvCacheKey
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		gone, err = queryAll(ctx, tx, func(sc scanner) (k kvCacheKey, err error) {
			return k, sc.Scan(&k.app, &k.key)
		}, `DELETE FROM kv_entries WHERE id IN (
			SELECT id FROM kv_entries WHERE expiration IS NOT NULL AND expiration <= ? ORDER BY expiration LIMIT ?)
			RETURNING app_id, key`, now.Unix(), limit)
		if err != nil {
			return fmt.Errorf("expire KV entries: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, k := range gone {
		s.kvCache.store(k, kvCached{})
	}
	return len(gone), nil
}
