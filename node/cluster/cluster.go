package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"

	"github.com/picloud/picloud/shared"
)

// StateMachine is the member's replicated data (the store behind the
// node's command applier). Apply is called in log order on every member.
type StateMachine interface {
	// Apply runs one command. Its error, when it is a *shared.Error, is the
	// command's answer (every member computes the same one); any other
	// error is a fault of this member and is logged.
	Apply(ctx context.Context, index uint64, cmd []byte) ([]byte, error)
	// Snapshot makes a consistent copy of the replicated data as of the
	// last applied command and returns a reader of it; it is called between
	// two applies, and the reader is read (and closed) while later
	// commands apply.
	Snapshot(ctx context.Context) (io.ReadCloser, error)
	// Restore replaces the replicated data by a copy Snapshot made.
	Restore(ctx context.Context, r io.Reader) error
	// AppliedIndex is the index of the last command applied, kept in the
	// same transaction as the command's own writes, so that a restart does
	// not apply again what the store already holds (0 for a fresh store).
	AppliedIndex(ctx context.Context) (uint64, error)
}

// Forwarder carries a follower's command to the leader (the pinned cluster
// channel): the leader side calls ServeForward with the same bytes and
// sends back what it returns.
type Forwarder interface {
	Forward(ctx context.Context, leaderID, leaderAddr string, cmd []byte) ([]byte, error)
}

// Config configures a member. NodeID, DataDir, Transport and State are
// required.
type Config struct {
	NodeID    string
	DataDir   string // Raft's own files: <data>/raft
	Transport raft.Transport
	State     StateMachine
	Forwarder Forwarder // nil: a follower answers writes with no_quorum
	Logger    *slog.Logger

	// ApplyTimeout bounds a write's wait for a leader and a majority
	// (default 5 s); past it the write is 503 no_quorum.
	ApplyTimeout time.Duration
	// SyncTimeout bounds Sync's wait for the leader (default 2 s).
	SyncTimeout time.Duration
	// LeaderWait is how long a write waits for a leader to be known
	// before it answers no_quorum (default 2 s: a few election timeouts,
	// and shorter than a script's default timeout, so a script's KV write
	// rejects with no_quorum rather than running out of time).
	LeaderWait time.Duration
	// Raft is the engine's tuning; nil means LANConfig(). LocalID and
	// Logger are set by New.
	Raft *raft.Config
	// InMemory keeps the log and stable stores in memory (tests of
	// snapshots and elections that need no restart).
	InMemory bool
}

// LANConfig is hashicorp/raft's default tuned for a LAN of Pis: a leader
// is replaced within a few seconds of going silent.
func LANConfig() *raft.Config {
	c := raft.DefaultConfig()
	c.HeartbeatTimeout = 1000 * time.Millisecond
	c.ElectionTimeout = 1000 * time.Millisecond
	c.LeaderLeaseTimeout = 500 * time.Millisecond
	c.CommitTimeout = 20 * time.Millisecond
	// A snapshot (a VACUUM INTO of the store) every 8,192 commands; 2,048
	// kept after it let a member that was briefly away catch up from the
	// log, and bound the log on disk.
	c.SnapshotThreshold = 8192
	c.TrailingLogs = 2048
	return c
}

// ErrAlreadyBootstrapped: Bootstrap on a node that already has Raft state.
var ErrAlreadyBootstrapped = raft.ErrCantBootstrap

// Node is one member of a cluster.
type Node struct {
	cfg     Config
	raft    *raft.Raft
	fsm     *fsm
	log     *slog.Logger
	closers []func() error

	mu        sync.Mutex
	observers []func(leader bool)
	stop      chan struct{}
	done      chan struct{}
	shutdown  sync.Once
}

