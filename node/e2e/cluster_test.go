package e2e

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/picloud/picloud/node/cluster"
	"github.com/picloud/picloud/node/nodetest"
	"github.com/picloud/picloud/node/server"
	"github.com/picloud/picloud/shared"
)

// These tests run whole nodes in-process as a cluster formed the way a
// user forms one (join token on the joining node, POST members on a
// member), so Raft, forwarding and the secrets key travel over the pinned
// TLS cluster network on loopback.

type member struct {
	dir  string
	addr string // cluster address, kept across restarts
	n    *nodetest.Node
	e    *env
	c    *cluster.Node
}

type testCluster struct {
	t       *testing.T
	members []*member
	raft    func() *raft.Config
}

// testRaft: quick elections that still hold on a loaded 2-core machine.
func testRaft() *raft.Config {
	c := cluster.LANConfig()
	c.HeartbeatTimeout = 500 * time.Millisecond
	c.ElectionTimeout = 500 * time.Millisecond
	c.LeaderLeaseTimeout = 250 * time.Millisecond
	c.CommitTimeout = 5 * time.Millisecond
	return c
}

// raftAddr is a loopback address for a member's cluster listener, which a
// restart binds again. It is below the ephemeral range, so no outgoing
// connection takes the port while the member is down.
func raftAddr(t *testing.T) string {
	t.Helper()
	for range 100 {
		addr := fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12000))
		if ln, err := net.Listen("tcp", addr); err == nil {
			ln.Close()
			return addr
		}
	}
	t.Fatal("no free port")
	return ""
}

