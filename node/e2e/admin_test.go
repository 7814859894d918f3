package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/picloud/picloud/node/nodetest"
	"github.com/picloud/picloud/shared"
)

// SPEC §3: every admin request needs the Bearer token; otherwise 401 with
// WWW-Authenticate: Bearer.
func TestAdminNeedsToken(t *testing.T) {
	e := start(t)
	for _, tc := range []struct{ method, path, auth string }{
		{"GET", "/api/v1/admin/apps", ""},
		{"GET", "/api/v1/admin/apps", "Bearer wrong"},
		{"GET", "/api/v1/admin/apps", "Basic " + e.n.Token},
		{"POST", "/api/v1/admin/apps", ""},
		{"GET", "/api/v1/admin/sandbox", ""},
		{"GET", "/api/v1/admin/resolve?host=localhost", ""},
		{"DELETE", "/api/v1/admin/apps/default", ""},
		{"GET", "/api/v1/admin/no-such-endpoint", ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			e := e.sub(t)
			req := e.newRequest(e.n.AdminURL, request{Method: tc.method, Path: tc.path})
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			r := e.do(req)
			r.apiError(t, http.StatusUnauthorized, shared.CodeUnauthorized)
			if r.Header.Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("%s %s: WWW-Authenticate %q", tc.method, tc.path, r.Header.Get("WWW-Authenticate"))
			}
		})
	}
	if _, err := e.c.ListApps(e.ctx); err != nil {
		t.Fatalf("with the token: %v", err)
	}
}

