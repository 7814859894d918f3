package bench

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/picloud/picloud/shared"
)

// Issue 14: after an attack that takes the node's memory up by hundreds of
// megabytes, its resident memory returns to within twice its idle level
// within a minute.
func TestNodeMemoryReturnsAfterAttack(t *testing.T) {
	bin := buildNode(t)
	ctx := context.Background()
	n, err := StartNode(ctx, bin, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop(30 * time.Second)
	// Each run holds 20 strings of 1M non-ASCII characters: some 40 MB.
	var sc shared.Script
	src := `function handle(){ const a = []; for (let i = 0; i < 20; i++) a.push('é'.repeat((1 << 20) - 8) + i); return String(a.length) }`
	if err := n.Admin.Do(ctx, http.MethodPost, "/api/v1/admin/scripts",
		shared.CreateScriptRequest{AppID: "default", Name: "hog", Source: src}, &sc); err != nil {
		t.Fatal(err)
	}
	if err := n.Admin.Do(ctx, http.MethodPost, "/api/v1/admin/apps/default/routes",
		shared.CreateRouteRequest{ScriptID: sc.ID, Method: "GET", Path: "/hog"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := (Load{Addr: n.Addr, Host: "localhost", Requests: 50, Expect: []byte(HelloBody)}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	idle, err := settle(n, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Load{Addr: n.Addr, Host: "localhost", Path: "/hog", Concurrency: 4, Requests: 16, Timeout: 30 * time.Second,
		Expect: []byte("20")}.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors() > 0 {
		t.Fatalf("attack: %v (statuses %v)", res, res.Statuses)
	}
	peak, err := n.Mem()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for {
		m, err := n.Mem()
		if err != nil {
			t.Fatal(err)
		}
		if m.RSS <= 2*idle.RSS {
			t.Logf("RSS idle %s, peak %s, %s %v after the attack", MB(idle.RSS), MB(peak.Peak), MB(m.RSS), time.Since(start).Round(time.Second))
			return
		}
		if time.Since(start) > time.Minute {
			t.Fatalf("RSS %s a minute after the attack; idle %s, peak %s", MB(m.RSS), MB(idle.RSS), MB(peak.Peak))
		}
		time.Sleep(500 * time.Millisecond)
	}
}
