package clustertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/picloud/picloud/shared"
)

// leaderOf asks nd who leads, "" when it knows no leader or cannot answer.
func leaderOf(nd *node) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cl, err := nd.c.Cluster(ctx)
	if err != nil || cl.Leader == nil {
		return ""
	}
	return *cl.Leader
}

func byID(nodes []*node, id string) *node {
	for _, nd := range nodes {
		if nd.id == id {
			return nd
		}
	}
	return nil
}

// waitLeader waits until every node of among names the same leader, not
// one of exclude, and returns it.
func waitLeader(t *testing.T, among []*node, exclude ...*node) *node {
	t.Helper()
	var leader *node
	waitFor(t, 60*time.Second, "one leader on every member", func() bool {
		id := leaderOf(among[0])
		for _, nd := range among[1:] {
			if leaderOf(nd) != id {
				return false
			}
		}
		leader = byID(among, id)
		for _, x := range exclude {
			if leader == x {
				return false
			}
		}
		return leader != nil
	})
	return leader
}

// putUntil retries a KV put on nd until it is acknowledged (a write during
// an election may answer no_quorum first).
func putUntil(t *testing.T, nd *node, key, value string) {
	t.Helper()
	var last error
	waitFor(t, 60*time.Second, fmt.Sprintf("put %s on node %d", key, nd.n), func() bool {
		last = nd.c.KVPut(context.Background(), "shop", key, []byte(value), shared.KVPutOptions{})
		return last == nil
	})
}

func waitServes(t *testing.T, nodes []*node, body string) {
	t.Helper()
	for _, nd := range nodes {
		waitFor(t, 60*time.Second, fmt.Sprintf("node %d answers %q", nd.n, body), func() bool {
			st, got, err := nd.get("shop.lan", "/")
			return err == nil && st == 200 && got == body
		})
	}
}

// The faults of SPEC §12 on three real processes: kill -9 the leader and
// the majority elects and takes writes, while clients on every member put
// and get KV keys and their history stays linearizable (porcupine); a member cut off from the others
// refuses writes with no_quorum while it keeps serving its apps, and
// catches up once healed, and so does a leader cut off from the rest; after every member restarts, state and
// membership are still there.
func TestLeaderKillPartitionRestart(t *testing.T) {
	_, nodes := formThree(t)
	deploy(t, nodes[0], "shop", "shop.lan")
	putUntil(t, nodes[1], "greeting", "one")
	waitServes(t, nodes, "hello one")

	// kill -9 the leader amid KV traffic on every member
	stopClients := clients(t, nodes)
	time.Sleep(3 * time.Second)
	leader := waitLeader(t, nodes)
	killedAt := time.Now()
	leader.kill()
	var rest []*node
	for _, nd := range nodes {
		if nd != leader {
			rest = append(rest, nd)
		}
	}
	next := waitLeader(t, rest, leader)
	t.Logf("new leader %d elected %v after kill -9 of leader %d", next.n, time.Since(killedAt).Round(10*time.Millisecond), leader.n)
	putUntil(t, rest[0], "greeting", "two")
	waitServes(t, rest, "hello two")
	time.Sleep(2 * time.Second) // traffic under the new leader
	stopClients()
	leader.start() // back as a follower, catches up
	waitServes(t, nodes, "hello two")

	// cut one follower off the cluster's LAN
	leader = waitLeader(t, nodes)
	var cut *node
	for _, nd := range nodes {
		if nd != leader {
			cut = nd
			break
		}
	}
	cut.linkDown()
	_, err := cut.c.CreateApp(context.Background(), shared.CreateAppRequest{Name: "Minority", Slug: "minority"})
	if se, ok := shared.AsError(err); !ok || se.Code != shared.CodeNoQuorum || se.Status != 503 {
		t.Fatalf("admin write on the cut-off member: %v; want 503 no_quorum", err)
	}
	err = cut.c.KVPut(context.Background(), "shop", "greeting", []byte("minority"), shared.KVPutOptions{})
	if !shared.IsCode(err, shared.CodeNoQuorum) {
		t.Fatalf("KV write on the cut-off member: %v; want no_quorum", err)
	}
	if st, body, err := cut.get("shop.lan", "/"); err != nil || st != 200 || body != "hello two" {
		t.Fatalf("the cut-off member serves %d %q, %v; want its apps as they were", st, body, err)
	}
	putUntil(t, leader, "greeting", "three") // the majority goes on
	cut.linkUp()
	waitServes(t, nodes, "hello three")
	if _, err := cut.c.App(context.Background(), "minority"); !shared.IsCode(err, shared.CodeNotFound) {
		t.Fatalf("the refused write exists after healing: %v", err)
	}

	// cut the leader off: it steps down and refuses, the others elect
	leader = waitLeader(t, nodes)
	leader.linkDown()
	var others []*node
	for _, nd := range nodes {
		if nd != leader {
			others = append(others, nd)
		}
	}
	waitLeader(t, others, leader)
	waitFor(t, 30*time.Second, "the cut-off old leader refuses writes with no_quorum", func() bool {
		err := leader.c.KVPut(context.Background(), "shop", "greeting", []byte("old-leader"), shared.KVPutOptions{})
		return shared.IsCode(err, shared.CodeNoQuorum)
	})
	if st, body, err := leader.get("shop.lan", "/"); err != nil || st != 200 || body != "hello three" {
		t.Fatalf("the cut-off old leader serves %d %q, %v; want its apps as they were", st, body, err)
	}
	putUntil(t, others[0], "greeting", "three-b")
	leader.linkUp()
	waitServes(t, nodes, "hello three-b")
	putUntil(t, others[1], "greeting", "three")

	// restart every member
	for _, nd := range nodes {
		nd.stop()
	}
	for _, nd := range nodes {
		nd.start()
	}
	waitLeader(t, nodes)
	for _, nd := range nodes {
		cl, err := nd.c.Cluster(context.Background())
		if err != nil || len(cl.Members) != 3 {
			t.Fatalf("after restart node %d lists %+v, %v; want 3 members", nd.n, cl, err)
		}
	}
	waitServes(t, nodes, "hello three")
	putUntil(t, nodes[2], "greeting", "four")
	waitServes(t, nodes, "hello four")
}