// New opens the member's Raft state and starts it. A node with state on
// disk rejoins its cluster; a new one waits for Bootstrap or to be added.
func New(cfg Config) (*Node, error) {
	if cfg.NodeID == "" || cfg.DataDir == "" || cfg.Transport == nil || cfg.State == nil {
		return nil, errors.New("cluster: NodeID, DataDir, Transport and State are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ApplyTimeout <= 0 {
		cfg.ApplyTimeout = 5 * time.Second
	}
	if cfg.SyncTimeout <= 0 {
		cfg.SyncTimeout = 2 * time.Second
	}
	if cfg.LeaderWait <= 0 {
		cfg.LeaderWait = 2 * time.Second
	}
	rc := LANConfig()
	if cfg.Raft != nil {
		c := *cfg.Raft
		rc = &c
	}
	rc.LocalID = raft.ServerID(cfg.NodeID)
	rc.Logger = newHCLogger(cfg.Logger)
	n := &Node{cfg: cfg, log: cfg.Logger, stop: make(chan struct{}), done: make(chan struct{})}
	logs, stable, snaps, err := n.openStores()
	if err != nil {
		n.closeStores()
		return nil, err
	}
	leaderCh := make(chan bool, 16)
	rc.NotifyCh = leaderCh
	// The store is durable and knows the last index it applied: Raft's
	// replay at start skips what it already holds, and no snapshot is
	// restored over it at start.
	rc.NoSnapshotRestoreOnStart = true
	applied, err := cfg.State.AppliedIndex(context.Background())
	if err != nil {
		n.closeStores()
		return nil, fmt.Errorf("cluster: applied index: %w", err)
	}
	n.fsm = newFSM(cfg.State, cfg.Logger, applied)
	r, err := raft.NewRaft(rc, n.fsm, logs, stable, snaps, cfg.Transport)
	if err != nil {
		n.closeStores()
		return nil, fmt.Errorf("cluster: start raft: %w", err)
	}
	n.raft = r
	go n.watchLeadership(leaderCh)
	return n, nil
}

// openStores opens the log, stable and snapshot stores under DataDir.
func (n *Node) openStores() (raft.LogStore, raft.StableStore, raft.SnapshotStore, error) {
	dir := filepath.Join(n.cfg.DataDir, "raft")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, nil, fmt.Errorf("cluster: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, newHCLogger(n.log))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("cluster: snapshot store: %w", err)
	}
	if n.cfg.InMemory {
		s := raft.NewInmemStore()
		return s, s, snaps, nil
	}
	// raft-wal, not raft-boltdb: one fsync and one write per append instead
	// of two fdatasyncs and five writes (2-4x faster here), and 64 MiB
	// segment files dropped as the log is compacted, where bbolt maps its
	// whole file, which never shrinks, into memory: at most 2 GB on the
	// 32-bit armv6/armv7 Pis (docs/architecture.md, "A cluster").
	walDir := filepath.Join(dir, "wal")
	if err := os.MkdirAll(walDir, 0o700); err != nil {
		return nil, nil, nil, fmt.Errorf("cluster: %w", err)
	}
	// Our own meta store: v0.4.0's Close leaves the one it opens itself
	// open, holding its file lock, so a member restarted in the same
	// process would wait for it forever.
	meta := &metadb.BoltMetaDB{}
	w, err := wal.Open(walDir, wal.WithLogger(newHCLogger(n.log)), wal.WithMetaStore(meta))
	if err != nil {
		_ = meta.Close()
		return nil, nil, nil, fmt.Errorf("cluster: log store: %w", err)
	}
	n.closers = append(n.closers, w.Close, meta.Close)
	return walLog{w}, w, snaps, nil
}

func (n *Node) closeStores() {
	for _, c := range n.closers {
		if err := c(); err != nil {
			n.log.Warn("cluster: close store", "err", err)
		}
	}
	n.closers = nil
}

// Bootstrap makes this fresh node the only voter of a new cluster, at the
// address its transport advertises, and snapshots its data with an empty
// log: what the node held before the cluster is in no command, so every
// member added later starts from that snapshot (replacing its own seeded
// data) and then follows the log. A node with Raft state answers
// ErrAlreadyBootstrapped (raft.ErrCantBootstrap) and changes nothing.
func (n *Node) Bootstrap() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*n.cfg.ApplyTimeout)
	defer cancel()
	f := n.raft.BootstrapCluster(raft.Configuration{Servers: []raft.Server{{
		Suffrage: raft.Voter, ID: raft.ServerID(n.cfg.NodeID), Address: n.cfg.Transport.LocalAddr(),
	}}})
	if err := f.Error(); err != nil {
		return err
	}
	if err := n.waitLeader(ctx); err != nil {
		return err
	}
	if err := n.wait(ctx, n.raft.Barrier(n.cfg.ApplyTimeout)); err != nil {
		return err
	}
	return n.compact(ctx)
}

// waitLeader waits until this member is the leader.
func (n *Node) waitLeader(ctx context.Context) error {
	for !n.IsLeader() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: not elected: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// compact snapshots now and drops the whole log before it.
func (n *Node) compact(ctx context.Context) error {
	rc := n.raft.ReloadableConfig()
	keep := rc.TrailingLogs
	rc.TrailingLogs = 0
	if err := n.raft.ReloadConfig(rc); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	defer func() {
		rc.TrailingLogs = keep
		_ = n.raft.ReloadConfig(rc)
	}()
	if err := n.wait(ctx, n.raft.Snapshot()); err != nil {
		return fmt.Errorf("cluster: first snapshot: %w", err)
	}
	return nil
}

// AddVoter adds a member (or changes its address) on the leader and waits
// until the change is committed.
func (n *Node) AddVoter(ctx context.Context, id, addr string) error {
	return n.wait(ctx, n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, n.cfg.ApplyTimeout))
}

