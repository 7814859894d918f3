package manager_test

import (
	"net/http"
	"testing"

	"github.com/picloud/picloud/node/nodetest"
	"github.com/picloud/picloud/shared"
)

// TestRoutesNeedHandle: a script may define only scheduled (SPEC §9), but
// a route to it is 422 validation_failed on script_id (SPEC §5), and a
// routed script cannot drop its handle; a script with neither function is
// refused at save time as before.
func TestRoutesNeedHandle(t *testing.T) {
	n := start(t)
	mustApp(t, n, "Jobs", "jobs")
	if _, err := n.c.AddDomain(n.ctx, "jobs", "jobs.test"); err != nil {
		t.Fatal(err)
	}
	cron := mustScript(t, n, "jobs", "nightly", `async function scheduled(event, env) { console.log(event.cron) }`)
	_, err := n.c.CreateRoute(n.ctx, "jobs", shared.CreateRouteRequest{ScriptID: cron.ID, Method: "GET", Path: "/"})
	if e := nodetest.WantError(t, err, http.StatusUnprocessableEntity, shared.CodeValidationFailed); e.Details["field"] != "script_id" {
		t.Fatalf("route to a scheduled-only script: field %v, want script_id", e.Details["field"])
	}
	if routes, err := n.c.Routes(n.ctx, "jobs"); err != nil || len(routes) != 0 {
		t.Fatalf("routes after the refusal: %v, %v", routes, err)
	}

	web := mustScript(t, n, "jobs", "web", `function handle(req) { return "web" }`)
	if _, err := n.c.CreateRoute(n.ctx, "jobs", shared.CreateRouteRequest{ScriptID: web.ID, Method: "GET", Path: "/"}); err != nil {
		t.Fatal(err)
	}
	only := `function scheduled(event) {}`
	_, err = n.c.UpdateScript(n.ctx, web.ID, shared.UpdateScriptRequest{Source: &only})
	if e := nodetest.WantError(t, err, http.StatusUnprocessableEntity, shared.CodeValidationFailed); e.Details["field"] != "source" {
		t.Fatalf("dropping handle of a routed script: field %v, want source", e.Details["field"])
	}
	if code, body := n.get("jobs.test", "/"); code != http.StatusOK || body != "web" {
		t.Fatalf("data plane after the refused change: %d %q", code, body)
	}
	both := `function handle(req) { return "both" } function scheduled(event) {}`
	if _, err := n.c.UpdateScript(n.ctx, web.ID, shared.UpdateScriptRequest{Source: &both}); err != nil {
		t.Fatalf("a routed script may add scheduled: %v", err)
	}
	if code, body := n.get("jobs.test", "/"); code != http.StatusOK || body != "both" {
		t.Fatalf("data plane after adding scheduled: %d %q", code, body)
	}

	_, err = n.c.CreateScript(n.ctx, shared.CreateScriptRequest{AppID: "jobs", Name: "neither", Source: `function other() {}`})
	if e := nodetest.WantError(t, err, http.StatusUnprocessableEntity, shared.CodeValidationFailed); e.Details["field"] != "source" {
		t.Fatalf("script with neither function: field %v, want source", e.Details["field"])
	}
}
