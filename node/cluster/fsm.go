package cluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/hashicorp/raft"

	"github.com/picloud/picloud/shared"
)

// fsm applies the log to the member's state machine and keeps the index
// applied, so a follower can wait for its own copy of a write.
type fsm struct {
	state StateMachine
	log   *slog.Logger

	mu      sync.Mutex
	applied uint64
	changed chan struct{} // closed and replaced at every applied index
}

func newFSM(state StateMachine, log *slog.Logger, applied uint64) *fsm {
	return &fsm{state: state, log: log, applied: applied, changed: make(chan struct{})}
}

func (n *Node) fsmState() *fsm { return n.fsm }

// Apply is raft.FSM's: the answer (a result) reaches the proposer on the
// leader through the ApplyFuture.
func (f *fsm) Apply(l *raft.Log) any {
	f.mu.Lock()
	done := l.Index <= f.applied
	f.mu.Unlock()
	if done || l.Type != raft.LogCommand {
		// Replayed at start (the store already holds it) or not a command.
		f.setApplied(l.Index)
		return result{Index: l.Index}
	}
	data, err := f.state.Apply(context.Background(), l.Index, l.Data)
	if _, contract := shared.AsError(err); err != nil && !contract {
		f.log.Error("cluster: apply failed on this member", "index", l.Index, "err", err)
	}
	f.setApplied(l.Index)
	return resultOf(l.Index, data, err)
}

func (f *fsm) setApplied(i uint64) {
	f.mu.Lock()
	if i > f.applied {
		f.applied = i
		close(f.changed)
		f.changed = make(chan struct{})
	}
	f.mu.Unlock()
}

func (f *fsm) waitApplied(ctx context.Context, i uint64) error {
	for {
		f.mu.Lock()
		done, ch := f.applied >= i, f.changed
		f.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Snapshot runs on Raft's FSM goroutine, between two applies: the state
// machine makes its consistent copy there (a file), and Persist streams it
// while Raft goes on applying.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	rc, err := f.state.Snapshot(context.Background())
	if err != nil {
		return nil, fmt.Errorf("cluster: snapshot: %w", err)
	}
	return &snapshot{copy: rc}, nil
}

// Restore replaces the state machine's data by a snapshot's.
func (f *fsm) Restore(r io.ReadCloser) error {
	defer r.Close()
	ctx := context.Background()
	if err := f.state.Restore(ctx, r); err != nil {
		return fmt.Errorf("cluster: restore: %w", err)
	}
	applied, err := f.state.AppliedIndex(ctx)
	if err != nil {
		return fmt.Errorf("cluster: restore: %w", err)
	}
	f.mu.Lock()
	f.applied = applied
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
	return nil
}

type snapshot struct{ copy io.ReadCloser }

func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := io.Copy(sink, s.copy); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("cluster: snapshot: %w", err)
	}
	return sink.Close()
}

func (s *snapshot) Release() { _ = s.copy.Close() }