// newCluster starts size nodes and adds each to the first one's cluster.
func newCluster(t *testing.T, size int, tune func(*raft.Config)) *testCluster {
	t.Helper()
	tc := &testCluster{t: t, raft: func() *raft.Config {
		c := testRaft()
		if tune != nil {
			tune(c)
		}
		return c
	}}
	for i := range size {
		tc.members = append(tc.members, &member{dir: t.TempDir(), addr: raftAddr(t)})
		tc.start(i)
		if i == 0 {
			continue
		}
		m := tc.members[i]
		tok, err := m.e.c.NewJoinToken(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tc.members[0].e.c.AddMember(t.Context(), shared.AddMemberRequest{
			NodeID: m.n.NodeID(), Address: m.addr, JoinToken: tok.JoinToken}); err != nil {
			t.Fatalf("add member %d: %v", i, err)
		}
	}
	for _, m := range tc.members {
		m.c = m.n.ClusterMember()
	}
	return tc
}

// start (re)starts member i on its data directory and cluster address.
func (tc *testCluster) start(i int) {
	tc.t.Helper()
	m := tc.members[i]
	m.n = nodetest.StartIn(tc.t, m.dir, func(c *server.Config) {
		c.Name = fmt.Sprint("member-", i)
		c.ClusterBind = m.addr
		c.ClusterRaft = tc.raft()
	})
	m.e = wrap(tc.t, m.n)
	m.c = m.n.ClusterMember()
}

func (tc *testCluster) stop(i int) {
	m := tc.members[i]
	m.n.Stop(tc.t)
	m.c = nil
}

func (tc *testCluster) up() []int {
	var out []int
	for i, m := range tc.members {
		if m.c != nil {
			out = append(out, i)
		}
	}
	return out
}

func (tc *testCluster) leader() *member {
	tc.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, i := range tc.up() {
			if tc.members[i].c.IsLeader() {
				return tc.members[i]
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	tc.t.Fatal("no leader")
	return nil
}

// follower is a running member that is not the leader.
func (tc *testCluster) follower() *member {
	tc.t.Helper()
	l := tc.leader()
	for _, i := range tc.up() {
		if tc.members[i] != l {
			return tc.members[i]
		}
	}
	tc.t.Fatal("no follower")
	return nil
}

// converge waits until every running member holds the same replicated
// rows, and returns them.
func (tc *testCluster) converge() string {
	tc.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		dumps := map[int]string{}
		same := true
		var first string
		for k, i := range tc.up() {
			d, err := tc.members[i].n.Store().DumpReplicated(tc.t.Context())
			if err != nil {
				tc.t.Fatal(err)
			}
			dumps[i] = d
			if k == 0 {
				first = d
			} else if d != first {
				same = false
			}
		}
		if same {
			return first
		}
		if time.Now().After(deadline) {
			for i, d := range dumps {
				tc.t.Logf("member %d:\n%s", i, d)
			}
			tc.t.Fatal("members did not converge")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const kvScript = `async function handle(req, env) {
  if (req.method === "PUT") {
    try { await env.KV.put(req.path.slice(1), req.body); return "stored"; }
    catch (e) { return {status: 503, body: e.constructor.name + ": " + e.message}; }
  }
  return (await env.KV.get(req.path.slice(1))) ?? "none";
}
function scheduled(event, env) {}`

func kvPut(e *env, app, key, value string) reply {
	e.t.Helper()
	return e.admin(request{Method: http.MethodPut, Path: shared.PathApps + "/" + app + "/kv/" + key, Body: []byte(value)})
}

// SPEC §12: every kind of admin write and KV write, sent to any member,
// reaches every member in the same order: their replicated tables end
// identical, a refused write answers the same contract error from a
// follower, and every member's data plane serves the result.
func TestClusterReplicatesEveryWrite(t *testing.T) {
	tc := newCluster(t, 3, nil)
	l, f := tc.leader(), tc.follower()
	var f2 *member
	for _, m := range tc.members {
		if m != l && m != f {
			f2 = m
		}
	}
	f.e.createApp("Shop", "shop")
	f2.e.claim("shop", "shop.example")
	sc := l.e.script("shop", "kv", kvScript, nil)
	f.e.route("shop", sc.ID, "ANY", "/*key", "")
	// The conflict is decided inside the apply on every member.
	_, err := f2.e.c.CreateRoute(t.Context(), "shop", shared.CreateRouteRequest{ScriptID: sc.ID, Method: "ANY", Path: "/*key"})
	nodetest.WantError(t, err, 409, shared.CodeRouteConflict)
	if _, err := f2.e.c.UpdateApp(t.Context(), "shop", shared.UpdateAppRequest{Name: ptr("The Shop")}); err != nil {
		t.Fatal(err)
	}
	if r := f.e.adminJSON("POST", shared.PathApps+"/shop/schedules", `{"script_id":`+fmt.Sprint(sc.ID)+`,"cron":"0 3 * * *"}`); r.Status != 201 {
		t.Fatalf("schedule: %d %s", r.Status, r.Body)
	}
	if _, err := f2.e.c.SetEgress(t.Context(), "shop", []string{"api.example.com"}); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{`{"value":"plain"}`, `{"value":"s3cret","secret":true}`} {
		name := "PLAIN"
		if strings.Contains(body, "secret") {
			name = "TOKEN"
		}
		if r := f.e.adminJSON("PUT", shared.PathApps+"/shop/env/"+name, body); r.Status != 200 {
			t.Fatalf("env %s: %d %s", name, r.Status, r.Body)
		}
	}
	if r := kvPut(f2.e, "shop", "admin-key", "v1"); r.Status != 204 {
		t.Fatalf("KV put on a follower: %d %s", r.Status, r.Body)
	}
	if r := f.e.data(request{Method: "PUT", Host: "shop.example", Path: "/script-key", Body: []byte("v2")}); r.String() != "stored" {
		t.Fatalf("a script's KV put on a follower: %d %s", r.Status, r.Body)
	}
	src := named("v2")
	if _, err := f2.e.c.UpdateScript(t.Context(), sc.ID, shared.UpdateScriptRequest{Description: &src}); err != nil {
		t.Fatal(err)
	}
	other := f.e.createApp("Gone", "gone")
	d := f2.e.claim("gone", "gone.example")
	if err := l.e.c.DeleteDomain(t.Context(), "gone", d.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.e.c.DeleteApp(t.Context(), fmt.Sprint(other.ID)); err != nil {
		t.Fatal(err)
	}
	tc.converge()
	tc.wantClusterView()
	for i, m := range tc.members {
		if r := m.e.get("shop.example", "/script-key"); r.String() != "v2" {
			t.Errorf("member %d serves %d %q", i, r.Status, r.Body)
		}
		if r := m.e.get("shop.example", "/admin-key"); r.String() != "v1" {
			t.Errorf("member %d serves %d %q", i, r.Status, r.Body)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// wantClusterView checks GET /api/v1/admin/cluster on every member: one
// id, one leader, every member with its name, cluster address and state.
func (tc *testCluster) wantClusterView() {
	tc.t.Helper()
	leader := tc.leader()
	deadline := time.Now().Add(30 * time.Second)
	for i, m := range tc.members {
		for {
			cl, err := m.e.c.Cluster(tc.t.Context())
			if err != nil {
				tc.t.Fatal(err)
			}
			problem := clusterViewProblem(tc, cl, leader)
			if problem == "" {
				break
			}
			if time.Now().After(deadline) {
				tc.t.Fatalf("member %d's cluster view %+v: %s", i, cl, problem)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func clusterViewProblem(tc *testCluster, cl shared.Cluster, leader *member) string {
	first, err := tc.members[0].n.Store().ClusterMeta(tc.t.Context())
	switch {
	case err != nil:
		return err.Error()
	case cl.ID == nil || *cl.ID != first["id"] || *cl.ID == "":
		return "not the cluster's id"
	case cl.Leader == nil || *cl.Leader != leader.n.NodeID():
		return "not the leader"
	case len(cl.Members) != len(tc.members):
		return "not every member"
	}
	for _, cm := range cl.Members {
		i := -1
		for j, m := range tc.members {
			if m.n.NodeID() == cm.NodeID {
				i = j
			}
		}
		want := "follower"
		if cm.NodeID == leader.n.NodeID() {
			want = "leader"
		}
		if i < 0 || cm.Name != fmt.Sprint("member-", i) || cm.Address != tc.members[i].addr || !cm.Voter || cm.State != want {
			return fmt.Sprintf("member %+v", cm)
		}
	}
	return ""
}

// A node in no cluster shows itself alone, with no cluster id.
func TestClusterViewAlone(t *testing.T) {
	e := wrap(t, nodetest.Start(t, func(c *server.Config) { c.Name = "alone" }))
	cl, err := e.c.Cluster(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if cl.ID != nil || cl.Leader != nil || len(cl.Members) != 1 || cl.Members[0].NodeID != e.n.NodeID() ||
		cl.Members[0].Name != "alone" || !cl.Members[0].Voter {
		t.Fatalf("a lone node's cluster view: %+v", cl)
	}
}

// SPEC §12: losing the leader keeps writes working; a member without a
// majority answers writes 503 no_quorum, a script's KV write rejects with
// an Error saying no_quorum, and reads keep serving; when the others come
// back everything converges, and a restart of every member keeps the
// state and elects a leader.
func TestClusterLeaderLossMinorityAndRestart(t *testing.T) {
	tc := newCluster(t, 3, nil)
	tc.members[1].e.createApp("Shop", "shop")
	tc.members[2].e.claim("shop", "shop.example")
	sc := tc.members[0].e.script("shop", "kv", kvScript, nil)
	tc.members[1].e.route("shop", sc.ID, "ANY", "/*key", "")

	old := tc.leader()
	oldIdx := indexOf(tc, old)
	tc.stop(oldIdx)
	for _, i := range tc.up() {
		if r := kvPut(tc.members[i].e, "shop", fmt.Sprint("after-", i), "x"); r.Status != 204 {
			t.Fatalf("write to member %d after the leader stopped: %d %s", i, r.Status, r.Body)
		}
	}
	tc.converge()

	// Stop a second member: the last one is a minority.
	lone := tc.up()[0]
	tc.stop(tc.up()[1])
	m := tc.members[lone]
	start := time.Now()
	_, err := m.e.c.CreateApp(t.Context(), shared.CreateAppRequest{Name: "Lost"})
	nodetest.WantError(t, err, 503, shared.CodeNoQuorum)
	t.Logf("no_quorum after %v", time.Since(start).Round(time.Millisecond))
	r := m.e.data(request{Method: "PUT", Host: "shop.example", Path: "/lost", Body: []byte("x")})
	if !strings.HasPrefix(r.String(), "Error: ") || !strings.Contains(r.String(), "no_quorum") {
		t.Fatalf("a script's KV write without a majority: %d %q", r.Status, r.Body)
	}
	if r := m.e.get("shop.example", "/after-"+fmt.Sprint(lone)); r.String() != "x" {
		t.Fatalf("KV read in the minority: %d %q", r.Status, r.Body)
	}
	if _, err := m.e.c.App(t.Context(), "shop"); err != nil {
		t.Fatalf("admin read in the minority: %v", err)
	}

	// Everyone back: one cluster again.
	for i := range tc.members {
		if tc.members[i].c == nil {
			tc.start(i)
		}
	}
	if r := kvPut(tc.leader().e, "shop", "healed", "y"); r.Status != 204 {
		t.Fatalf("write after healing: %d %s", r.Status, r.Body)
	}
	before := tc.converge()
	if strings.Contains(before, "Lost") {
		t.Fatal("the write refused with no_quorum was applied")
	}

	// Restart every member: same state, a leader, writes work.
	for i := range tc.members {
		tc.stop(i)
	}
	for i := range tc.members {
		tc.start(i)
	}
	tc.leader()
	if got := tc.converge(); got != before {
		t.Fatalf("state after restarting every member differs:\n%s\nbefore:\n%s", got, before)
	}
	if r := kvPut(tc.follower().e, "shop", "restarted", "z"); r.Status != 204 {
		t.Fatalf("write after restart: %d %s", r.Status, r.Body)
	}
	tc.converge()
	members, err := tc.leader().c.Members()
	if err != nil || len(members) != 3 {
		t.Fatalf("membership after restart: %v, %v", members, err)
	}
}

func indexOf(tc *testCluster, m *member) int {
	for i, x := range tc.members {
		if x == m {
			return i
		}
	}
	return -1
}

// A member that was down while the log was compacted past what it had
// catches up from a snapshot of the leader's store.
func TestClusterLaggingMemberCatchesUpFromSnapshot(t *testing.T) {
	tc := newCluster(t, 3, func(c *raft.Config) {
		c.SnapshotThreshold = 16
		c.TrailingLogs = 4
		c.SnapshotInterval = 100 * time.Millisecond
	})
	tc.leader().e.createApp("Shop", "shop")
	lag := indexOf(tc, tc.follower())
	tc.stop(lag)
	for i := range 60 {
		if r := kvPut(tc.leader().e, "shop", fmt.Sprint("k", i), "v"); r.Status != 204 {
			t.Fatalf("put %d: %d %s", i, r.Status, r.Body)
		}
	}
	l := tc.leader()
	if err := l.c.Raft().Snapshot().Error(); err != nil && err != raft.ErrNothingNewToSnapshot {
		t.Fatal(err)
	}
	tc.start(lag)
	dump := tc.converge()
	if !strings.Contains(dump, "key=k59") {
		t.Fatal("the caught-up state lacks the last write")
	}
	if r := tc.members[lag].e.get("shop.example", "/"); r.Status == 0 {
		t.Fatal("member does not serve")
	}
}
