package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"

	"github.com/picloud/picloud/shared"
)

// listState is a state machine of the cluster package's own tests: an
// append-only list that refuses a duplicate with a contract error, so the
// engine's side (ordering, answers, forwarding, snapshots) is tested apart
// from the store's.
type listState struct {
	mu      sync.Mutex
	items   []string
	applied uint64
}

func (s *listState) Apply(_ context.Context, index uint64, cmd []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range s.items {
		if it == string(cmd) {
			return nil, shared.Errorf(shared.CodeSlugTaken, "%s is taken", cmd)
		}
	}
	s.items = append(s.items, string(cmd))
	s.applied = index
	return []byte(fmt.Sprint(len(s.items))), nil
}

func (s *listState) Snapshot(context.Context) (io.ReadCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, _ := json.Marshal(struct {
		Items   []string
		Applied uint64
	}{s.items, s.applied})
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (s *listState) Restore(_ context.Context, r io.Reader) error {
	var v struct {
		Items   []string
		Applied uint64
	}
	if err := json.NewDecoder(r).Decode(&v); err != nil {
		return err
	}
	s.mu.Lock()
	s.items, s.applied = v.Items, v.Applied
	s.mu.Unlock()
	return nil
}

func (s *listState) AppliedIndex(context.Context) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applied, nil
}

func (s *listState) list() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.items, ",")
}

// inprocForwarder carries forwarded commands between in-process members.
type inprocForwarder struct {
	mu    sync.Mutex
	nodes map[string]*Node
}

func (f *inprocForwarder) Forward(ctx context.Context, leaderID, _ string, cmd []byte) ([]byte, error) {
	f.mu.Lock()
	n := f.nodes[leaderID]
	f.mu.Unlock()
	if n == nil {
		return nil, fmt.Errorf("no member %s", leaderID)
	}
	return n.ServeForward(ctx, cmd), nil
}

// fastConfig makes elections quick on loopback.
func fastConfig() *raft.Config {
	c := LANConfig()
	c.HeartbeatTimeout = 200 * time.Millisecond
	c.ElectionTimeout = 200 * time.Millisecond
	c.LeaderLeaseTimeout = 100 * time.Millisecond
	c.CommitTimeout = 5 * time.Millisecond
	return c
}

type testCluster struct {
	t      *testing.T
	nodes  []*Node
	states []*listState
	trans  []*raft.InmemTransport
	fwd    *inprocForwarder
}

