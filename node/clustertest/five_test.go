package clustertest

import (
	"os"
	"testing"
	"time"
)

// Five members lose two at once (the leader among them, kill -9): the
// three left elect, take writes and stay linearizable; the two come back
// and catch up. Long: PICLOUD_CLUSTER_LONG=1.
func TestFiveMembersLoseTwo(t *testing.T) {
	if os.Getenv("PICLOUD_CLUSTER_LONG") == "" {
		t.Skip("the 5-member test runs with PICLOUD_CLUSTER_LONG=1")
	}
	l := newLAN(t)
	var nodes []*node
	for range 5 {
		nodes = append(nodes, l.addNode())
	}
	for i, nd := range nodes[1:] {
		l.join(nodes[i], nd) // each through the last one added
	}
	deploy(t, nodes[4], "shop", "shop.lan")
	putUntil(t, nodes[2], "greeting", "one")
	waitServes(t, nodes, "hello one")

	stopClients := clients(t, nodes)
	time.Sleep(3 * time.Second)
	leader := waitLeader(t, nodes)
	down := []*node{leader}
	var rest []*node
	for _, nd := range nodes {
		switch {
		case nd == leader:
		case len(down) < 2:
			down = append(down, nd)
		default:
			rest = append(rest, nd)
		}
	}
	killedAt := time.Now()
	for _, nd := range down {
		nd.kill()
	}
	next := waitLeader(t, rest, down...)
	t.Logf("new leader %d elected %v after kill -9 of nodes %d and %d", next.n, time.Since(killedAt).Round(10*time.Millisecond), down[0].n, down[1].n)
	putUntil(t, rest[0], "greeting", "two")
	waitServes(t, rest, "hello two")
	time.Sleep(2 * time.Second)
	stopClients()
	for _, nd := range down {
		nd.start()
	}
	waitServes(t, nodes, "hello two")
	waitLeader(t, nodes)
}
