package orchestrator

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/node/executor"
	"github.com/picloud/picloud/shared"
)

// TestRunScheduled: a later trigger runs a script by id with an event
// through the one execution path and gets the run's outcome back, as its
// log records it: trigger cron, no host, method or path.
func TestRunScheduled(t *testing.T) {
	n := newNode(t)
	a := n.app("jobs")
	ok := n.script(a.ID, "ok", `async function scheduled(event, env) {
		await null; console.log(event.cron, event.timezone, event.scheduledTime, typeof env) }`, nil)
	rejects := n.script(a.ID, "rejects", `async function scheduled() { throw new Error("disk full") }`, nil)
	loops := n.script(a.ID, "loops", `function scheduled() { for (;;) {} }`, shared.Overrides{shared.KnobMaxOperations: 1000})
	web := n.script(a.ID, "web", `function handle() { return "web" }`, nil)
	n.rebuild()

	tick := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	ev := executor.ScheduledEvent{Cron: "0 3 * * *", ScheduledTime: tick, Timezone: "UTC"}
	for _, tc := range []struct {
		name      string
		script    int64
		status    int
		output    string
		errorPart string
	}{
		{"resolved", ok.ID, http.StatusOK, "0 3 * * * UTC 1796180400000 object\n", ""},
		{"rejected", rejects.ID, http.StatusInternalServerError, "", "disk full"},
		{"limit", loops.ID, http.StatusInsufficientStorage, "", "max_operations"},
		{"no scheduled function", web.ID, http.StatusInternalServerError, "", "no scheduled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := n.orch.RunScheduled(context.Background(), tc.script, ev)
			if err != nil {
				t.Fatal(err)
			}
			if l.Status != tc.status || l.Output != tc.output || !strings.Contains(l.Error, tc.errorPart) ||
				(tc.errorPart == "") != (l.Error == "") {
				t.Fatalf("status %d output %q error %q; want %d %q, error with %q", l.Status, l.Output, l.Error, tc.status, tc.output, tc.errorPart)
			}
			if l.Trigger != shared.TriggerCron || l.Host != "" || l.Method != "" || l.Path != "" || l.RouteID != nil ||
				l.AppID != a.ID || l.ScriptID != tc.script || l.StartedAt.IsZero() {
				t.Fatalf("log entry %+v", l)
			}
		})
	}
	if _, err := n.orch.RunScheduled(context.Background(), 999999, ev); err == nil {
		t.Fatal("an unknown script ran")
	} else if e, _ := shared.AsError(err); e == nil || e.Status != http.StatusNotFound {
		t.Fatalf("unknown script: %v, want 404", err)
	}
}

// TestAppBindingsOnOnePooledRuntime: two apps whose bindings differ take
// turns through the data plane on one pooled runtime; each sees its own
// env and never the other's.
func TestAppBindingsOnOnePooledRuntime(t *testing.T) {
	n := newNode(t, func(c *Config) { c.Executor = executor.New(executor.Options{PoolSize: 1}) })
	src := `function handle(req, env) { return [env.SECRET, typeof env.ONLY_A].join() }`
	a, b := n.app("a", "a.test"), n.app("b", "b.test")
	n.route(a.ID, n.script(a.ID, "s", src, nil).ID, "GET", "/", nil)
	n.route(b.ID, n.script(b.ID, "s", src, nil).ID, "GET", "/", nil)
	n.rebuild()
	snap := n.orch.current.Load()
	snap.apps[a.ID].bindings = &executor.Bindings{Vars: map[string]string{"SECRET": "of-a", "ONLY_A": "x"}}
	snap.apps[b.ID].bindings = &executor.Bindings{Vars: map[string]string{"SECRET": "of-b"}}
	n.orch.current.Store(snap)

	for range 3 {
		wantBody(t, n.get("a.test", "/"), http.StatusOK, "of-a,string")
		wantBody(t, n.get("b.test", "/"), http.StatusOK, "of-b,undefined")
	}
}

// TestExecuteBindsTheNamedRoutesParams: a test run naming one of the
// script's routes sees req.params as the data plane would bind them, and
// not the header that named the route.
func TestExecuteBindsTheNamedRoutesParams(t *testing.T) {
	n := newNode(t)
	a := n.app("ex")
	sc := n.script(a.ID, "echo", `function handle(req) {
  return Object.keys(req.params).sort().map(function (k) { return k + "=" + req.params[k]; }).join(",") +
    " route-header=" + req.headers["x-picloud-route"];
}`, nil)
	other := n.script(a.ID, "other", text("other"), nil)
	host := "api.example.com"
	rt := n.route(a.ID, sc.ID, "GET", "/posts/:id/*rest", &host)
	otherRoute := n.route(a.ID, other.ID, "ANY", "/x", nil)
	n.rebuild()

	run := func(routeID int64, path string) answer {
		hdr := http.Header{}
		if routeID != 0 {
			hdr.Set(shared.ExecuteRouteHeader, strconv.FormatInt(routeID, 10))
		}
		return do(t, n.admin.URL, "", "GET", fmt.Sprintf("/api/v1/execute/%d%s", sc.ID, path), nil, hdr)
	}
	wantBody(t, run(rt.ID, "/posts/7/a/b"), 200, "id=7,rest=/a/b route-header=undefined")
	wantBody(t, run(0, "/posts/7/a/b"), 200, " route-header=undefined")
	wantError(t, run(rt.ID, "/users/7"), 404, shared.CodeNoRoute)
	wantError(t, run(otherRoute.ID, "/x"), 404, shared.CodeNoRoute)
}
