package clustertest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/shared"
)

// Figures for the note, not assertions: run with
// PICLOUD_CLUSTER_MEASURE=1 go test -run TestMeasure -v ./node/clustertest
// (root). Admin-write and KV-put latency on a single node, on a
// 3-member cluster's leader and on a follower, and each member's idle RSS.
func TestMeasure(t *testing.T) {
	if os.Getenv("PICLOUD_CLUSTER_MEASURE") == "" {
		t.Skip("measurements run with PICLOUD_CLUSTER_MEASURE=1")
	}
	l, nodes := formThree(t)
	single := l.addNode()
	deploy(t, nodes[0], "shop", "shop.lan")
	deploy(t, single, "shop", "shop.lan")
	leader := waitLeader(t, nodes)
	var follower *node
	for _, nd := range nodes {
		if nd != leader {
			follower = nd
		}
	}
	for _, tc := range []struct {
		name string
		nd   *node
	}{{"single node", single}, {"cluster leader", leader}, {"cluster follower", follower}} {
		kv := latencies(t, 200, func(i int) error {
			return tc.nd.c.KVPut(context.Background(), "shop", fmt.Sprintf("k%d", i), []byte("v"), shared.KVPutOptions{})
		})
		admin := latencies(t, 100, func(i int) error {
			_, err := tc.nd.c.AddDomain(context.Background(), "shop", fmt.Sprintf("d%d.%s.lan", i, strings.ReplaceAll(tc.name, " ", "-")))
			return err
		})
		t.Logf("%-16s KV put p50 %v p99 %v · admin write (add domain) p50 %v p99 %v", tc.name, kv[0], kv[1], admin[0], admin[1])
	}
	time.Sleep(5 * time.Second) // idle
	for _, nd := range append(nodes, single) {
		t.Logf("node %d idle RSS %s", nd.n, rss(nd.cmd.Process.Pid))
	}
	t.Logf("load average %s", loadavg())
}

// latencies runs n calls one after another and returns p50 and p99.
func latencies(t *testing.T, n int, call func(i int) error) [2]time.Duration {
	t.Helper()
	d := make([]time.Duration, n)
	for i := range n {
		start := time.Now()
		if err := call(i); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		d[i] = time.Since(start)
	}
	slices.Sort(d)
	return [2]time.Duration{d[n/2].Round(10 * time.Microsecond), d[n*99/100].Round(10 * time.Microsecond)}
}

func rss(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmRSS:"))
		}
	}
	return "?"
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.TrimSpace(string(b))
}
