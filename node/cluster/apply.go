package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/picloud/picloud/shared"
)

// result is a command's answer as the state machine gave it, the same on
// every member; it crosses the forwarding channel as JSON.
type result struct {
	Index  uint64          `json:"index"`
	Data   []byte          `json:"data,omitempty"`
	Status int             `json:"status,omitempty"`
	Err    json.RawMessage `json:"error,omitempty"` // a *shared.Error's envelope
}

func (r result) err() error {
	if len(r.Err) == 0 {
		return nil
	}
	var e shared.Error
	if err := json.Unmarshal(r.Err, &e); err != nil {
		return fmt.Errorf("cluster: answer's error: %w", err)
	}
	e.Status = r.Status
	return &e
}

func resultOf(index uint64, data []byte, err error) result {
	r := result{Index: index, Data: data}
	if err == nil {
		return r
	}
	e, ok := shared.AsError(err)
	if !ok {
		// A fault of the member that applied it, never a validation result:
		// the proposer sees 500 internal, the text stays in that member's log.
		e = shared.Errorf(shared.CodeInternal, "internal error")
	}
	r.Status = e.Status
	r.Err, _ = json.Marshal(e)
	return r
}

// Apply replicates cmd and returns the state machine's answer once a
// majority has committed it and this member has applied it.
func (n *Node) Apply(ctx context.Context, cmd []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, n.cfg.ApplyTimeout, errNoQuorumWait)
	defer cancel()
	res, err := n.propose(ctx, cmd)
	if err != nil {
		if errors.Is(context.Cause(ctx), errNoQuorumWait) {
			return nil, NoQuorum("no commit within " + n.cfg.ApplyTimeout.String())
		}
		return nil, err
	}
	// A follower answers once it has applied the command itself, so a read
	// on this member after the answer sees the write.
	if err := n.fsmState().waitApplied(ctx, res.Index); err != nil {
		return nil, NoQuorum("not applied here yet")
	}
	return res.Data, res.err()
}

var errNoQuorumWait = errors.New("apply timeout")

// propose sends cmd to the leader, this member or the one it forwards to,
// retrying while an election is going on.
func (n *Node) propose(ctx context.Context, cmd []byte) (result, error) {
	start := time.Now()
	for {
		if n.IsLeader() {
			res, err := n.applyOrRead(ctx, cmd)
			if !shared.IsCode(err, shared.CodeNoQuorum) {
				return res, err
			}
		} else if id, addr := n.Leader(); id != "" && n.cfg.Forwarder != nil {
			res, err := n.forward(ctx, id, addr, cmd)
			if err == nil || ctx.Err() != nil {
				return res, err
			}
			n.log.Debug("cluster: forward", "leader", id, "err", err)
		} else if id != "" {
			return result{}, NoQuorum("this member cannot reach the leader")
		} else if time.Since(start) > n.cfg.LeaderWait {
			// No leader known for that long: this member is cut off from a
			// majority (or the cluster lost one), not in a short election.
			return result{}, NoQuorum("no leader for " + n.cfg.LeaderWait.String())
		}
		select {
		case <-ctx.Done():
			return result{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// applyOrRead applies cmd on the leader; an empty cmd is Sync's read.
func (n *Node) applyOrRead(ctx context.Context, cmd []byte) (result, error) {
	if len(cmd) == 0 {
		return n.readIndex(ctx)
	}
	return n.applyLocal(ctx, cmd)
}

func (n *Node) applyLocal(ctx context.Context, cmd []byte) (result, error) {
	f := n.raft.Apply(cmd, n.cfg.ApplyTimeout)
	if err := n.wait(ctx, f); err != nil {
		return result{}, err
	}
	res, ok := f.Response().(result)
	if !ok {
		return result{}, fmt.Errorf("cluster: state machine answered %T", f.Response())
	}
	return res, nil
}

func (n *Node) forward(ctx context.Context, id, addr string, cmd []byte) (result, error) {
	b, err := n.cfg.Forwarder.Forward(ctx, id, addr, cmd)
	if err != nil {
		return result{}, err
	}
	var res result
	if err := json.Unmarshal(b, &res); err != nil {
		return result{}, fmt.Errorf("cluster: leader's answer: %w", err)
	}
	if e, ok := shared.AsError(res.err()); ok && e.Code == shared.CodeNoQuorum {
		return result{}, e // the leader lost its majority: retry or time out
	}
	return res, nil
}

// Sync waits until this member has applied everything the leader had
// committed when Sync was called (Raft's read index), so that what a
// request reads here next includes every write answered before it on
// any member. Without a leader or a majority it gives up after
// SyncTimeout with no_quorum; the caller may then serve what it has.
func (n *Node) Sync(ctx context.Context) error {
	ctx, cancel := context.WithTimeoutCause(ctx, n.cfg.SyncTimeout, errNoQuorumWait)
	defer cancel()
	res, err := n.propose(ctx, nil)
	if err == nil {
		err = n.fsm.waitApplied(ctx, res.Index)
	}
	if err != nil && errors.Is(context.Cause(ctx), errNoQuorumWait) {
		return NoQuorum("no leader reachable within " + n.cfg.SyncTimeout.String())
	}
	return err
}

// readIndex is the leader's side of Sync: its commit index, once it has
// confirmed it still leads a majority.
func (n *Node) readIndex(ctx context.Context) (result, error) {
	if err := n.wait(ctx, n.raft.VerifyLeader()); err != nil {
		return result{}, err
	}
	return result{Index: n.raft.CommitIndex()}, nil
}

// ServeForward is the leader's side of Forwarder: it applies a follower's
// command (or, for an empty one, answers Sync's read index) and returns
// the answer to send back. A member that is no longer the leader answers
// no_quorum and the follower tries again.
func (n *Node) ServeForward(ctx context.Context, cmd []byte) []byte {
	var res result
	if !n.IsLeader() {
		res = resultOf(0, nil, NoQuorum("not the leader"))
	} else if r, err := n.applyOrRead(ctx, cmd); err != nil {
		res = resultOf(0, nil, err)
	} else {
		res = r
	}
	b, _ := json.Marshal(res)
	return b
}
