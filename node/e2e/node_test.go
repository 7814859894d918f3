package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/picloud/picloud/node/nodetest"
	"github.com/picloud/picloud/node/server"
	"github.com/picloud/picloud/shared"
)

// SPEC §1 PICLOUD_LOG_RETENTION: each app keeps only its newest logs.
func TestLogRetention(t *testing.T) {
	dir := t.TempDir()
	keep3 := func(c *server.Config) { c.LogRetention = 3 }
	e := wrap(t, nodetest.StartIn(t, dir, keep3))
	for i := range 10 {
		if r := e.get("localhost", fmt.Sprintf("/?n=%d", i)); r.Status != http.StatusOK {
			t.Fatalf("run %d: %d %s", i, r.Status, r.Body)
		}
	}
	e.n.Stop(t) // every queued log is written (and pruned) on shutdown
	e = wrap(t, nodetest.StartIn(t, dir, keep3))
	logs, err := e.c.Logs(e.ctx, shared.DefaultAppSlug, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 3 {
		t.Fatalf("%d logs kept, want 3", len(logs))
	}
}

// SPEC §1, §5: a lowered PICLOUD_SANDBOX_MAX_* ceiling caps the defaults and
// refuses overrides above it.
func TestCeiling(t *testing.T) {
	e := wrap(t, nodetest.Start(t, func(c *server.Config) { c.Ceiling.MaxOperations = 1000 }))
	sb, err := e.c.Sandbox(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sb.Ceiling.MaxOperations != 1000 || sb.Defaults.MaxOperations != 1000 {
		t.Errorf("sandbox = %+v, want ceiling and default max_operations 1000", sb)
	}
	_, err = e.c.CreateScript(e.ctx, shared.CreateScriptRequest{
		AppID: shared.DefaultAppSlug, Name: "greedy", Source: named("x"),
		Sandbox: shared.Overrides{"max_operations": 1001},
	})
	ae := nodetest.WantError(t, err, http.StatusUnprocessableEntity, shared.CodeSandboxExceedsCeiling)
	if ae.Details["requested"] != float64(1001) || ae.Details["ceiling"] != float64(1000) {
		t.Errorf("details = %v", ae.Details)
	}
	s := e.script(shared.DefaultAppSlug, "loop", `function handle() { for (var i = 0; i < 5000; i++) {} return "done"; }`, nil)
	r := e.admin(request{Method: "POST", Path: fmt.Sprintf("/api/v1/execute/%d", s.ID)})
	if ee := r.apiError(t, http.StatusInsufficientStorage, shared.CodeSandboxLimit); ee["limit"] != "max_operations" {
		t.Errorf("507 names %v", ee["limit"])
	}
}

// SPEC §4: changes take effect on the very next request, and requests
// racing a burst of changes never get a 5xx from the node.
func TestChangesUnderLoad(t *testing.T) {
	e := start(t)
	e.createApp("Busy", "busy")
	e.claim("busy", "busy.example.com")
	s := e.script("busy", "s", named("s"), nil)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	bad := make(chan string, 100)
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				r := e.get("busy.example.com", "/x/1")
				ok := r.Status == http.StatusOK && r.String() == "s" || r.Status == http.StatusNotFound
				if !ok {
					select {
					case bad <- fmt.Sprintf("%d %s", r.Status, r.Body):
					default:
					}
				}
			}
		})
	}
	for i := range 30 {
		rt := e.route("busy", s.ID, "GET", "/x/:id", "")
		if r := e.get("busy.example.com", "/x/1"); r.String() != "s" {
			t.Errorf("right after creating the route: %d %s", r.Status, r.Body)
		}
		e.route("busy", s.ID, "POST", fmt.Sprintf("/p%d", i), "")
		if err := e.c.DeleteRoute(e.ctx, "busy", rt.ID); err != nil {
			t.Fatal(err)
		}
		e.get("busy.example.com", "/x/1").apiError(t, http.StatusNotFound, shared.CodeNoRoute)
	}
	close(stop)
	wg.Wait()
	close(bad)
	for b := range bad {
		t.Errorf("answer during changes: %s", b)
	}
}

