package clusternet

import (
	"context"
	"io"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/picloud/picloud/node/secrets"
	"github.com/picloud/picloud/shared"
)

// raftMember is hashicorp/raft itself behind the Cluster interface, in
// memory, as node/cluster runs it on a node's disk.
type raftMember struct {
	r    *raft.Raft
	id   string
	addr raft.ServerAddress
	fsm  *countFSM
}

// Bootstrap is at the transport's address, as node/cluster does.
func (m *raftMember) Bootstrap() error {
	return m.r.BootstrapCluster(raft.Configuration{Servers: []raft.Server{{ID: raft.ServerID(m.id), Address: m.addr}}}).Error()
}

func (m *raftMember) AddVoter(_ context.Context, id, addr string) error {
	return m.r.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, 10*time.Second).Error()
}

func (m *raftMember) RemoveServer(_ context.Context, id string) error {
	return m.r.RemoveServer(raft.ServerID(id), 0, 10*time.Second).Error()
}

func (m *raftMember) Leader() (string, string) {
	a, i := m.r.LeaderWithID()
	return string(i), string(a)
}

func (m *raftMember) Raft() *raft.Raft { return m.r }

// testNode is a node's cluster side: its Net, membership, key and data.
type testNode struct {
	logs    []shared.Log // what its Logs reader answers
	net     *Net
	m       *Membership
	keyPath string
	key     *secrets.Swappable
	ownData atomic.Bool
	member  atomic.Pointer[raftMember]
}

func newTestNode(t *testing.T) *testNode {
	t.Helper()
	tn := &testNode{net: newNet(t, nil), keyPath: filepath.Join(t.TempDir(), secrets.FileName)}
	k, _, err := secrets.Load(tn.keyPath)
	if err != nil {
		t.Fatal(err)
	}
	tn.key = secrets.NewSwappable(k)
	tn.m = NewMembership(MembershipConfig{
		Net: tn.net, Tokens: NewJoinTokens(nil), SecretsPath: tn.keyPath, Secrets: tn.key,
		AdvertiseFile: filepath.Join(filepath.Dir(tn.keyPath), "cluster.addr"),
		IDFile:        filepath.Join(filepath.Dir(tn.keyPath), "cluster.id"),
		Logs: func(_ context.Context, appID, _ int64, limit int) ([]shared.Log, error) {
			var out []shared.Log
			for _, l := range tn.logs {
				if l.AppID == appID && len(out) < limit {
					out = append(out, l)
				}
			}
			return out, nil
		},
		HoldsOwnData: func(context.Context) (bool, error) { return tn.ownData.Load(), nil },
		Start:        func(context.Context) (Cluster, error) { return tn.start(t) },
	})
	return tn
}

func (tn *testNode) start(t *testing.T) (Cluster, error) {
	cfg := raft.DefaultConfig()
	cfg.LocalID = raft.ServerID(tn.net.NodeID())
	cfg.LogOutput = io.Discard
	cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = 500*time.Millisecond, 500*time.Millisecond, 250*time.Millisecond
	trans := raft.NewNetworkTransport(tn.net.StreamLayer(), 3, 10*time.Second, io.Discard)
	store := raft.NewInmemStore()
	fsm := &countFSM{}
	r, err := raft.NewRaft(cfg, fsm, store, store, raft.NewInmemSnapshotStore(), trans)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { r.Shutdown().Error() })
	m := &raftMember{r: r, id: tn.net.NodeID(), addr: trans.LocalAddr(), fsm: fsm}
	tn.member.Store(m)
	return m, nil
}

func (tn *testNode) token(t *testing.T) string {
	t.Helper()
	tok, err := tn.m.NewJoinToken(context.Background())
	if err != nil || time.Until(tok.ExpiresAt) < 9*time.Minute {
		t.Fatalf("join token %+v, %v", tok, err)
	}
	return tok.JoinToken
}

func (tn *testNode) addReq(tok string) shared.AddMemberRequest {
	return shared.AddMemberRequest{NodeID: tn.net.NodeID(), Address: tn.net.ListenAddr().String(), JoinToken: tok}
}

func addCode(_ shared.ClusterMember, err error) string { return errCode(err) }

