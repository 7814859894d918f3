package e2e

import (
	"fmt"
	"testing"

	"github.com/picloud/picloud/node/nodetest"
)

// counterScript counts its requests in the app's KV.
const counterScript = `async function handle(req, env) {
  const n = Number(await env.KV.get("hits") || 0) + 1;
  await env.KV.put("hits", String(n));
  return String(n);
}`

// SPEC §7: a script's KV writes are there for the next request, and after
// a restart; each app has its own namespace.
func TestKVThroughTheDataPlane(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := wrap(t, nodetest.StartIn(t, dir))
	for _, app := range []string{"a", "b"} {
		e.createApp("App "+app, app)
		e.claim(app, app+".example")
		s := e.script(app, "counter", counterScript, nil)
		e.route(app, s.ID, "GET", "/", "")
	}
	for i := 1; i <= 3; i++ {
		if r := e.get("a.example", "/"); r.Status != 200 || r.String() != fmt.Sprint(i) {
			t.Fatalf("request %d: %d %s", i, r.Status, r.Body)
		}
	}
	if r := e.get("b.example", "/"); r.String() != "1" {
		t.Fatalf("app b counts from a's hits: %s", r.Body)
	}
	e.n.Stop(t)
	e = wrap(t, nodetest.StartIn(t, dir))
	if r := e.get("a.example", "/"); r.String() != "4" {
		t.Fatalf("after a restart: %d %s", r.Status, r.Body)
	}
}

// SPEC §7: the 1,001st KV call of a run answers 507 sandbox_limit with
// limit max_kv_operations, and the node serves the next request.
func TestKVCallLimitAnswers507(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.createApp("Loop", "loop")
	e.claim("loop", "loop.example")
	s := e.script("loop", "loop", `async function handle(req, env) {
		for (let i = 0; ; i++) { try { await env.KV.get("k" + i) } catch (e) {} }
	}`, nil)
	e.route("loop", s.ID, "GET", "/", "")
	ok := e.script("loop", "ok", counterScript, nil)
	e.route("loop", ok.ID, "GET", "/ok", "")
	if got := e.get("loop.example", "/").apiError(t, 507, "sandbox_limit")["limit"]; got != "max_kv_operations" {
		t.Fatalf("limit %v, want max_kv_operations", got)
	}
	if r := e.get("loop.example", "/ok"); r.Status != 200 || r.String() != "1" {
		t.Fatalf("the next request: %d %s", r.Status, r.Body)
	}
}
