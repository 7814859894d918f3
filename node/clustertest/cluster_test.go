package clustertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/picloud/picloud/shared"
)

// formThree starts three nodes and makes them one cluster: the second
// joins through the first, the third through the second (a follower, so
// the add is forwarded to the leader).
func formThree(t *testing.T) (*lan, []*node) {
	l := newLAN(t)
	a, b, c := l.addNode(), l.addNode(), l.addNode()
	l.join(a, b)
	l.join(b, c)
	return l, []*node{a, b, c}
}

// deploy creates an app answering GET / on host with its KV value "greeting".
func deploy(t *testing.T, nd *node, slug, host string) {
	t.Helper()
	ctx := context.Background()
	if _, err := nd.c.CreateApp(ctx, shared.CreateAppRequest{Name: slug, Slug: slug}); err != nil {
		t.Fatalf("create app: %v", err)
	}
	if _, err := nd.c.AddDomain(ctx, slug, host); err != nil {
		t.Fatalf("add domain: %v", err)
	}
	sc, err := nd.c.CreateScript(ctx, shared.CreateScriptRequest{AppID: shared.AppRef(slug), Name: "hello",
		Source: `async function handle(req, env) { return "hello " + (await env.KV.get("greeting")); }`})
	if err != nil {
		t.Fatalf("create script: %v", err)
	}
	if _, err := nd.c.CreateRoute(ctx, slug, shared.CreateRouteRequest{ScriptID: sc.ID, Method: "GET", Path: "/"}); err != nil {
		t.Fatalf("create route: %v", err)
	}
}

// Three real nodes form a cluster over the HTTP API; a write on any member
// is served by every member's data plane, and the cluster page of logs
// names each member that ran the script.
func TestThreeNodesServeEveryWrite(t *testing.T) {
	_, nodes := formThree(t)
	a, b, c := nodes[0], nodes[1], nodes[2]
	deploy(t, c, "shop", "shop.lan") // through a follower
	ctx := context.Background()
	if err := b.c.KVPut(ctx, "shop", "greeting", []byte("world"), shared.KVPutOptions{}); err != nil {
		t.Fatalf("KV put on b: %v", err)
	}
	for _, nd := range nodes {
		waitFor(t, 30*time.Second, fmt.Sprintf("node %d serves the app", nd.n), func() bool {
			st, body, err := nd.get("shop.lan", "/")
			return err == nil && st == 200 && body == "hello world"
		})
	}
	logs, unreachable, err := a.c.ClusterLogs(ctx, "shop", 0, 100)
	if err != nil || len(unreachable) != 0 {
		t.Fatalf("cluster logs: %v, unreachable %v", err, unreachable)
	}
	seen := map[string]bool{}
	for _, lg := range logs {
		seen[lg.NodeID] = true
	}
	for _, nd := range nodes {
		if !seen[nd.id] {
			t.Errorf("the cluster page has no log from node %d (%s)", nd.n, nd.id)
		}
	}
}