func newTestCluster(t *testing.T, size int, tune func(*raft.Config)) *testCluster {
	t.Helper()
	tc := &testCluster{t: t, fwd: &inprocForwarder{nodes: map[string]*Node{}}}
	for i := range size {
		id := fmt.Sprintf("node%d", i)
		_, tr := raft.NewInmemTransport(raft.ServerAddress(id))
		for _, other := range tc.trans {
			tr.Connect(other.LocalAddr(), other)
			other.Connect(tr.LocalAddr(), tr)
		}
		rc := fastConfig()
		if tune != nil {
			tune(rc)
		}
		st := &listState{}
		n, err := New(Config{NodeID: id, DataDir: t.TempDir(), Transport: tr, State: st,
			Forwarder: tc.fwd, Raft: rc, ApplyTimeout: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		tc.fwd.nodes[id] = n
		tc.nodes, tc.states, tc.trans = append(tc.nodes, n), append(tc.states, st), append(tc.trans, tr)
		t.Cleanup(func() { _ = n.Shutdown() })
	}
	if err := tc.nodes[0].Bootstrap(); err != nil {
		t.Fatal(err)
	}
	tc.waitLeader()
	for i, n := range tc.nodes[1:] {
		if err := tc.nodes[0].AddVoter(context.Background(), n.ID(), string(tc.trans[i+1].LocalAddr())); err != nil {
			t.Fatal(err)
		}
	}
	return tc
}

func (tc *testCluster) waitLeader() *Node {
	tc.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, n := range tc.nodes {
			if n.raft.State() != raft.Shutdown && n.IsLeader() {
				return n
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	tc.t.Fatal("no leader elected")
	return nil
}

// waitEqual waits until every live member's list is want.
func (tc *testCluster) waitEqual(want string, skip ...int) {
	tc.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		same := true
		for i, st := range tc.states {
			if !contains(skip, i) && st.list() != want {
				same = false
			}
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			for i, st := range tc.states {
				tc.t.Errorf("member %d: %q", i, st.list())
			}
			tc.t.Fatalf("members did not converge on %q", want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func follower(tc *testCluster) (int, *Node) {
	for i, n := range tc.nodes {
		if !n.IsLeader() && n.raft.State() != raft.Shutdown {
			return i, n
		}
	}
	tc.t.Fatal("no follower")
	return 0, nil
}

// Writes sent to any member are applied in one order on every member, and
// a follower's answer comes after its own copy holds the write.
func TestWritesToAnyMemberReplicate(t *testing.T) {
	tc := newTestCluster(t, 3, nil)
	ctx := context.Background()
	fi, f := follower(tc)
	out, err := f.Apply(ctx, []byte("a"))
	if err != nil || string(out) != "1" {
		t.Fatalf("apply on a follower: %q, %v", out, err)
	}
	if got := tc.states[fi].list(); got != "a" {
		t.Fatalf("the follower answered before applying: %q", got)
	}
	if _, err := tc.waitLeader().Apply(ctx, []byte("b")); err != nil {
		t.Fatal(err)
	}
	tc.waitEqual("a,b")
}

// A command the state machine refuses comes back to the proposer, on a
// follower too, as the same contract error, and changes nothing anywhere.
func TestRefusedCommandAnswersTheContractError(t *testing.T) {
	tc := newTestCluster(t, 3, nil)
	ctx := context.Background()
	if _, err := tc.nodes[0].Apply(ctx, []byte("x")); err != nil {
		t.Fatal(err)
	}
	_, f := follower(tc)
	_, err := f.Apply(ctx, []byte("x"))
	e, ok := shared.AsError(err)
	if !ok || e.Code != shared.CodeSlugTaken || e.Status != 409 || e.Message != "x is taken" {
		t.Fatalf("duplicate on a follower: %v", err)
	}
	tc.waitEqual("x")
}

// Losing the leader keeps writes working on the others.
func TestLeaderLossKeepsWritesWorking(t *testing.T) {
	tc := newTestCluster(t, 3, nil)
	ctx := context.Background()
	if _, err := tc.nodes[1].Apply(ctx, []byte("before")); err != nil {
		t.Fatal(err)
	}
	old := tc.waitLeader()
	oldIdx := -1
	for i, n := range tc.nodes {
		if n == old {
			oldIdx = i
		}
	}
	if err := old.Shutdown(); err != nil {
		t.Fatal(err)
	}
	for i, n := range tc.nodes {
		if i != oldIdx {
			if _, err := n.Apply(ctx, []byte(fmt.Sprint("after", i))); err != nil {
				t.Fatalf("write to member %d after the leader went: %v", i, err)
			}
		}
	}
	var want []string
	for i := range tc.nodes {
		if i != oldIdx {
			want = append(want, fmt.Sprint("after", i))
		}
	}
	tc.waitEqual("before,"+strings.Join(want, ","), oldIdx)
}

// A member cut off from the majority answers writes no_quorum within the
// bounded wait.
func TestMinorityAnswersNoQuorum(t *testing.T) {
	tc := newTestCluster(t, 3, nil)
	ctx := context.Background()
	fi, f := follower(tc)
	// Cut the follower off from everyone.
	tc.trans[fi].DisconnectAll()
	for i, tr := range tc.trans {
		if i != fi {
			tr.Disconnect(tc.trans[fi].LocalAddr())
		}
	}
	tc.fwd.mu.Lock()
	delete(tc.fwd.nodes, tc.waitLeader().ID())
	tc.fwd.mu.Unlock()
	start := time.Now()
	_, err := f.Apply(ctx, []byte("lost"))
	if !shared.IsCode(err, shared.CodeNoQuorum) {
		t.Fatalf("write in the minority: %v", err)
	}
	if e, _ := shared.AsError(err); e.Status != 503 {
		t.Fatalf("status %d", e.Status)
	}
	if waited := time.Since(start); waited > 30*time.Second {
		t.Fatalf("no_quorum took %v", waited)
	}
	// The majority still takes writes.
	if _, err := tc.waitLeader().Apply(ctx, []byte("kept")); err != nil {
		t.Fatal(err)
	}
}

// A member that was away while the log was compacted catches up from a
// snapshot.
func TestLaggingMemberCatchesUpFromSnapshot(t *testing.T) {
	tc := newTestCluster(t, 3, func(c *raft.Config) {
		c.SnapshotThreshold = 16
		c.SnapshotInterval = 50 * time.Millisecond
		c.TrailingLogs = 4
	})
	ctx := context.Background()
	fi, _ := follower(tc)
	lag := tc.trans[fi]
	for i, tr := range tc.trans {
		if i != fi {
			tr.Disconnect(lag.LocalAddr())
			lag.Disconnect(tr.LocalAddr())
		}
	}
	var want []string
	for i := range 100 {
		v := fmt.Sprint("w", i)
		want = append(want, v)
		if _, err := tc.waitLeader().Apply(ctx, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	leader := tc.waitLeader()
	if err := leader.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	for i, tr := range tc.trans {
		if i != fi {
			tr.Connect(lag.LocalAddr(), lag)
			lag.Connect(tr.LocalAddr(), tr)
		}
	}
	tc.waitEqual(strings.Join(want, ","))
}

// After a compaction the log store has nothing below its first index, so
// a leader sends a member that needs those entries the snapshot instead of
// entries that are gone.
func TestCompactedEntriesAreGone(t *testing.T) {
	w, err := wal.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := uint64(1); i <= 6; i++ {
		if err := w.StoreLog(&raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.DeleteRange(1, 5); err != nil {
		t.Fatal(err)
	}
	var l raft.Log
	if err := (walLog{w}).GetLog(1, &l); err != raft.ErrLogNotFound {
		t.Fatalf("entry 1 after compacting 1-5: %v, %+v", err, l)
	}
	if err := (walLog{w}).GetLog(6, &l); err != nil || l.Data[0] != 6 {
		t.Fatalf("entry 6: %v, %+v", err, l)
	}
}
