// Package replicate joins the manager's writes to the cluster's Raft log:
// Writer puts a manager.Command in the log (any member), State applies the
// log to the member's store in order (every member), KV batches and KV
// expiry go the same way. A node outside a cluster uses none of it.
package replicate

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/picloud/picloud/node/manager"
	"github.com/picloud/picloud/node/store"
)

// Log is the member's Raft node (*cluster.Node).
type Log interface {
	Apply(ctx context.Context, cmd []byte) ([]byte, error)
	IsLeader() bool
	Sync(ctx context.Context) error
}

// Applier runs a command on this member (*manager.API).
type Applier interface {
	ApplyCommand(ctx context.Context, c *manager.Command) (any, error)
}

// Store is the member's database (*store.Store) as snapshots see it.
type Store interface {
	AppliedIndex(ctx context.Context) (uint64, error)
	CopyReplicated(ctx context.Context, dir string) (io.ReadCloser, error)
	RestoreReplicated(ctx context.Context, dir string, r io.Reader) error
}

// State is the cluster's state machine over the member's store.
type State struct {
	store   Store
	sealer  Sealer // the cluster's secrets key: opens what proposers sealed
	tempDir string // for snapshot files (beside the database)

	applier atomic.Pointer[Applier]
	ready   chan struct{} // closed by SetApplier
}

// NewState is the state machine over st; commands apply once SetApplier
// has named who runs them (a member started at boot may get its first
// entries before the admin API exists).
func NewState(st Store, sealer Sealer, tempDir string) *State {
	return &State{store: st, sealer: sealer, tempDir: tempDir, ready: make(chan struct{})}
}

// SetApplier names who runs the commands (the admin API); call it once.
func (s *State) SetApplier(a Applier) {
	s.applier.Store(&a)
	close(s.ready)
}

// Apply runs one command of the log.
func (s *State) Apply(ctx context.Context, index uint64, b []byte) ([]byte, error) {
	select {
	case <-s.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var c manager.Command
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("command %d: %w", index, err)
	}
	if err := openSecrets(s.sealer, &c); err != nil {
		return nil, fmt.Errorf("command %d: %w", index, err)
	}
	v, err := (*s.applier.Load()).ApplyCommand(store.WithCommand(ctx, index, c.At), &c)
	if err != nil {
		return nil, err
	}
	return manager.EncodeResult(c.Op, v)
}

// Snapshot copies the replicated tables.
func (s *State) Snapshot(ctx context.Context) (io.ReadCloser, error) {
	return s.store.CopyReplicated(ctx, s.tempDir)
}

// Restore replaces the replicated tables.
func (s *State) Restore(ctx context.Context, r io.Reader) error {
	return s.store.RestoreReplicated(ctx, s.tempDir, r)
}

// AppliedIndex is the last index the store holds the writes of.
func (s *State) AppliedIndex(ctx context.Context) (uint64, error) { return s.store.AppliedIndex(ctx) }

// Writer is manager.Writer in a cluster: the command goes through the log
// and its answer is the one every member computed.
type Writer struct {
	Log    Log
	Sealer Sealer
}

// Write replicates c and returns its answer once committed and applied
// here; 503 no_quorum without a majority.
func (w *Writer) Write(ctx context.Context, c *manager.Command) (any, error) {
	wire := *c
	if err := sealSecrets(w.Sealer, &wire); err != nil {
		return nil, err
	}
	b, err := json.Marshal(&wire)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", c.Op, err)
	}
	out, err := w.Log.Apply(ctx, b)
	if err != nil {
		return nil, err
	}
	return manager.DecodeResult(c.Op, out)
}

// Sync brings this member up to date with the leader (manager.Syncer).
func (w *Writer) Sync(ctx context.Context) error { return w.Log.Sync(ctx) }

// KVCommitter is kv.Committer in a cluster: one log entry per batch.
type KVCommitter struct{ W *Writer }

// ApplyKV replicates the batch; results are each write's answer.
func (k KVCommitter) ApplyKV(ctx context.Context, batch []store.KVWrite, quota int64, now time.Time) ([]error, error) {
	v, err := k.W.Write(ctx, &manager.Command{Op: manager.OpKVBatch, At: now, KV: batch, Quota: quota})
	if err != nil {
		return nil, err
	}
	res, _ := v.([]error)
	if len(res) != len(batch) {
		return nil, fmt.Errorf("KV batch of %d answered %d results", len(batch), len(res))
	}
	return res, nil
}

// KVExpirer is kv.Expirer in a cluster: the leader proposes the sweep, so
// every member removes the same entries at the same point of the log (the
// quota a later put is checked against is the same everywhere).
type KVExpirer struct{ W *Writer }

// ExpireKV proposes one chunk of expiry on the leader; a follower does
// nothing.
func (k KVExpirer) ExpireKV(ctx context.Context, now time.Time, limit int) (int, error) {
	if !k.W.Log.IsLeader() {
		return 0, nil
	}
	v, err := k.W.Write(ctx, &manager.Command{Op: manager.OpKVExpire, At: now, Limit: limit})
	if err != nil {
		return 0, err
	}
	n, _ := v.(int)
	return n, nil
}
