// Package kv is the apps' key-value storage on a node (SPEC §7): durable
// writes with group commit, and reads that see every write that resolved
// before them.
//
// Every put and delete goes to one writer goroutine. It takes the first
// write waiting, adds every other write already queued (up to a batch's
// bounds), applies them all in one transaction with synchronous=FULL and
// only then answers each writer. An idle node commits a lone write at
// once; a busy node pays one fsync for many writes, because writes queue
// up while the previous batch is being synced. A write's answer comes
// after its batch is on disk, so a resolved put survives kill -9 and power
// loss, and a read made after it (on the read pool, WAL) sees it.
package kv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/picloud/picloud/node/store"
	"github.com/picloud/picloud/shared"
)

// Committer applies a batch of writes in one transaction: the store's
// ApplyKV on a single node; in a cluster, one Raft log entry.
type Committer interface {
	ApplyKV(ctx context.Context, batch []store.KVWrite, quota int64, now time.Time) ([]error, error)
}

// Expirer removes expired entries in small batches (the store).
type Expirer interface {
	ExpireKV(ctx context.Context, now time.Time, limit int) (int, error)
}

// Bounds of one batch: enough to amortise an fsync over a burst, small
// enough that one transaction never holds the writer for long.
const (
	maxBatchWrites = 512
	maxBatchBytes  = 8 << 20
	queueLength    = 4096
	expireEvery    = time.Minute
	expireChunk    = 500
)

// Config configures a Writer. Committer is required.
type Config struct {
	Committer Committer
	Expirer   Expirer // nil: expired entries are only hidden, never removed
	// QuotaBytes is an app's KV quota (PICLOUD_KV_MAX_APP_BYTES); 0 means
	// shared.DefaultKVMaxAppBytes.
	QuotaBytes int64
	Now        func() time.Time // nil means time.Now
	Logger     *slog.Logger
}

// Writer group-commits KV writes. Call Run before Write.
type Writer struct {
	commit Committer
	expire Expirer
	quota  int64
	now    func() time.Time
	log    *slog.Logger
	queue  chan *pending
	done   chan struct{} // closed when Run returns

	batches, writes atomic.Int64 // for Stats
	busy            atomic.Int64 // nanoseconds spent committing, for Busy
}

type pending struct {
	w    store.KVWrite
	done chan error // buffered: the writer never waits for a caller that gave up
}

// NewWriter returns a writer; its goroutine starts with Run.
func NewWriter(cfg Config) *Writer {
	if cfg.QuotaBytes <= 0 {
		cfg.QuotaBytes = shared.DefaultKVMaxAppBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Writer{commit: cfg.Committer, expire: cfg.Expirer, quota: cfg.QuotaBytes, now: cfg.Now,
		log: cfg.Logger, queue: make(chan *pending, queueLength), done: make(chan struct{})}
}

// ErrClosed answers writes made after the writer stopped.
var ErrClosed = errors.New("KV writer stopped")

// Write queues w and returns once its batch is committed: nil, w's own
// refusal (kv_quota_exceeded, not_found for a deleted app), or the
// failure of its batch. If ctx ends first Write returns ctx's error; the
// write may still be committed.
func (wr *Writer) Write(ctx context.Context, w store.KVWrite) error {
	p := &pending{w: w, done: make(chan error, 1)}
	select {
	case wr.queue <- p:
	case <-ctx.Done():
		return ctx.Err()
	case <-wr.done:
		return ErrClosed
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-wr.done:
		// Run answers every batch it took before it returns.
		select {
		case err := <-p.done:
			return err
		default:
			return ErrClosed
		}
	}
}

// Stats reports the batches committed and the writes in them, so that
// puts per fsync can be measured.
func (wr *Writer) Stats() (batches, writes int64) { return wr.batches.Load(), wr.writes.Load() }

// Busy is the time the writer has spent committing batches: near its
// uptime, commits are the bottleneck; well below, the writers are.
func (wr *Writer) Busy() time.Duration { return time.Duration(wr.busy.Load()) }

// Run commits batches until ctx ends, and removes expired entries every
// minute. Writes still queued when ctx ends are answered ErrClosed.
func (wr *Writer) Run(ctx context.Context) {
	started := time.Now()
	tick := time.NewTicker(expireEvery)
	defer tick.Stop()
	defer close(wr.done)
	for {
		select {
		case <-ctx.Done():
			wr.drain()
			b, n := wr.Stats()
			wr.log.Info("KV writer stopped", "batches", b, "writes", n, "busy", wr.Busy(), "up", time.Since(started))
			return
		case <-tick.C:
			wr.expireOnce(ctx)
		case first := <-wr.queue:
			t := time.Now()
			wr.commitBatch(ctx, wr.gather(first))
			wr.busy.Add(int64(time.Since(t)))
		}
	}
}

// gather adds to first every write already queued, within a batch's
// bounds. It never waits: a lone write commits at once.
func (wr *Writer) gather(first *pending) []*pending {
	batch := []*pending{first}
	bytes := writeBytes(first.w)
	for len(batch) < maxBatchWrites && bytes < maxBatchBytes {
		select {
		case p := <-wr.queue:
			batch = append(batch, p)
			bytes += writeBytes(p.w)
		default:
			return batch
		}
	}
	return batch
}

func writeBytes(w store.KVWrite) int { return len(w.Key) + len(w.Value) + len(w.Metadata) }

func (wr *Writer) commitBatch(ctx context.Context, batch []*pending) {
	writes := make([]store.KVWrite, len(batch))
	for i, p := range batch {
		writes[i] = p.w
	}
	results, err := wr.apply(ctx, writes)
	// Without a cluster majority every write would fail alike: no retries.
	if err != nil && len(batch) > 1 && !shared.IsCode(err, shared.CodeNoQuorum) {
		// One write the database refuses must not fail the others: try
		// each alone. This costs an fsync per write only after a failure.
		wr.log.Warn("KV batch failed, committing its writes one by one", "writes", len(batch), "err", err)
		for _, p := range batch {
			wr.commitBatch(ctx, []*pending{p})
		}
		return
	}
	if err != nil {
		wr.log.Error("KV write failed", "app", batch[0].w.AppID, "err", err)
		err = fmt.Errorf("KV write not stored: %w", err)
	}
	for i, p := range batch {
		if err != nil {
			p.done <- err
		} else {
			p.done <- results[i]
		}
	}
}

// apply commits one batch and counts it.
func (wr *Writer) apply(ctx context.Context, writes []store.KVWrite) ([]error, error) {
	// A batch already taken is committed even when the node is stopping:
	// its writers are waiting for the answer.
	results, err := wr.commit.ApplyKV(context.WithoutCancel(ctx), writes, wr.quota, wr.now())
	if err == nil {
		wr.batches.Add(1)
		wr.writes.Add(int64(len(writes)))
	}
	return results, err
}

// expireOnce removes expired entries, a chunk per transaction, between
// batches: a writer waits at most one chunk.
func (wr *Writer) expireOnce(ctx context.Context) {
	if wr.expire == nil {
		return
	}
	for ctx.Err() == nil {
		n, err := wr.expire.ExpireKV(ctx, wr.now(), expireChunk)
		if err != nil {
			wr.log.Error("remove expired KV entries", "err", err)
			return
		}
		if n < expireChunk || len(wr.queue) > 0 {
			return
		}
	}
}

func (wr *Writer) drain() {
	for {
		select {
		case p := <-wr.queue:
			p.done <- ErrClosed
		default:
			return
		}
	}
}