// SPEC §3: a method the admin API does not serve on a path is 405 with
// Allow; an unknown path is 404 not_found in the envelope.
func TestAdminMethodNotAllowed(t *testing.T) {
	e := start(t)
	r := e.adminJSON("PUT", "/api/v1/admin/apps", `{}`)
	r.apiError(t, http.StatusMethodNotAllowed, shared.CodeMethodNotAllowed)
	if allow := r.Header.Get("Allow"); allow != "GET, OPTIONS, POST" {
		t.Errorf("Allow = %q", allow)
	}
	e.adminJSON("GET", "/api/v1/admin/nope", "").apiError(t, http.StatusNotFound, shared.CodeNotFound)
	// Execute takes any method, custom ones too.
	r = e.admin(request{Method: "PURGE", Path: "/api/v1/execute/1"})
	if r.Status != http.StatusOK || r.String() != "Hello, World!" {
		t.Errorf("PURGE execute: %d %s", r.Status, r.Body)
	}
}

// SPEC §1, §6: the admin API speaks TLS by default, and a client pinned to
// the node id gets in while one pinned to another id is refused, saying why.
func TestAdminTLSPinnedToNodeID(t *testing.T) {
	n := nodetest.Start(t, func(c *server.Config) { c.AdminTLS = true })
	if !strings.HasPrefix(n.AdminURL, "https://") {
		t.Fatalf("admin URL %s, want https", n.AdminURL)
	}
	ctx := t.Context()
	id, err := shared.ProbeNodeID(ctx, n.AdminAddr().String())
	if err != nil || id != n.NodeID() {
		t.Fatalf("probed node id %q, %v; want %s", id, err, n.NodeID())
	}
	pinned := shared.NewClient(n.AdminURL, n.Token, shared.WithTLSConfig(shared.PinnedTLSConfig(n.NodeID())))
	if apps, err := pinned.ListApps(ctx); err != nil || len(apps) != 1 {
		t.Fatalf("pinned client: %v apps, %v", len(apps), err)
	}
	other := strings.Repeat("A", len(n.NodeID()))
	wrong := shared.NewClient(n.AdminURL, n.Token, shared.WithTLSConfig(shared.PinnedTLSConfig(other)))
	_, err = wrong.ListApps(ctx)
	var mismatch *shared.IdentityMismatchError
	if !errors.As(err, &mismatch) {
		t.Fatalf("client pinned to another id: %v, want *IdentityMismatchError", err)
	}
}

// An override stored under a generous ceiling is capped when the operator
// later lowers the ceiling: the script runs, and reports, the new ceiling.
func TestLoweredCeilingCapsStoredOverrides(t *testing.T) {
	dir := t.TempDir()
	e := wrap(t, nodetest.StartIn(t, dir))
	s := e.script(shared.DefaultAppSlug, "loop", `function handle() { for (var i = 0; i < 5000; i++) {} return "done"; }`,
		shared.Overrides{"max_operations": 1_000_000})
	execute := func() reply {
		return e.admin(request{Method: "POST", Path: fmt.Sprintf("/api/v1/execute/%d", s.ID)})
	}
	if r := execute(); r.Status != http.StatusOK {
		t.Fatalf("under the built-in ceiling: %d %s", r.Status, r.Body)
	}
	e.n.Stop(t)

	e = wrap(t, nodetest.StartIn(t, dir, func(c *server.Config) { c.Ceiling.MaxOperations = 500 }))
	got, err := e.c.Script(e.ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Sandbox["max_operations"] != 1_000_000 || got.EffectiveSandbox.MaxOperations != 500 {
		t.Errorf("stored %v, effective %d; want the override kept and 500 in force", got.Sandbox, got.EffectiveSandbox.MaxOperations)
	}
	if ee := execute().apiError(t, http.StatusInsufficientStorage, shared.CodeSandboxLimit); ee["limit"] != "max_operations" {
		t.Errorf("507 names %v", ee["limit"])
	}
}