func errCode(err error) string {
	if se, ok := shared.AsError(err); ok {
		return se.Code
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return ""
}

// Three nodes form a cluster through the membership API: the first add
// forms it, a follower's add goes through the leader, refusals carry the
// contract's codes, every member ends with the cluster's secrets key and
// replicates, and a member can be removed from any member.
func TestMembershipFormsAndGrows(t *testing.T) {
	ctx := context.Background()
	a, b, c := newTestNode(t), newTestNode(t), newTestNode(t)

	if got := addCode(a.m.Add(ctx, b.addReq("wrong"))); got != shared.CodeInvalidJoinToken {
		t.Fatalf("add with a wrong token: %q, want invalid_join_token", got)
	}
	if a.m.Current() != nil {
		t.Fatal("a refused join formed a cluster")
	}
	if _, err := a.m.Add(ctx, b.addReq(b.token(t))); err != nil {
		t.Fatalf("add b to a: %v", err)
	}
	for _, n := range []*testNode{a, b} {
		saved, err := ReadAdvertise(n.m.cfg.AdvertiseFile)
		if err != nil || saved != n.net.ListenAddr().String() {
			t.Errorf("saved cluster address %q, %v; want %s for the next start", saved, err, n.net.ListenAddr())
		}
	}
	if b.key.Key().ID() != a.key.Key().ID() {
		t.Fatalf("b's secrets key %s, want the cluster's %s", b.key.Key().ID(), a.key.Key().ID())
	}
	reused := b.token(t)
	if got := addCode(a.m.Add(ctx, shared.AddMemberRequest{NodeID: b.net.NodeID(), Address: b.net.ListenAddr().String(), JoinToken: reused})); got != "" {
		t.Fatalf("adding a member again: %q, want it answered as added", got)
	}

	c.ownData.Store(true)
	if got := addCode(b.m.Add(ctx, c.addReq(c.token(t)))); got != shared.CodeNodeNotEmpty {
		t.Fatalf("add a node with data: %q, want node_not_empty", got)
	}
	c.ownData.Store(false)
	wrongID := c.addReq(c.token(t))
	wrongID.NodeID = a.net.NodeID() + "X"
	if got := addCode(b.m.Add(ctx, wrongID)); got != shared.CodeJoinFailed {
		t.Fatalf("add with an id the node does not hold: %q, want join_failed", got)
	}
	// b is a follower: the add runs on the leader, a.
	if _, err := b.m.Add(ctx, c.addReq(c.token(t))); err != nil {
		t.Fatalf("add c through b: %v", err)
	}
	for _, n := range []*testNode{a, b, c} {
		if len(n.m.servers()) != 3 {
			t.Fatalf("%s sees %d members, want 3", n.net.NodeID(), len(n.m.servers()))
		}
	}
	if c.key.Key().ID() != a.key.Key().ID() {
		t.Fatal("c did not get the cluster's secrets key")
	}
	if err := a.member.Load().r.Apply([]byte("after-join"), 10*time.Second).Error(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "c applies a write made after it joined", func() bool { return c.member.Load().fsm.has("after-join") })
	if id := a.m.ClusterID(); id == "" || b.m.ClusterID() != id || c.m.ClusterID() != id {
		t.Fatalf("cluster ids %q %q %q; want the one a minted, on every member", id, b.m.ClusterID(), c.m.ClusterID())
	}
	if saved, err := readLine(c.m.cfg.IDFile); err != nil || saved != a.m.ClusterID() {
		t.Fatalf("c saved cluster id %q, %v", saved, err)
	}
	if got := errCode(c.m.Remove(ctx, "NOSUCHNODE")); got != shared.CodeNotFound {
		t.Fatalf("remove a stranger: %q, want not_found", got)
	}
	if err := c.m.Remove(ctx, b.net.NodeID()); err != nil {
		t.Fatalf("remove b through c: %v", err)
	}
	waitFor(t, "a and c see two members", func() bool { return len(a.m.servers()) == 2 && len(c.m.servers()) == 2 })
	if a.m.IsMember(b.net.NodeID()) {
		t.Fatal("a still admits the removed member")
	}
}

// formCluster adds every node to the first, through the API's rules.
func formCluster(t *testing.T, nodes ...*testNode) {
	t.Helper()
	for _, n := range nodes[1:] {
		if _, err := nodes[0].m.Add(context.Background(), n.addReq(n.token(t))); err != nil {
			t.Fatalf("add %s: %v", n.net.NodeID(), err)
		}
	}
}

// A cluster page holds every member's newest logs, newest first, each with
// the node that ran it; a member that does not answer is named, not waited
// for.
func TestClusterLogsMerge(t *testing.T) {
	a, b, c := newTestNode(t), newTestNode(t), newTestNode(t)
	t0 := time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)
	at := func(id int64, sec int) shared.Log {
		return shared.Log{ID: id, AppID: 7, StartedAt: t0.Add(time.Duration(sec) * time.Second)}
	}
	b.logs = []shared.Log{at(2, 50), at(1, 10)}
	c.logs = []shared.Log{at(9, 40), at(8, 30), {ID: 5, AppID: 8, StartedAt: t0.Add(time.Hour)}}
	formCluster(t, a, b, c)
	local := []shared.Log{at(3, 45), at(2, 20)}

	a.logs = local
	got, unreachable := a.m.ClusterLogs(context.Background(), 7, 0, 5, local)
	if len(unreachable) != 0 {
		t.Fatalf("unreachable %v with every member up", unreachable)
	}
	want := []struct {
		node *testNode
		id   int64
	}{{b, 2}, {a, 3}, {c, 9}, {c, 8}, {a, 2}}
	if len(got) != len(want) {
		t.Fatalf("merged %d logs, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].NodeID != w.node.net.NodeID() || got[i].ID != w.id {
			t.Errorf("log %d = node %s id %d, want node %s id %d", i, got[i].NodeID, got[i].ID, w.node.net.NodeID(), w.id)
		}
	}
	c.net.Close()
	got, unreachable = a.m.ClusterLogs(context.Background(), 7, 0, 10, local)
	if len(unreachable) != 1 || unreachable[0] != c.net.NodeID() {
		t.Fatalf("unreachable %v, want only c", unreachable)
	}
	if len(got) != 4 { // a's two and b's two
		t.Fatalf("with c down: %d logs, want 4", len(got))
	}
}
