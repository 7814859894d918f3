package ui

import (
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/picloud/picloud/console/registry"
	"github.com/picloud/picloud/node/nodetest"
	"github.com/picloud/picloud/node/server"
	"github.com/picloud/picloud/shared"
)

// Add member: picking a paired node fills its id and address and fetches
// its join token from it; the node's refusals show inside the dialog,
// saying what to do.
func TestClusterAddMemberDialog(t *testing.T) {
	h := paired(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	joinAddr := ln.Addr().String()
	ln.Close()
	b := nodetest.Start(t, func(c *server.Config) { c.ClusterBind = joinAddr })
	u, _ := url.Parse(b.AdminURL)
	if err := h.reg.Put(registry.Node{ID: b.NodeID(), Name: "pi-b", Token: b.Token, Address: u.Host, Scheme: "http"}); err != nil {
		t.Fatal(err)
	}
	h.c.cur.showCluster()
	h.wait()
	test.Tap(h.button("Add member…"))
	h.wait()
	v := h.c.cur.cluster
	f := v.addForm
	if len(f.pick.Options) != 1 || !strings.HasPrefix(f.pick.Options[0], "pi-b") {
		t.Fatalf("paired nodes offered: %v, want pi-b only", f.pick.Options)
	}
	f.pick.SetSelectedIndex(0)
	h.wait()
	if f.id.Text != b.NodeID() || f.addr.Text != "127.0.0.1:7071" || f.tok.Text == "" {
		t.Fatalf("picked pi-b: id %q addr %q token %q; want its id, 127.0.0.1:7071 and a fetched token", f.id.Text, f.addr.Text, f.tok.Text)
	}
	f.addr.SetText(joinAddr) // the test node's cluster listener is not on the default port
	if _, err := b.Client.CreateApp(h.ctx(), shared.CreateAppRequest{Name: "Blog", Slug: "blog"}); err != nil {
		t.Fatal(err)
	}
	test.Tap(h.button("Add"))
	h.wait()
	if msg := v.addDialog.err.Text; !strings.Contains(msg, "holds apps or data of its own") {
		t.Fatalf("adding a node with an app: dialog says %q", msg)
	}
	f.tok.SetText("not-the-token")
	test.Tap(h.button("Add"))
	h.wait()
	if msg := v.addDialog.err.Text; !strings.Contains(msg, "join token is wrong") {
		t.Fatalf("adding with a wrong token: dialog says %q", msg)
	}
}

func TestClusterSummaryAndLastContact(t *testing.T) {
	id, leader := "C1", "AAA"
	name := func(m shared.ClusterMember) string { return "pi-" + strings.ToLower(m.NodeID) }
	members := []shared.ClusterMember{{NodeID: "AAA", State: "leader"}, {NodeID: "BBB", State: "follower", LastContactMS: 1500}}
	for _, tc := range []struct {
		name string
		cl   shared.Cluster
		want string
	}{
		{"alone", shared.Cluster{Members: members[:1]}, "This node is in no cluster."},
		{"leader", shared.Cluster{ID: &id, Leader: &leader, Members: members}, "Cluster C1: 2 members. Leader: pi-aaa."},
		{"no leader", shared.Cluster{ID: &id, Members: members}, "No leader: without a majority"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := clusterSummary(tc.cl, name); !strings.Contains(got, tc.want) {
				t.Errorf("summary %q, want it to contain %q", got, tc.want)
			}
		})
	}
	if got := lastContact(members[0]); got != "—" {
		t.Errorf("leader's last contact %q, want —", got)
	}
	if got := lastContact(members[1]); got != "1.5s ago" {
		t.Errorf("follower's last contact %q, want 1.5s ago", got)
	}
}

// With two real nodes in one cluster the view lists both with the leader
// named, the Logs tab's Whole cluster shows runs of both members, and
// Remove (a red confirm) takes the other member out.
func TestClusterViewOfATwoNodeCluster(t *testing.T) {
	h := paired(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	joinAddr := ln.Addr().String()
	ln.Close()
	b := nodetest.Start(t, func(c *server.Config) { c.ClusterBind = joinAddr; c.Name = "pi-b" })
	tok, err := b.Client.NewJoinToken(h.ctx())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.node.Client.AddMember(h.ctx(), shared.AddMemberRequest{NodeID: b.NodeID(), Address: joinAddr, JoinToken: tok.JoinToken}); err != nil {
		t.Fatalf("form the cluster: %v", err)
	}
	h.createApp("Logged", "logged")
	sc := h.createScript("logged", "a", `function handle(req) { return "a" }`)
	if _, err := h.node.Client.Execute(h.ctx(), sc.ID, shared.ExecuteRequest{}); err != nil {
		t.Fatal(err)
	}
	var ranOnB bool
	for range 100 { // b applies the script shortly after a commits it
		if _, err := b.Client.Execute(h.ctx(), sc.ID, shared.ExecuteRequest{}); err == nil {
			ranOnB = true
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !ranOnB {
		t.Fatal("the script never ran on b")
	}

	v := h.openApp("logged")
	v.Select("Logs")
	l := v.logs
	l.wholeCluster.SetChecked(true)
	nodesSeen := map[string]bool{}
	for range 50 {
		h.wait()
		nodesSeen = map[string]bool{}
		for _, lg := range l.logs {
			nodesSeen[lg.NodeID] = true
		}
		if len(nodesSeen) == 2 {
			break
		}
		time.Sleep(100 * time.Millisecond)
		l.reload()
	}
	if !nodesSeen[h.id] || !nodesSeen[b.NodeID()] {
		t.Fatalf("whole-cluster logs come from %v, want both members", nodesSeen)
	}
	l.show(l.logs[0])
	if !strings.HasPrefix(l.detail.Text, "on node ") {
		t.Errorf("detail %q does not name the member", l.detail.Text)
	}

	h.c.cur.showCluster()
	h.wait()
	cv := h.c.cur.cluster
	if !strings.Contains(cv.summary.Text, "2 members") || !strings.Contains(cv.summary.Text, "Leader:") || len(cv.list.Objects) != 2 {
		t.Fatalf("summary %q with %d rows; want 2 members and a leader", cv.summary.Text, len(cv.list.Objects))
	}
	var other shared.ClusterMember
	for _, m := range cv.last.Members {
		if m.NodeID == b.NodeID() {
			other = m
		}
	}
	if other.NodeID == "" || other.Address != joinAddr {
		t.Fatalf("members %+v: want b at %s", cv.last.Members, joinAddr)
	}
	cv.askRemove(other)
	h.wait()
	test.Tap(h.button("Delete"))
	h.wait()
	if !strings.Contains(cv.msg.Text, "Removed") {
		t.Fatalf("after Remove: %q", cv.msg.Text)
	}
	if cl, err := h.node.Client.Cluster(h.ctx()); err != nil || len(cl.Members) != 1 {
		t.Fatalf("after removing b the cluster lists %+v, %v; want one member", cl, err)
	}
}
