package kv

import (
	"context"
	"encoding/base64"
	"log/slog"
	"time"

	"github.com/picloud/picloud/node/executor"
	"github.com/picloud/picloud/node/store"
	"github.com/picloud/picloud/shared"
)

// Reader reads committed KV entries (the store). Reads go to the store's
// read pool and see every write whose Write returned.
type Reader interface {
	KVGet(ctx context.Context, appID int64, key string, now time.Time) (store.KVEntry, error)
	KVList(ctx context.Context, appID int64, prefix, after string, limit int, now time.Time) ([]shared.KVKey, bool, error)
}

// Storage is what the node's KV needs of the store.
type Storage interface {
	Committer
	Expirer
	Reader
}

// ServiceConfig configures a Service. Store is required.
type ServiceConfig struct {
	Store Storage
	// MaxValue is the largest value in bytes (PICLOUD_KV_MAX_VALUE); 0
	// means shared.DefaultKVMaxValue.
	MaxValue int64
	// QuotaBytes is an app's quota (PICLOUD_KV_MAX_APP_BYTES); 0 means
	// shared.DefaultKVMaxAppBytes.
	QuotaBytes int64
	Now        func() time.Time // nil means time.Now
	Logger     *slog.Logger
}

// Service is the node's KV: every app's namespace over one store and one
// group-commit writer. Call Run before writing.
type Service struct {
	read     Reader
	writer   *Writer
	maxValue int64
	quota    int64
	now      func() time.Time
}

// NewService returns the node's KV; its writer starts with Run.
func NewService(cfg ServiceConfig) *Service {
	if cfg.MaxValue <= 0 {
		cfg.MaxValue = shared.DefaultKVMaxValue
	}
	if cfg.QuotaBytes <= 0 {
		cfg.QuotaBytes = shared.DefaultKVMaxAppBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	w := NewWriter(Config{Committer: cfg.Store, Expirer: cfg.Store, QuotaBytes: cfg.QuotaBytes, Now: cfg.Now, Logger: cfg.Logger})
	return &Service{read: cfg.Store, writer: w, maxValue: cfg.MaxValue, quota: cfg.QuotaBytes, now: cfg.Now}
}

// Run runs the writer until ctx ends (see Writer.Run).
func (s *Service) Run(ctx context.Context) { s.writer.Run(ctx) }

// Stats reports the writer's batches and writes (Writer.Stats).
func (s *Service) Stats() (batches, writes int64) { return s.writer.Stats() }

// MaxValue is the largest value in bytes.
func (s *Service) MaxValue() int64 { return s.maxValue }

// Quota is an app's quota in bytes.
func (s *Service) Quota() int64 { return s.quota }

// App returns app appID's namespace, the Go side of its env.KV.
func (s *Service) App(appID int64) *Namespace { return &Namespace{s: s, app: appID} }

// ScriptKV is App for a script's env.KV (the orchestrator's KV).
func (s *Service) ScriptKV(appID int64) executor.KV { return s.App(appID) }

// Namespace is one app's KV. Every method checks its arguments against
// SPEC §7 and answers a *shared.Error for a bad one: 422
// validation_failed, 413 too_large for a value over the limit, 409
// kv_quota_exceeded for a write past the app's quota.
type Namespace struct {
	s   *Service
	app int64
}

var _ executor.KV = (*Namespace)(nil)

// Entry reads key with everything stored with it; found is false when it
// is absent or expired.
func (n *Namespace) Entry(ctx context.Context, key string) (e store.KVEntry, found bool, err error) {
	if err := shared.CheckKVKey(key); err != nil {
		return e, false, err
	}
	e, err = n.s.read.KVGet(ctx, n.app, key, n.s.now())
	if shared.IsCode(err, shared.CodeNotFound) {
		return e, false, nil
	}
	return e, err == nil, err
}

// Get reads key for a script.
func (n *Namespace) Get(ctx context.Context, key string) (executor.KVEntry, bool, error) {
	e, found, err := n.Entry(ctx, key)
	if !found {
		return executor.KVEntry{}, false, err
	}
	return executor.KVEntry{Value: string(e.Value), Metadata: e.Metadata, Expiration: unixTime(e.Expiration)}, true, nil
}

// Put stores a script's value.
func (n *Namespace) Put(ctx context.Context, key string, e executor.KVEntry) error {
	var exp int64
	if !e.Expiration.IsZero() {
		exp = e.Expiration.Unix()
	}
	return n.Write(ctx, store.KVWrite{Key: key, Value: []byte(e.Value), Metadata: e.Metadata, Expiration: exp})
}

// Write checks w and commits it with the node's other writes; it returns
// once w is durable. w.AppID is set to the namespace's app.
func (n *Namespace) Write(ctx context.Context, w store.KVWrite) error {
	w.AppID = n.app
	if err := shared.CheckKVKey(w.Key); err != nil {
		return err
	}
	if !w.Delete {
		if err := shared.CheckKVValue(int64(len(w.Value)), n.s.maxValue); err != nil {
			return err
		}
		if err := shared.CheckKVMetadata(w.Metadata); err != nil {
			return err
		}
		if len(w.Metadata) == 0 {
			w.Metadata = nil
		}
	}
	return n.s.writer.Write(ctx, w)
}

// Delete removes key; a missing key is no error.
func (n *Namespace) Delete(ctx context.Context, key string) error {
	return n.Write(ctx, store.KVWrite{Key: key, Delete: true})
}

// Keys lists up to limit keys starting with prefix after cursor (as a
// page returned it; "" for the first page), with the admin API's details.
// The next page's cursor is "" on the last page.
func (n *Namespace) Keys(ctx context.Context, prefix, cursor string, limit int) (keys []shared.KVKey, next string, err error) {
	if limit < 1 || limit > shared.KVMaxListLimit {
		return nil, "", shared.Validation("limit", "limit must be 1 to %d, not %d", shared.KVMaxListLimit, limit)
	}
	after, err := decodeCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	keys, complete, err := n.s.read.KVList(ctx, n.app, prefix, after, limit, n.s.now())
	if err != nil {
		return nil, "", err
	}
	if !complete && len(keys) > 0 {
		next = encodeCursor(keys[len(keys)-1].Name)
	}
	return keys, next, nil
}

// List is a script's list call.
func (n *Namespace) List(ctx context.Context, q executor.KVQuery) (executor.KVPage, error) {
	keys, next, err := n.Keys(ctx, q.Prefix, q.Cursor, q.Limit)
	if err != nil {
		return executor.KVPage{}, err
	}
	page := executor.KVPage{Keys: make([]executor.KVKey, len(keys)), Cursor: next}
	for i, k := range keys {
		page.Keys[i] = executor.KVKey{Name: k.Name, Metadata: k.Metadata, Expiration: unixTime(k.Expiration)}
	}
	return page, nil
}

// A cursor is the last key of the page before, base64url-encoded: opaque
// to scripts and URL-safe for the admin API, and a page that starts after
// a key stays right however keys change between pages.
func encodeCursor(last string) string { return base64.RawURLEncoding.EncodeToString([]byte(last)) }

func decodeCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || shared.CheckKVKey(string(b)) != nil {
		return "", shared.Validation("cursor", "cursor is not one a list returned")
	}
	return string(b), nil
}

func unixTime(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0)
}