// SPEC §3 JSON shapes: field names, [] rather than null, host null for a
// host-less route, sandbox {} and effective_sandbox, sandbox info.
func TestShapes(t *testing.T) {
	e := start(t)
	r := e.adminJSON("POST", "/api/v1/admin/apps", `{"name": "Shapes", "description": "d"}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("create app: %d %s", r.Status, r.Body)
	}
	app := r.json(t)
	for _, k := range []string{"id", "slug", "name", "description", "created_at", "updated_at", "script_count", "route_count"} {
		if _, ok := app[k]; !ok {
			t.Errorf("App lacks %q: %s", k, r.Body)
		}
	}
	get := e.adminJSON("GET", "/api/v1/admin/apps/shapes", "").json(t)
	if ds, ok := get["domains"].([]any); !ok || len(ds) != 0 {
		t.Errorf("GET app without claims: domains = %v, want []", get["domains"])
	}
	for _, path := range []string{
		"/api/v1/admin/apps/shapes/domains",
		"/api/v1/admin/apps/shapes/routes",
		"/api/v1/admin/apps/shapes/logs",
		"/api/v1/admin/scripts?app=shapes",
	} {
		r := e.adminJSON("GET", path, "")
		m := r.json(t)
		if len(m) != 1 {
			t.Errorf("%s: %s", path, r.Body)
		}
		for k, v := range m {
			if l, ok := v.([]any); !ok || len(l) != 0 {
				t.Errorf("%s: %q = %v, want []", path, k, v)
			}
		}
	}
	apps := e.adminJSON("GET", "/api/v1/admin/apps", "").json(t)
	if l, ok := apps["apps"].([]any); !ok || len(l) != 2 {
		t.Errorf("apps list = %v", apps)
	}

	d := e.adminJSON("POST", "/api/v1/admin/apps/shapes/domains", `{"pattern": "shapes.example.com"}`)
	if d.Status != http.StatusCreated {
		t.Fatalf("claim: %d %s", d.Status, d.Body)
	}
	for _, k := range []string{"id", "pattern", "created_at"} {
		if _, ok := d.json(t)[k]; !ok {
			t.Errorf("Domain lacks %q: %s", k, d.Body)
		}
	}

	sr := e.adminJSON("POST", "/api/v1/admin/scripts", `{"app_id": "shapes", "name": "s", "source": "function handle(r) { return 'x'; }"}`)
	if sr.Status != http.StatusCreated {
		t.Fatalf("create script: %d %s", sr.Status, sr.Body)
	}
	sc := sr.json(t)
	if sb, ok := sc["sandbox"].(map[string]any); !ok || len(sb) != 0 {
		t.Errorf("sandbox without overrides = %v, want {}", sc["sandbox"])
	}
	eff, _ := sc["effective_sandbox"].(map[string]any)
	for _, k := range shared.Knobs {
		if _, ok := eff[k]; !ok {
			t.Errorf("effective_sandbox lacks %s: %v", k, sc["effective_sandbox"])
		}
	}
	if sc["version"] != float64(1) {
		t.Errorf("new script version %v, want 1", sc["version"])
	}
	id := int64(sc["id"].(float64))

	// app_id as a number works too.
	if r := e.adminJSON("POST", "/api/v1/admin/scripts", fmt.Sprintf(`{"app_id": %v, "name": "n", "source": "function handle(r) { return 1; }"}`, app["id"])); r.Status != http.StatusCreated {
		t.Errorf("app_id as number: %d %s", r.Status, r.Body)
	}

	rr := e.adminJSON("POST", "/api/v1/admin/apps/shapes/routes", fmt.Sprintf(`{"script_id": %d, "method": "get", "path": "/"}`, id))
	if rr.Status != http.StatusCreated {
		t.Fatalf("create route: %d %s", rr.Status, rr.Body)
	}
	route := rr.json(t)
	if h, ok := route["host"]; !ok || h != nil {
		t.Errorf("host-less route: host = %v (present %v), want null", h, ok)
	}
	if route["method"] != "GET" {
		t.Errorf("method stored as %v, want GET", route["method"])
	}
	rr = e.adminJSON("POST", "/api/v1/admin/apps/shapes/routes", fmt.Sprintf(`{"script_id": %d, "method": "GET", "path": "/h", "host": "Shapes.Example.com"}`, id))
	if rr.Status != http.StatusCreated || rr.json(t)["host"] != "shapes.example.com" {
		t.Errorf("route with host: %d %s", rr.Status, rr.Body)
	}

	sb := e.adminJSON("GET", "/api/v1/admin/sandbox", "").json(t)
	for _, part := range []string{"defaults", "ceiling"} {
		m, _ := sb[part].(map[string]any)
		for _, k := range shared.Knobs {
			if _, ok := m[k]; !ok {
				t.Errorf("sandbox %s lacks %s: %v", part, k, sb)
			}
		}
	}
	got := e.adminJSON("GET", "/api/v1/admin/apps/shapes", "").json(t)
	if got["script_count"] != float64(2) || got["route_count"] != float64(2) {
		t.Errorf("counts = %v scripts, %v routes; want 2, 2", got["script_count"], got["route_count"])
	}
}

// SPEC §3 renames: every old slug of a chain answers 308 to the same URL
// with the current slug, nested paths and query included, for GET, PATCH
// and DELETE; the client follows them, bodies included.
func TestRenameChainRedirects(t *testing.T) {
	e := start(t)
	e.createApp("Alpha", "")
	for _, s := range []string{"beta", "gamma"} {
		cur := map[string]string{"beta": "alpha", "gamma": "beta"}[s]
		slug := s
		if _, err := e.c.UpdateApp(e.ctx, cur, shared.UpdateAppRequest{Slug: &slug}); err != nil {
			t.Fatalf("rename %s → %s: %v", cur, s, err)
		}
	}
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/api/v1/admin/apps/alpha", "/api/v1/admin/apps/gamma"},
		{"GET", "/api/v1/admin/apps/beta", "/api/v1/admin/apps/gamma"},
		{"PATCH", "/api/v1/admin/apps/alpha", "/api/v1/admin/apps/gamma"},
		{"DELETE", "/api/v1/admin/apps/beta", "/api/v1/admin/apps/gamma"},
		{"GET", "/api/v1/admin/apps/alpha/domains", "/api/v1/admin/apps/gamma/domains"},
		{"POST", "/api/v1/admin/apps/beta/routes", "/api/v1/admin/apps/gamma/routes"},
		{"GET", "/api/v1/admin/apps/alpha/logs?limit=5&script=1", "/api/v1/admin/apps/gamma/logs?limit=5&script=1"},
		{"DELETE", "/api/v1/admin/apps/beta/domains/1", "/api/v1/admin/apps/gamma/domains/1"},
		{"POST", "/api/v1/admin/apps/alpha/slug:check", "/api/v1/admin/apps/gamma/slug:check"},
		{"GET", "/api/v1/admin/scripts?app=alpha", "/api/v1/admin/scripts?app=gamma"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			e := e.sub(t)
			body := ""
			if tc.method == "PATCH" || tc.method == "POST" {
				body = `{}`
			}
			r := e.adminJSON(tc.method, tc.path, body)
			if r.Status != http.StatusPermanentRedirect || r.Header.Get("Location") != tc.want {
				t.Errorf("%s %s = %d Location %q, want 308 %s", tc.method, tc.path, r.Status, r.Header.Get("Location"), tc.want)
			}
		})
	}
	if _, err := e.c.App(e.ctx, "gamma"); err != nil {
		t.Fatalf("DELETE on an old slug must only redirect: %v", err)
	}

	// The client follows, re-sending bodies.
	desc := "through the redirect"
	a, err := e.c.UpdateApp(e.ctx, "alpha", shared.UpdateAppRequest{Description: &desc})
	if err != nil || a.Slug != "gamma" || a.Description != desc {
		t.Fatalf("PATCH via old slug: %+v, %v", a, err)
	}
	if d, err := e.c.AddDomain(e.ctx, "beta", "gamma.example.com"); err != nil || d.Pattern != "gamma.example.com" {
		t.Fatalf("POST via old slug: %+v, %v", d, err)
	}
	for _, s := range []string{"alpha", "beta"} {
		c, err := e.c.CheckSlug(e.ctx, "gamma", s)
		if err != nil || c.Status != shared.SlugOwnHistory {
			t.Errorf("check %s from gamma = %+v, %v; want own_history", s, c, err)
		}
	}
	// Taking an old slug back removes it from the history: alpha is current,
	// beta still redirects to it.
	alpha := "alpha"
	if _, err := e.c.UpdateApp(e.ctx, "gamma", shared.UpdateAppRequest{Slug: &alpha}); err != nil {
		t.Fatal(err)
	}
	if r := e.adminJSON("GET", "/api/v1/admin/apps/alpha", ""); r.Status != http.StatusOK {
		t.Errorf("current slug after taking it back: %d", r.Status)
	}
	for _, old := range []string{"beta", "gamma"} {
		if r := e.adminJSON("GET", "/api/v1/admin/apps/"+old, ""); r.Header.Get("Location") != "/api/v1/admin/apps/alpha" {
			t.Errorf("%s → %d %q, want 308 to alpha", old, r.Status, r.Header.Get("Location"))
		}
	}
	// Unknown slugs stay 404.
	e.adminJSON("GET", "/api/v1/admin/apps/never-was", "").apiError(t, http.StatusNotFound, shared.CodeNotFound)

	// The default app keeps its slug.
	newDef := "not-default"
	_, err = e.c.UpdateApp(e.ctx, "default", shared.UpdateAppRequest{Slug: &newDef})
	nodetest.WantError(t, err, http.StatusConflict, shared.CodeDefaultApp)
	nodetest.WantError(t, e.c.DeleteApp(e.ctx, "default"), http.StatusConflict, shared.CodeDefaultApp)
}

// SPEC §3 slug check and the two-step takeover.
func TestTwoStepTakeover(t *testing.T) {
	e := start(t)
	e.createApp("Old", "old-x")
	newX := "new-x"
	if _, err := e.c.UpdateApp(e.ctx, "old-x", shared.UpdateAppRequest{Slug: &newX}); err != nil {
		t.Fatal(err)
	}
	e.createApp("Taker", "taker")
	e.createApp("Bystander", "bystander")

	for _, tc := range []struct{ slug, status, heldBy string }{
		{"taker", shared.SlugCurrent, ""},
		{"fresh", shared.SlugAvailable, ""},
		{"new-x", shared.SlugTaken, "new-x"},
		{"old-x", shared.SlugReserved, "new-x"},
		{"Bad_Slug", shared.SlugInvalid, ""},
		{"admin", shared.SlugInvalid, ""},
		{"-x", shared.SlugInvalid, ""},
	} {
		t.Run(tc.slug, func(t *testing.T) {
			e := e.sub(t)
			c, err := e.c.CheckSlug(e.ctx, "taker", tc.slug)
			if err != nil || c.Status != tc.status || c.HeldBy != tc.heldBy || c.Slug != tc.slug {
				t.Errorf("check %q = %+v, %v; want %s held by %q", tc.slug, c, err, tc.status, tc.heldBy)
			}
			if (c.ConfirmToken != "") != (tc.status == shared.SlugReserved) {
				t.Errorf("check %q: confirm_token %q", tc.slug, c.ConfirmToken)
			}
			if tc.status == shared.SlugInvalid && c.Message == "" {
				t.Errorf("invalid %q without message", tc.slug)
			}
		})
	}

	// One step is never enough.
	oldX := "old-x"
	_, err := e.c.UpdateApp(e.ctx, "taker", shared.UpdateAppRequest{Slug: &oldX})
	if ae := nodetest.WantError(t, err, http.StatusConflict, shared.CodeSlugReserved); ae.Detail("held_by") != "new-x" {
		t.Errorf("slug_reserved held_by = %q", ae.Detail("held_by"))
	}
	_, err = e.c.UpdateApp(e.ctx, "taker", shared.UpdateAppRequest{Slug: &oldX, ConfirmToken: "made-up"})
	nodetest.WantError(t, err, http.StatusConflict, shared.CodeSlugReserved)
	_, err = e.c.UpdateApp(e.ctx, "taker", shared.UpdateAppRequest{Slug: &newX})
	nodetest.WantError(t, err, http.StatusConflict, shared.CodeSlugTaken)

	check, err := e.c.CheckSlug(e.ctx, "taker", "old-x")
	if err != nil {
		t.Fatal(err)
	}
	// The token is bound to its app: another app cannot spend it.
	_, err = e.c.UpdateApp(e.ctx, "bystander", shared.UpdateAppRequest{Slug: &oldX, ConfirmToken: check.ConfirmToken})
	nodetest.WantError(t, err, http.StatusConflict, shared.CodeSlugReserved)
	// ... and to its slug.
	other := "other-slug"
	if _, err := e.c.UpdateApp(e.ctx, "taker", shared.UpdateAppRequest{Slug: &other, ConfirmToken: check.ConfirmToken}); err != nil {
		t.Fatalf("rename to a free slug with an unrelated token: %v", err)
	}
	a, err := e.c.UpdateApp(e.ctx, "other-slug", shared.UpdateAppRequest{Slug: &oldX, ConfirmToken: check.ConfirmToken})
	if err != nil || a.Slug != "old-x" || a.Name != "Taker" {
		t.Fatalf("confirmed takeover: %+v, %v", a, err)
	}
	// old-x now names Taker itself (200, no redirect); new-x keeps its app.
	r := e.adminJSON("GET", "/api/v1/admin/apps/old-x", "")
	if r.Status != http.StatusOK || r.json(t)["name"] != "Taker" {
		t.Errorf("GET old-x after takeover: %d %s", r.Status, r.Body)
	}
	if c, _ := e.c.CheckSlug(e.ctx, "new-x", "old-x"); c.Status != shared.SlugTaken {
		t.Errorf("the former owner sees old-x as %q, want taken", c.Status)
	}
	// Single use: the spent token does not work twice.
	e.createApp("Third", "third")
	if _, err := e.c.UpdateApp(e.ctx, "old-x", shared.UpdateAppRequest{Slug: &other}); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.UpdateApp(e.ctx, "third", shared.UpdateAppRequest{Slug: &oldX, ConfirmToken: check.ConfirmToken})
	nodetest.WantError(t, err, http.StatusConflict, shared.CodeSlugReserved)

	// Creating with a reserved slug is two steps as well.
	_, err = e.c.CreateApp(e.ctx, shared.CreateAppRequest{Name: "Newcomer", Slug: "taker"})
	ae := nodetest.WantError(t, err, http.StatusConflict, shared.CodeSlugReserved)
	tok := ae.Detail("confirm_token")
	if tok == "" {
		t.Fatalf("no way to confirm a takeover on create: %+v", ae)
	}
	if a, err := e.c.CreateApp(e.ctx, shared.CreateAppRequest{Name: "Newcomer", Slug: "taker", ConfirmToken: tok}); err != nil || a.Slug != "taker" {
		t.Fatalf("confirmed create: %+v, %v", a, err)
	}
}

// SPEC §2 cascades: deleting an app takes its domains, history, scripts,
// routes and logs, and the data plane stops answering its hosts at once.
func TestDeleteAppCascades(t *testing.T) {
	e := start(t)
	e.createApp("Doomed", "doomed")
	renamed := "doomed-now"
	if _, err := e.c.UpdateApp(e.ctx, "doomed", shared.UpdateAppRequest{Slug: &renamed}); err != nil {
		t.Fatal(err)
	}
	e.claim("doomed-now", "doomed.example.com")
	e.claim("doomed-now", "*.doomed.example.com")
	s := e.script("doomed-now", "hi", named("hi"), nil)
	e.route("doomed-now", s.ID, "GET", "/", "")
	if r := e.get("a.doomed.example.com", "/"); r.String() != "hi" {
		t.Fatalf("before delete: %d %s", r.Status, r.Body)
	}
	nodetest.WaitLogs(t, e.c, "doomed-now", 0, 1)

	if r := e.adminJSON("DELETE", "/api/v1/admin/apps/doomed-now", ""); r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	for _, h := range []string{"doomed.example.com", "a.doomed.example.com"} {
		e.get(h, "/").apiError(t, http.StatusNotFound, shared.CodeUnknownHost)
	}
	e.adminJSON("GET", "/api/v1/admin/apps/doomed-now", "").apiError(t, http.StatusNotFound, shared.CodeNotFound)
	e.adminJSON("GET", "/api/v1/admin/apps/doomed", "").apiError(t, http.StatusNotFound, shared.CodeNotFound)
	_, err := e.c.Script(e.ctx, s.ID)
	nodetest.WantError(t, err, http.StatusNotFound, shared.CodeNotFound)
	_, err = e.c.Logs(e.ctx, "doomed-now", 0, 0, 0)
	nodetest.WantError(t, err, http.StatusNotFound, shared.CodeNotFound)

	// Everything it held is free again.
	e.createApp("Heir", "doomed")
	e.claim("doomed", "doomed.example.com")
	if c, _ := e.c.CheckSlug(e.ctx, "doomed", "doomed-now"); c.Status != shared.SlugAvailable {
		t.Errorf("slug of the deleted app is %q, want available", c.Status)
	}
}

// SPEC §2: deleting a script deletes its routes; its logs stay.
func TestDeleteScriptKeepsLogs(t *testing.T) {
	e := start(t)
	e.createApp("Keeper", "")
	e.claim("keeper", "keeper.example.com")
	s := e.script("keeper", "gone", named("gone"), nil)
	stay := e.script("keeper", "stay", named("stay"), nil)
	e.route("keeper", s.ID, "GET", "/a", "")
	e.route("keeper", s.ID, "POST", "/b", "")
	e.route("keeper", stay.ID, "GET", "/c", "")
	e.get("keeper.example.com", "/a")
	nodetest.WaitLogs(t, e.c, "keeper", s.ID, 1)

	if err := e.c.DeleteScript(e.ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	e.get("keeper.example.com", "/a").apiError(t, http.StatusNotFound, shared.CodeNoRoute)
	if r := e.get("keeper.example.com", "/c"); r.String() != "stay" {
		t.Errorf("other script's route: %d %s", r.Status, r.Body)
	}
	rs, err := e.c.Routes(e.ctx, "keeper")
	if err != nil || len(rs) != 1 || rs[0].ScriptID != stay.ID {
		t.Errorf("routes after deleting the script: %+v, %v", rs, err)
	}
	logs, err := e.c.Logs(e.ctx, "keeper", s.ID, 0, 0)
	if err != nil || len(logs) != 1 || logs[0].ScriptID != s.ID {
		t.Errorf("logs of the deleted script: %+v, %v", logs, err)
	}
	nodetest.WantError(t, e.c.DeleteScript(e.ctx, s.ID), http.StatusNotFound, shared.CodeNotFound)
}

// SPEC §3: domains, scripts and routes answer the contract's errors.
func TestContractErrors(t *testing.T) {
	e := start(t)
	e.createApp("One", "one")
	e.createApp("Two", "two")
	e.claim("one", "one.example.com")
	e.claim("one", "*.wild.example.com")
	s := e.script("one", "s", named("s"), nil)
	e.route("one", s.ID, "GET", "/users/:id", "")
	e.route("one", s.ID, "GET", "/h", "a.wild.example.com")
	ceiling, err := e.c.Sandbox(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	src := func(body string) string { return jsString(body) }

	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code                     string
		details                  map[string]any
	}{
		{"domain with port", "POST", "/api/v1/admin/apps/two/domains", `{"pattern": "a.example.com:80"}`, 422, shared.CodeInvalidDomain, nil},
		{"domain with scheme", "POST", "/api/v1/admin/apps/two/domains", `{"pattern": "http://a.example.com"}`, 422, shared.CodeInvalidDomain, nil},
		{"domain with path", "POST", "/api/v1/admin/apps/two/domains", `{"pattern": "a.example.com/x"}`, 422, shared.CodeInvalidDomain, nil},
		{"star inside", "POST", "/api/v1/admin/apps/two/domains", `{"pattern": "a.*.example.com"}`, 422, shared.CodeInvalidDomain, nil},
		{"empty label", "POST", "/api/v1/admin/apps/two/domains", `{"pattern": "a..example.com"}`, 422, shared.CodeInvalidDomain, nil},
		{"claimed elsewhere", "POST", "/api/v1/admin/apps/two/domains", `{"pattern": "ONE.example.com."}`, 409, shared.CodeDomainClaimed, map[string]any{"held_by": "one"}},
		{"wildcard claimed", "POST", "/api/v1/admin/apps/two/domains", `{"pattern": "*.Wild.example.com"}`, 409, shared.CodeDomainClaimed, map[string]any{"held_by": "one"}},
		{"localhost is default's", "POST", "/api/v1/admin/apps/two/domains", `{"pattern": "localhost"}`, 409, shared.CodeDomainClaimed, map[string]any{"held_by": "default"}},
		{"domain in use", "DELETE", "/api/v1/admin/apps/one/domains/%WILD%", "", 409, shared.CodeDomainInUse, nil},
		{"unknown domain", "DELETE", "/api/v1/admin/apps/one/domains/999", "", 404, shared.CodeNotFound, nil},
		{"reserved slug", "POST", "/api/v1/admin/apps", `{"name": "x", "slug": "api"}`, 422, shared.CodeInvalidSlug, nil},
		{"bad slug", "POST", "/api/v1/admin/apps", `{"name": "x", "slug": "Has Space"}`, 422, shared.CodeInvalidSlug, nil},
		{"taken slug", "POST", "/api/v1/admin/apps", `{"name": "x", "slug": "one"}`, 409, shared.CodeSlugTaken, map[string]any{"held_by": "one"}},
		{"no name", "POST", "/api/v1/admin/apps", `{"slug": "nameless"}`, 422, shared.CodeValidationFailed, map[string]any{"field": "name"}},
		{"not an object", "POST", "/api/v1/admin/apps", `[1]`, 400, shared.CodeBadJSON, nil},
		{"not JSON", "POST", "/api/v1/admin/apps", `{"name": `, 400, shared.CodeBadJSON, nil},
		{"wrong type", "POST", "/api/v1/admin/apps", `{"name": 5}`, 400, shared.CodeBadJSON, nil},
		{"syntax", "POST", "/api/v1/admin/scripts", `{"app_id": "one", "name": "x", "source": ` + src("function handle(r) {\n  return (;\n}") + `}`, 422, shared.CodeScriptSyntax, map[string]any{"line": float64(2)}},
		{"no handle", "POST", "/api/v1/admin/scripts", `{"app_id": "one", "name": "x", "source": "function other() {}"}`, 422, shared.CodeValidationFailed, map[string]any{"field": "source"}},
		{"no app_id", "POST", "/api/v1/admin/scripts", `{"name": "x", "source": "function handle() {}"}`, 422, shared.CodeValidationFailed, map[string]any{"field": "app_id"}},
		{"name taken", "POST", "/api/v1/admin/scripts", `{"app_id": "one", "name": "s", "source": "function handle() {}"}`, 409, shared.CodeScriptNameTaken, nil},
		{"over ceiling", "POST", "/api/v1/admin/scripts", fmt.Sprintf(`{"app_id": "one", "name": "x", "source": "function handle() {}", "sandbox": {"timeout_ms": %d}}`, ceiling.Ceiling.TimeoutMS+1), 422, shared.CodeSandboxExceedsCeiling,
			map[string]any{"field": "sandbox.timeout_ms", "requested": float64(ceiling.Ceiling.TimeoutMS + 1), "ceiling": float64(ceiling.Ceiling.TimeoutMS)}},
		{"knob below 1", "POST", "/api/v1/admin/scripts", `{"app_id": "one", "name": "x", "source": "function handle() {}", "sandbox": {"max_operations": 0}}`, 422, shared.CodeValidationFailed, nil},
		{"unknown script", "GET", "/api/v1/admin/scripts/999", "", 404, shared.CodeNotFound, nil},
		{"route conflict", "POST", "/api/v1/admin/apps/one/routes", fmt.Sprintf(`{"script_id": %d, "method": "GET", "path": "/users/:name"}`, s.ID), 409, shared.CodeRouteConflict, nil},
		{"same route", "POST", "/api/v1/admin/apps/one/routes", fmt.Sprintf(`{"script_id": %d, "method": "ANY", "path": "/users/:id"}`, s.ID), 409, shared.CodeRouteConflict, nil},
		{"host not claimed", "POST", "/api/v1/admin/apps/one/routes", fmt.Sprintf(`{"script_id": %d, "method": "GET", "path": "/", "host": "wild.example.com"}`, s.ID), 422, shared.CodeHostNotClaimed, map[string]any{"field": "host"}},
		{"bad path", "POST", "/api/v1/admin/apps/one/routes", fmt.Sprintf(`{"script_id": %d, "method": "GET", "path": "no-slash"}`, s.ID), 422, shared.CodeInvalidRoute, map[string]any{"field": "path"}},
		{"bad method", "POST", "/api/v1/admin/apps/one/routes", fmt.Sprintf(`{"script_id": %d, "method": "GE T", "path": "/"}`, s.ID), 422, shared.CodeInvalidRoute, map[string]any{"field": "method"}},
		{"script of other app", "POST", "/api/v1/admin/apps/two/routes", fmt.Sprintf(`{"script_id": %d, "method": "GET", "path": "/"}`, s.ID), 422, shared.CodeValidationFailed, map[string]any{"field": "script_id"}},
		{"unknown script in route", "POST", "/api/v1/admin/apps/one/routes", `{"script_id": 99999, "method": "GET", "path": "/"}`, 422, shared.CodeValidationFailed, map[string]any{"field": "script_id"}},
		{"unknown route", "DELETE", "/api/v1/admin/apps/one/routes/999", "", 404, shared.CodeNotFound, nil},
		{"unknown app", "GET", "/api/v1/admin/apps/nope/routes", "", 404, shared.CodeNotFound, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if strings.Contains(path, "%WILD%") {
				ds, err := e.c.Domains(e.ctx, "one")
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range ds {
					if d.Pattern == "*.wild.example.com" {
						path = strings.ReplaceAll(path, "%WILD%", fmt.Sprint(d.ID))
					}
				}
			}
			ee := e.adminJSON(tc.method, path, tc.body).apiError(t, tc.status, tc.code)
			for k, v := range tc.details {
				if ee[k] != v {
					t.Errorf("%s = %v (%T), want %v: %v", k, ee[k], ee[k], v, ee)
				}
			}
			if tc.code == shared.CodeScriptSyntax {
				if _, ok := ee["column"].(float64); !ok {
					t.Errorf("script_syntax without column: %v", ee)
				}
			}
			if tc.code == shared.CodeRouteConflict && ee["route_id"] == nil {
				t.Errorf("route_conflict does not name the existing route: %v", ee)
			}
		})
	}
	// Nothing rejected above changed anything.
	one, _ := e.c.App(e.ctx, "one")
	two, _ := e.c.App(e.ctx, "two")
	if len(one.Domains) != 2 || one.ScriptCount != 1 || one.RouteCount != 2 || len(two.Domains) != 0 || two.ScriptCount != 0 {
		t.Errorf("rejected requests changed state: one %+v, two %+v", one, two)
	}
}

// SPEC §3: unknown JSON fields are 422 unknown_field naming the field, on
// every body.
func TestUnknownFieldsEverywhere(t *testing.T) {
	e := start(t)
	e.createApp("Strict", "strict")
	s := e.script("strict", "s", named("s"), nil)
	for _, tc := range []struct{ method, path, body, field string }{
		{"POST", "/api/v1/admin/apps", `{"name": "x", "colour": "red"}`, "colour"},
		{"PATCH", "/api/v1/admin/apps/strict", `{"nmae": "typo"}`, "nmae"},
		{"POST", "/api/v1/admin/apps/strict/slug:check", `{"slug": "x", "force": true}`, "force"},
		{"POST", "/api/v1/admin/apps/strict/domains", `{"pattern": "x.example.com", "wildcard": true}`, "wildcard"},
		{"POST", "/api/v1/admin/scripts", `{"app_id": "strict", "name": "y", "source": "function handle() {}", "lang": "js"}`, "lang"},
		{"POST", "/api/v1/admin/scripts", `{"app_id": "strict", "name": "y", "source": "function handle() {}", "sandbox": {"max_cpu": 1}}`, "sandbox.max_cpu"},
		{"PATCH", fmt.Sprintf("/api/v1/admin/scripts/%d", s.ID), `{"version": 7}`, "version"},
		{"PATCH", fmt.Sprintf("/api/v1/admin/scripts/%d", s.ID), `{"sandbox": {"max_ops": 5}}`, "sandbox.max_ops"},
		{"POST", "/api/v1/admin/apps/strict/routes", fmt.Sprintf(`{"script_id": %d, "method": "GET", "path": "/", "priority": 1}`, s.ID), "priority"},
	} {
		t.Run(tc.field, func(t *testing.T) {
			e := e.sub(t)
			ee := e.adminJSON(tc.method, tc.path, tc.body).apiError(t, http.StatusUnprocessableEntity, shared.CodeUnknownField)
			if ee["field"] != tc.field {
				t.Errorf("%s %s: field %v, want %s", tc.method, tc.path, ee["field"], tc.field)
			}
		})
	}
	if sc, _ := e.c.Script(e.ctx, s.ID); sc.Version != 1 {
		t.Errorf("a rejected PATCH changed the script: version %d", sc.Version)
	}
}

// SPEC §3, issue 4: bodies over 1 MiB are 413, and so are sources over
// 256 KiB; the data plane and execute cap bodies too.
func TestTooLarge(t *testing.T) {
	e := start(t)
	e.createApp("Big", "big")
	e.claim("big", "big.example.com")
	s := e.script("big", "len", `function handle(req) { return String(req.body.length); }`, nil)
	e.route("big", s.ID, "POST", "/", "")

	huge := strings.Repeat("x", 1<<20+1)
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/api/v1/admin/apps", `{"name": "x", "description": "` + huge + `"}`},
		{"PATCH", "/api/v1/admin/apps/big", `{"description": "` + huge + `"}`},
		{"POST", "/api/v1/admin/apps/big/domains", `{"pattern": "` + huge + `"}`},
		{"POST", "/api/v1/admin/scripts", `{"app_id": "big", "name": "h", "source": "` + huge + `"}`},
	} {
		e.adminJSON(tc.method, tc.path, tc.body).apiError(t, http.StatusRequestEntityTooLarge, shared.CodeTooLarge)
	}
	// A source over 256 KiB in a body well under 1 MiB.
	source := "function handle() { return 1; }\n//" + strings.Repeat("y", 256<<10)
	body, _ := json.Marshal(map[string]any{"app_id": "big", "name": "src", "source": source})
	e.adminJSON("POST", "/api/v1/admin/scripts", string(body)).apiError(t, http.StatusRequestEntityTooLarge, shared.CodeTooLarge)
	body, _ = json.Marshal(map[string]any{"source": source})
	e.adminJSON("PATCH", fmt.Sprintf("/api/v1/admin/scripts/%d", s.ID), string(body)).apiError(t, http.StatusRequestEntityTooLarge, shared.CodeTooLarge)
	// Just under the source limit is fine.
	ok := "function handle() { return 1; }\n//" + strings.Repeat("y", 256<<10-40)
	if _, err := e.c.CreateScript(e.ctx, shared.CreateScriptRequest{AppID: "big", Name: "ok", Source: ok}); err != nil {
		t.Errorf("source of %d bytes: %v", len(ok), err)
	}

	e.data(request{Method: "POST", Host: "big.example.com", Path: "/", Body: []byte(huge)}).
		apiError(t, http.StatusRequestEntityTooLarge, shared.CodeTooLarge)
	if r := e.data(request{Method: "POST", Host: "big.example.com", Path: "/", Body: []byte(huge[:1<<20])}); r.String() != "1048576" {
		t.Errorf("1 MiB body: %d %s", r.Status, r.Body)
	}
	e.admin(request{Method: "POST", Path: fmt.Sprintf("/api/v1/execute/%d", s.ID), Body: []byte(huge)}).
		apiError(t, http.StatusRequestEntityTooLarge, shared.CodeTooLarge)
}

// SPEC §2, §3: every change bumps a script's version; {} clears overrides;
// names are unique per app only; a PATCH that breaks the script is refused
// and leaves it as it was.
func TestScriptUpdates(t *testing.T) {
	e := start(t)
	e.createApp("Ed", "ed")
	e.createApp("Other", "other")
	s := e.script("ed", "main", named("main"), shared.Overrides{"max_operations": 500})
	e.script("ed", "taken", named("taken"), nil)
	e.script("other", "main", named("main"), nil) // same name, other app: fine

	empty := shared.Overrides{}
	up, err := e.c.UpdateScript(e.ctx, s.ID, shared.UpdateScriptRequest{Sandbox: &empty})
	def, _ := e.c.Sandbox(e.ctx)
	if err != nil || up.Version != 2 || len(up.Sandbox) != 0 || up.EffectiveSandbox != def.Defaults {
		t.Fatalf("clear overrides: %+v, %v", up, err)
	}
	taken := "taken"
	_, err = e.c.UpdateScript(e.ctx, s.ID, shared.UpdateScriptRequest{Name: &taken})
	nodetest.WantError(t, err, http.StatusConflict, shared.CodeScriptNameTaken)
	broken := "function handle( {"
	_, err = e.c.UpdateScript(e.ctx, s.ID, shared.UpdateScriptRequest{Source: &broken})
	nodetest.WantError(t, err, http.StatusUnprocessableEntity, shared.CodeScriptSyntax)
	noHandle := "function other() {}"
	_, err = e.c.UpdateScript(e.ctx, s.ID, shared.UpdateScriptRequest{Source: &noHandle})
	nodetest.WantError(t, err, http.StatusUnprocessableEntity, shared.CodeValidationFailed)
	if got, _ := e.c.Script(e.ctx, s.ID); got.Version != 2 || got.Name != "main" || got.Source != s.Source {
		t.Errorf("refused PATCHes changed the script: %+v", got)
	}
	res, err := e.c.Execute(e.ctx, s.ID, shared.ExecuteRequest{})
	if err != nil || string(res.Body) != "main" {
		t.Errorf("script after refused PATCHes: %d %s, %v", res.Status, res.Body, err)
	}
}