// RemoveServer removes a member on the leader and waits for the commit.
func (n *Node) RemoveServer(ctx context.Context, id string) error {
	return n.wait(ctx, n.raft.RemoveServer(raft.ServerID(id), 0, n.cfg.ApplyTimeout))
}

// Leader is the current leader's id and address, both empty while there
// is none known to this member.
func (n *Node) Leader() (id, addr string) {
	a, i := n.raft.LeaderWithID()
	return string(i), string(a)
}

// IsLeader reports whether this member is the leader now.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// ID is this member's node id.
func (n *Node) ID() string { return n.cfg.NodeID }

// Raft is the engine itself, for the membership and network side (stats,
// barriers). Writes go through Apply.
func (n *Node) Raft() *raft.Raft { return n.raft }

// Member is one server of the cluster's configuration as this member sees
// it.
type Member struct {
	NodeID  string
	Address string
	Voter   bool
	// State is "leader", "follower" or "candidate" for this member,
	// "leader" or "follower" for the others as far as known.
	State string
	// LastContact is this member's last contact with the leader (zero on
	// the leader itself and for other members).
	LastContact time.Duration
}

// Members is the cluster's configuration with each member's state as this
// member knows it.
func (n *Node) Members() ([]Member, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("cluster: configuration: %w", err)
	}
	leaderID, _ := n.Leader()
	var out []Member
	for _, s := range f.Configuration().Servers {
		m := Member{NodeID: string(s.ID), Address: string(s.Address), Voter: s.Suffrage == raft.Voter, State: "follower"}
		switch {
		case string(s.ID) == leaderID:
			m.State = "leader"
		case string(s.ID) == n.cfg.NodeID:
			m.State = stateName(n.raft.State())
		}
		if string(s.ID) == n.cfg.NodeID && m.State != "leader" {
			if lc := n.raft.LastContact(); !lc.IsZero() {
				m.LastContact = time.Since(lc)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

func stateName(s raft.RaftState) string {
	switch s {
	case raft.Leader:
		return "leader"
	case raft.Candidate:
		return "candidate"
	case raft.Shutdown:
		return "shutdown"
	}
	return "follower"
}

// OnLeadership registers f, called with true when this member becomes the
// leader and false when it stops being it. f is called once at once with
// the current state.
func (n *Node) OnLeadership(f func(leader bool)) {
	n.mu.Lock()
	n.observers = append(n.observers, f)
	n.mu.Unlock()
	f(n.IsLeader())
}

func (n *Node) watchLeadership(ch <-chan bool) {
	defer close(n.done)
	for {
		select {
		case <-n.stop:
			return
		case leader := <-ch:
			n.log.Info("cluster: leadership", "node", n.cfg.NodeID, "leader", leader)
			n.mu.Lock()
			obs := append([]func(bool){}, n.observers...)
			n.mu.Unlock()
			for _, f := range obs {
				f(leader)
			}
		}
	}
}

// Shutdown stops the member; its data stays on disk.
// A second call does nothing.
func (n *Node) Shutdown() error {
	var err error
	n.shutdown.Do(func() {
		err = n.raft.Shutdown().Error()
		close(n.stop)
		<-n.done
		if c, ok := n.cfg.Transport.(interface{ Close() error }); ok {
			_ = c.Close()
		}
		n.closeStores()
	})
	return err
}

// wait waits for a Raft future, bounded by ctx; a failure for want of a
// leader or a majority is no_quorum.
func (n *Node) wait(ctx context.Context, f raft.Future) error {
	errc := make(chan error, 1)
	go func() { errc <- f.Error() }()
	select {
	case err := <-errc:
		return quorumError(err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// quorumError maps Raft's "not now" failures to the contract's no_quorum.
func quorumError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost),
		errors.Is(err, raft.ErrEnqueueTimeout), errors.Is(err, raft.ErrRaftShutdown),
		errors.Is(err, raft.ErrLeadershipTransferInProgress), errors.Is(err, raft.ErrAbortedByRestore):
		return NoQuorum(err.Error())
	}
	return fmt.Errorf("cluster: %w", err)
}

// NoQuorum is the contract's 503 no_quorum.
func NoQuorum(why string) *shared.Error {
	return shared.Errorf(shared.CodeNoQuorum, "no_quorum: the cluster has no leader with a majority (%s)", why)
}

// walLog is raft-wal's log store answering ErrLogNotFound below its first
// index: v0.4.0 still reads entries a compaction deleted, so a leader
// would replay a new member's log from index 1 instead of sending it the
// snapshot that holds what came before (the first node's own data).
type walLog struct{ *wal.WAL }

func (w walLog) GetLog(index uint64, l *raft.Log) error {
	first, err := w.WAL.FirstIndex()
	if err != nil {
		return err
	}
	if index < first {
		return raft.ErrLogNotFound
	}
	return w.WAL.GetLog(index, l)
}
