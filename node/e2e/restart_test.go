package e2e

import (
	"net/http"
	"testing"

	"github.com/picloud/picloud/node/nodetest"
	"github.com/picloud/picloud/shared"
)

// SPEC §1, §2: a node restarted on the same data directory has everything it
// had, serves it at once, keeps its token and node id, and does not seed
// hello-world again once the default app has had a script.
func TestRestartKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	e := wrap(t, nodetest.StartIn(t, dir))
	e.createApp("Survivor", "first-name")
	renamed := "survivor"
	if _, err := e.c.UpdateApp(e.ctx, "first-name", shared.UpdateAppRequest{Slug: &renamed}); err != nil {
		t.Fatal(err)
	}
	e.claim("survivor", "survivor.example.com")
	e.claim("survivor", "*.survivor.example.com")
	s := e.script("survivor", "greet", `function handle(req) { console.log("greeting"); return "hi " + req.params.who; }`,
		shared.Overrides{"max_operations": 5000})
	e.route("survivor", s.ID, "GET", "/hi/:who", "")
	e.route("survivor", s.ID, "GET", "/only-here", "x.survivor.example.com")
	if r := e.get("a.survivor.example.com", "/hi/bob"); r.String() != "hi bob" {
		t.Fatalf("before restart: %d %s", r.Status, r.Body)
	}
	// The user deletes the seeded script: it must not come back.
	seeded, err := e.c.Scripts(e.ctx, shared.DefaultAppSlug)
	if err != nil || len(seeded) != 1 {
		t.Fatalf("seed: %+v, %v", seeded, err)
	}
	if err := e.c.DeleteScript(e.ctx, seeded[0].ID); err != nil {
		t.Fatal(err)
	}
	token, nodeID := e.n.Token, e.n.NodeID()
	e.n.Stop(t) // graceful: pending logs are written

	e = wrap(t, nodetest.StartIn(t, dir))
	if e.n.Token != token || e.n.NodeID() != nodeID {
		t.Errorf("token or node id changed across a restart")
	}
	app, err := e.c.App(e.ctx, "survivor")
	if err != nil || len(app.Domains) != 2 || app.ScriptCount != 1 || app.RouteCount != 2 {
		t.Fatalf("app after restart: %+v, %v", app, err)
	}
	if r := e.adminJSON("GET", "/api/v1/admin/apps/first-name/routes", ""); r.Status != http.StatusPermanentRedirect ||
		r.Header.Get("Location") != "/api/v1/admin/apps/survivor/routes" {
		t.Errorf("old slug after restart: %d %q", r.Status, r.Header.Get("Location"))
	}
	sc, err := e.c.Script(e.ctx, s.ID)
	if err != nil || sc.Source != s.Source || sc.Sandbox["max_operations"] != 5000 || sc.EffectiveSandbox.MaxOperations != 5000 || sc.Version != 1 {
		t.Errorf("script after restart: %+v, %v", sc, err)
	}
	for _, tc := range []struct{ host, path, want string }{
		{"survivor.example.com", "/hi/ann", "hi ann"},
		{"x.survivor.example.com", "/only-here", "hi undefined"},
	} {
		t.Run(tc.host+tc.path, func(t *testing.T) {
			e := e.sub(t)
			if r := e.get(tc.host, tc.path); r.Status != http.StatusOK || r.String() != tc.want {
				t.Errorf("after restart %s%s = %d %q, want %q", tc.host, tc.path, r.Status, r.Body, tc.want)
			}
		})
	}
	e.get("localhost", "/").apiError(t, http.StatusNotFound, shared.CodeNoRoute)

	logs := nodetest.WaitLogs(t, e.c, "survivor", s.ID, 3)
	if logs[len(logs)-1].Output == "" || logs[len(logs)-1].Trigger != shared.TriggerRoute {
		t.Errorf("log from before the restart: %+v", logs[len(logs)-1])
	}
}
