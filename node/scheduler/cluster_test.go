package scheduler

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/picloud/picloud/node/cluster"
)

// leadershipOnly is a cluster state machine that holds nothing: these tests
// are about who leads, which is what the scheduler follows.
type leadershipOnly struct{}

func (leadershipOnly) Apply(context.Context, uint64, []byte) ([]byte, error) { return nil, nil }
func (leadershipOnly) Snapshot(context.Context) (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(nil)), nil
}
func (leadershipOnly) Restore(context.Context, io.Reader) error     { return nil }
func (leadershipOnly) AppliedIndex(context.Context) (uint64, error) { return 0, nil }

// SPEC §12: schedules fire once per tick cluster-wide, on the leader. Three
// members run the same schedule, each scheduler passive unless its member
// leads (as node/server wires it); across a leadership change every tick
// fires exactly once, on the leader of the moment.
func TestCronFiresOnTheLeaderOnly(t *testing.T) {
	var nodes []*node
	var members []*cluster.Node
	var trans []*raft.InmemTransport
	var scripts []int64
	for i := range 3 {
		n := newNode(t)
		sc := n.script("tick", printTick, nil)
		scripts = append(scripts, sc.ID)
		n.schedule(sc.ID, "* * * * *", "UTC")
		_, tr := raft.NewInmemTransport(raft.ServerAddress(fmt.Sprint("m", i)))
		for _, o := range trans {
			tr.Connect(o.LocalAddr(), o)
			o.Connect(tr.LocalAddr(), tr)
		}
		rc := cluster.LANConfig()
		rc.HeartbeatTimeout, rc.ElectionTimeout, rc.LeaderLeaseTimeout = 300*time.Millisecond, 300*time.Millisecond, 150*time.Millisecond
		m, err := cluster.New(cluster.Config{NodeID: fmt.Sprint("m", i), DataDir: t.TempDir(), Transport: tr,
			State: leadershipOnly{}, Raft: rc, InMemory: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Shutdown() })
		n.run()
		n.sched.SetPassive(true)
		m.OnLeadership(func(leader bool) { n.sched.SetPassive(!leader) })
		nodes, members, trans = append(nodes, n), append(members, m), append(trans, tr)
	}
	if err := members[0].Bootstrap(); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 3; i++ {
		if err := members[0].AddVoter(t.Context(), members[i].ID(), fmt.Sprint("m", i)); err != nil {
			t.Fatal(err)
		}
	}
	// advance moves every member's clock by a minute in step.
	advance := func() {
		for _, n := range nodes {
			n.clock.Advance(time.Minute)
		}
		for _, n := range nodes {
			n.settle()
		}
	}
	waitActive := func(leader int) {
		deadline := time.Now().Add(20 * time.Second)
		for !members[leader].IsLeader() || !onlyActive(nodes, leader) {
			if time.Now().After(deadline) {
				t.Fatalf("member %d leads but the schedulers are not passive elsewhere", leader)
			}
			time.Sleep(10 * time.Millisecond)
		}
		for _, n := range nodes {
			n.settle()
		}
	}
	first := leaderIndex(t, members)
	waitActive(first)
	advance() // 12:01
	advance() // 12:02
	if err := members[first].Raft().LeadershipTransfer().Error(); err != nil {
		t.Fatal(err)
	}
	second := leaderIndex(t, members)
	if second == first {
		t.Fatal("leadership did not move")
	}
	waitActive(second)
	advance() // 12:03
	advance() // 12:04

	var all []string
	for i, n := range nodes {
		got := ticks(n.logs(scripts[i]))
		switch i {
		case first:
			if !slices.Equal(got, []string{"2026-12-02T12:01:00.000Z", "2026-12-02T12:02:00.000Z"}) {
				t.Errorf("first leader fired %q", got)
			}
		case second:
			if !slices.Equal(got, []string{"2026-12-02T12:03:00.000Z", "2026-12-02T12:04:00.000Z"}) {
				t.Errorf("second leader fired %q", got)
			}
		default:
			if len(got) != 0 {
				t.Errorf("member %d, never the leader, fired %q", i, got)
			}
		}
		all = append(all, got...)
	}
	if len(all) != 4 {
		t.Errorf("the cluster fired %d runs for 4 ticks: %q", len(all), all)
	}
}

func leaderIndex(t *testing.T, members []*cluster.Node) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for i, m := range members {
			if m.IsLeader() {
				return i
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no leader")
	return -1
}

func onlyActive(nodes []*node, leader int) bool {
	for i, n := range nodes {
		n.sched.mu.Lock()
		passive := n.sched.passive
		n.sched.mu.Unlock()
		if passive != (i != leader) {
			return false
		}
	}
	return true
}
