package manager_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud/node/executor"
	"github.com/picloud/picloud/node/manager"
	"github.com/picloud/picloud/node/nodetest"
	"github.com/picloud/picloud/node/nodetest/storetest"
	"github.com/picloud/picloud/node/orchestrator"
	"github.com/picloud/picloud/node/scheduler"
	"github.com/picloud/picloud/node/store"
	"github.com/picloud/picloud/shared"
)

const token = "test-admin-token"

// node is a real store (SQLite in a temp dir), executor and orchestrator
// behind the manager, served over httptest and driven through the shared
// client.
type node struct {
	t     *testing.T
	api   *manager.API
	admin *httptest.Server
	data  *httptest.Server
	store *store.Store
	orch  *orchestrator.Orchestrator
	c     *shared.Client
	clock *clock
	ctx   context.Context
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func start(t *testing.T) *node {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	st := storetest.Open(t)
	ceiling := shared.BuiltinCeiling()
	defaults := shared.DefaultLimits().Min(ceiling)
	exec := executor.New(executor.Options{Logger: log})
	orch := orchestrator.New(orchestrator.Config{Store: st, Executor: exec, Defaults: defaults, Logger: log})
	if err := orch.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Now()}
	sched := scheduler.New(scheduler.Config{Store: st, Executor: orch, Logger: log})
	schedCtx, stopSched := context.WithCancel(ctx)
	schedDone := make(chan struct{})
	go func() { defer close(schedDone); sched.Run(schedCtx) }()
	api := manager.NewAPI(manager.Config{
		Store: st, Compiler: exec, Data: orch, Schedules: sched, Tails: orch,
		Token:    func() string { return token },
		Defaults: defaults, Ceiling: ceiling,
		Logger: log, Now: clk.Now,
	})
	n := &node{t: t, api: api, store: st, orch: orch, clock: clk, ctx: ctx}
	n.admin = httptest.NewServer(api)
	n.data = httptest.NewServer(orch)
	n.c = shared.NewClient(n.admin.URL, token, shared.WithTimeout(30*time.Second))
	t.Cleanup(func() {
		n.admin.Close()
		n.data.Close()
		stopSched()
		<-schedDone
		_ = orch.Close(ctx)
	})
	return n
}

// sub is n for subtest t, so helpers fail the subtest that called them.
func (n *node) sub(t *testing.T) *node {
	c := *n
	c.t = t
	return &c
}

// raw sends a request without the client, with the token unless noAuth.
// Redirects are not followed, so 308s can be inspected.
func (n *node) raw(method, path, body string, hdr ...string) (int, http.Header, []byte) {
	n.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, n.admin.URL+path, rd)
	if err != nil {
		n.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// get sends a data-plane request for host.
func (n *node) get(host, path string) (int, string) {
	n.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, n.data.URL+path, nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func envelope(t *testing.T, body []byte) *shared.Error {
	t.Helper()
	var e shared.Error
	if err := json.Unmarshal(body, &e); err != nil || e.Code == "" {
		t.Fatalf("body %q is not an error envelope: %v", body, err)
	}
	return &e
}

func mustApp(t *testing.T, n *node, name, slug string) shared.App {
	t.Helper()
	a, err := n.c.CreateApp(n.ctx, shared.CreateAppRequest{Name: name, Slug: slug})
	if err != nil {
		t.Fatalf("create app %q: %v", slug, err)
	}
	return a
}

func mustScript(t *testing.T, n *node, app, name, source string) shared.Script {
	t.Helper()
	s, err := n.c.CreateScript(n.ctx, shared.CreateScriptRequest{AppID: shared.AppRef(app), Name: name, Source: source})
	if err != nil {
		t.Fatalf("create script %q: %v", name, err)
	}
	return s
}

const hello = `function handle(req) { return "hello " + req.path + " " + JSON.stringify(req.params); }`

// ---- auth ----

// Every endpoint the API registers refuses requests without the token. A
// route added later is in Endpoints() and so is checked here too.
func TestAuthOnEveryEndpoint(t *testing.T) {
	n := start(t)
	eps := n.api.Endpoints()
	if len(eps) < 20 {
		t.Fatalf("only %d endpoints listed", len(eps))
	}
	fill := strings.NewReplacer(":app", "default", "slug:check", "slug:check", ":id", "1", "*path", "x")
	for _, ep := range eps {
		path := fill.Replace(ep.Path)
		for _, auth := range []string{"", "Bearer wrong", "Basic " + token, token, "Bearer " + token + "x", "Bearer"} {
			status, hdr, body := n.raw(ep.Method, path, "", "Authorization", auth)
			if status != http.StatusUnauthorized || hdr.Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("%s %s with Authorization %q = %d (WWW-Authenticate %q), want 401 Bearer", ep.Method, path, auth, status, hdr.Get("WWW-Authenticate"))
				continue
			}
			if ep.Method != http.MethodHead {
				if e := envelope(t, body); e.Code != shared.CodeUnauthorized {
					t.Errorf("%s %s: code %q, want unauthorized", ep.Method, path, e.Code)
				}
			}
		}
		// With the token the route exists: the router does not answer
		// "no such endpoint" or 405 for it. (A tail with a bad filter
		// answers at once instead of streaming.)
		if strings.HasSuffix(path, "/tail") {
			path += "?status=bad"
		}
		status, _, body := n.raw(ep.Method, path, "{}")
		if status == http.StatusUnauthorized || status == http.StatusMethodNotAllowed ||
			(status == http.StatusNotFound && bytes.Contains(body, []byte("no such endpoint"))) {
			t.Errorf("%s %s with the token = %d %s; the listed endpoint is not served", ep.Method, path, status, body)
		}
	}
	// Unknown paths are no way around auth either.
	if status, _, _ := n.raw(http.MethodGet, "/api/v1/admin/nope", "", "Authorization", ""); status != http.StatusUnauthorized {
		t.Errorf("unknown path without token = %d, want 401", status)
	}
	if status, _, body := n.raw(http.MethodGet, "/api/v1/admin/nope", ""); status != http.StatusNotFound || envelope(t, body).Code != shared.CodeNotFound {
		t.Errorf("unknown path with token = %d %s, want 404 not_found", status, body)
	}
	// The bearer scheme is case-insensitive (RFC 6750).
	if status, _, _ := n.raw(http.MethodGet, "/api/v1/admin/apps", "", "Authorization", "bearer "+token); status != http.StatusOK {
		t.Errorf("lower-case bearer = %d, want 200", status)
	}
}

func TestTokenRotationTakesEffectAtOnce(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	exec := executor.New(executor.Options{})
	orch := orchestrator.New(orchestrator.Config{Store: st, Executor: exec, Defaults: shared.DefaultLimits()})
	defer orch.Close(ctx)
	var mu sync.Mutex
	current := "one"
	api := manager.New(manager.Config{Store: st, Compiler: exec, Data: orch, Defaults: shared.DefaultLimits(), Ceiling: shared.BuiltinCeiling(),
		Token: func() string { mu.Lock(); defer mu.Unlock(); return current }})
	srv := httptest.NewServer(api)
	defer srv.Close()
	if _, err := shared.NewClient(srv.URL, "one").ListApps(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	current = "two"
	mu.Unlock()
	_, err := shared.NewClient(srv.URL, "one").ListApps(ctx)
	nodetest.WantError(t, err, 401, shared.CodeUnauthorized)
	if _, err := shared.NewClient(srv.URL, "two").ListApps(ctx); err != nil {
		t.Errorf("new token refused: %v", err)
	}
}

// ---- apps, slugs, redirects, takeover ----

func TestRenameChainRedirects(t *testing.T) {
	n := start(t)
	app := mustApp(t, n, "Blog", "")
	if app.Slug != "blog" {
		t.Fatalf("derived slug = %q, want blog", app.Slug)
	}
	for _, s := range []string{"journal", "diary", "notes"} {
		s := s
		// Rename through the previous, now old, slug: the client follows
		// the 308 with its body.
		got, err := n.c.UpdateApp(n.ctx, "blog", shared.UpdateAppRequest{Slug: &s})
		if err != nil || got.Slug != s || got.ID != app.ID {
			t.Fatalf("rename to %q via old slug = %+v, %v", s, got, err)
		}
	}
	for _, old := range []string{"blog", "journal", "diary"} {
		got, err := n.c.App(n.ctx, old)
		if err != nil || got.ID != app.ID || got.Slug != "notes" {
			t.Errorf("App(%q) = %+v, %v; want the app now called notes", old, got, err)
		}
		for _, p := range []struct{ method, from, to string }{
			{"GET", "/api/v1/admin/apps/" + old, "/api/v1/admin/apps/notes"},
			{"DELETE", "/api/v1/admin/apps/" + old + "/domains/7", "/api/v1/admin/apps/notes/domains/7"},
			{"GET", "/api/v1/admin/apps/" + old + "/logs?limit=5&script=2", "/api/v1/admin/apps/notes/logs?limit=5&script=2"},
			{"POST", "/api/v1/admin/apps/" + old + "/slug:check", "/api/v1/admin/apps/notes/slug:check"},
			{"GET", "/api/v1/admin/scripts?app=" + old, "/api/v1/admin/scripts?app=notes"},
		} {
			t.Run(p.method+" "+p.from, func(t *testing.T) {
				n := n.sub(t)
				status, hdr, _ := n.raw(p.method, p.from, `{"slug":"x"}`)
				if status != http.StatusPermanentRedirect || hdr.Get("Location") != p.to {
					t.Errorf("%s %s = %d Location %q, want 308 %s", p.method, p.from, status, hdr.Get("Location"), p.to)
				}
			})
		}
	}
	// A POST through an old slug lands on the current app with its body.
	d, err := n.c.AddDomain(n.ctx, "journal", "notes.example.com")
	if err != nil || d.AppID != app.ID {
		t.Fatalf("AddDomain via old slug = %+v, %v", d, err)
	}
	// Unknown slugs are 404, not redirects.
	status, _, body := n.raw("GET", "/api/v1/admin/apps/never", "")
	if status != 404 || envelope(t, body).Code != shared.CodeNotFound {
		t.Errorf("unknown app = %d %s", status, body)
	}
}

func TestSlugCheckAndTakeover(t *testing.T) {
	n := start(t)
	a := mustApp(t, n, "A", "alpha")
	b := mustApp(t, n, "B", "beta")
	newSlug := "alpha2"
	if _, err := n.c.UpdateApp(n.ctx, "alpha", shared.UpdateAppRequest{Slug: &newSlug}); err != nil {
		t.Fatal(err)
	}
	// "alpha" is now an old slug of A.
	checks := []struct {
		app, slug, status, heldBy string
		token                     bool
	}{
		{"beta", "beta", shared.SlugCurrent, "", false},
		{"beta", "gamma", shared.SlugAvailable, "", false},
		{"beta", "alpha2", shared.SlugTaken, "alpha2", false},
		{"beta", "alpha", shared.SlugReserved, "alpha2", true},
		{"alpha2", "alpha", shared.SlugOwnHistory, "", false},
		{"beta", "Bad Slug", shared.SlugInvalid, "", false},
		{"beta", "api", shared.SlugInvalid, "", false},
	}
	for _, c := range checks {
		got, err := n.c.CheckSlug(n.ctx, c.app, c.slug)
		if err != nil || got.Status != c.status || got.HeldBy != c.heldBy || (got.ConfirmToken != "") != c.token || got.Slug != c.slug {
			t.Errorf("CheckSlug(%s, %q) = %+v, %v; want status %s held_by %q token %v", c.app, c.slug, got, err, c.status, c.heldBy, c.token)
		}
		if c.status == shared.SlugInvalid && got.Message == "" {
			t.Errorf("CheckSlug(%q) invalid without a message", c.slug)
		}
	}

	take := "alpha"
	// One call never takes over: without a token it is 409 slug_reserved.
	_, err := n.c.UpdateApp(n.ctx, "beta", shared.UpdateAppRequest{Slug: &take})
	e := nodetest.WantError(t, err, 409, shared.CodeSlugReserved)
	if e.Detail("held_by") != "alpha2" {
		t.Errorf("slug_reserved held_by = %q", e.Detail("held_by"))
	}
	// A token minted for another app or slug does not work.
	other, _ := n.c.CheckSlug(n.ctx, "alpha2", "beta-old")
	_ = other
	tokA, err := n.c.CheckSlug(n.ctx, "beta", "alpha")
	if err != nil || tokA.ConfirmToken == "" {
		t.Fatal(err)
	}
	c := mustApp(t, n, "C", "gamma")
	_, err = n.c.UpdateApp(n.ctx, "gamma", shared.UpdateAppRequest{Slug: &take, ConfirmToken: tokA.ConfirmToken})
	nodetest.WantError(t, err, 409, shared.CodeSlugReserved)
	// A made-up token does not work.
	_, err = n.c.UpdateApp(n.ctx, "beta", shared.UpdateAppRequest{Slug: &take, ConfirmToken: "forged"})
	nodetest.WantError(t, err, 409, shared.CodeSlugReserved)
	if got, _ := n.c.App(n.ctx, "alpha"); got.ID != a.ID {
		t.Fatalf("alpha redirects to %+v before the takeover, want app A", got)
	}
	// The right token (still unspent after the wrong app tried it) takes it.
	got, err := n.c.UpdateApp(n.ctx, "beta", shared.UpdateAppRequest{Slug: &take, ConfirmToken: tokA.ConfirmToken})
	if err != nil || got.ID != b.ID || got.Slug != "alpha" {
		t.Fatalf("takeover = %+v, %v", got, err)
	}
	// A lost that redirect; B's old slug "beta" redirects to B.
	if got, _ := n.c.App(n.ctx, "alpha"); got.ID != b.ID {
		t.Errorf("alpha = app %d after takeover, want B", got.ID)
	}
	if got, _ := n.c.App(n.ctx, "beta"); got.ID != b.ID || got.Slug != "alpha" {
		t.Errorf("beta = %+v after takeover, want B", got)
	}
	// The token is single use: C cannot reuse it, nor can B on "beta"... B
	// renames away and back to test reuse on the same binding.
	back := "beta2"
	if _, err := n.c.UpdateApp(n.ctx, "alpha", shared.UpdateAppRequest{Slug: &back}); err != nil {
		t.Fatal(err)
	}
	// Now "alpha" is B's own history; A cannot take it with the spent token.
	_, err = n.c.UpdateApp(n.ctx, "alpha2", shared.UpdateAppRequest{Slug: &take, ConfirmToken: tokA.ConfirmToken})
	nodetest.WantError(t, err, 409, shared.CodeSlugReserved)
	_ = c

	// Taking back an own old slug needs no token and removes it from the
	// history.
	own := "alpha"
	got, err = n.c.UpdateApp(n.ctx, "beta2", shared.UpdateAppRequest{Slug: &own})
	if err != nil || got.Slug != "alpha" {
		t.Fatalf("take back own old slug = %+v, %v", got, err)
	}
	if st, _ := n.c.CheckSlug(n.ctx, "alpha", "alpha"); st.Status != shared.SlugCurrent {
		t.Errorf("after taking back: %+v", st)
	}

	// Tokens expire after 10 minutes.
	tok, _ := n.c.CheckSlug(n.ctx, "gamma", "beta2")
	if tok.Status != shared.SlugReserved {
		t.Fatalf("beta2 = %+v, want reserved", tok)
	}
	n.clock.Advance(manager.ConfirmTTL + time.Second)
	s := "beta2"
	_, err = n.c.UpdateApp(n.ctx, "gamma", shared.UpdateAppRequest{Slug: &s, ConfirmToken: tok.ConfirmToken})
	nodetest.WantError(t, err, 409, shared.CodeSlugReserved)
}

func TestCreateAppWithReservedSlugIsTwoSteps(t *testing.T) {
	n := start(t)
	mustApp(t, n, "Old", "shop")
	s := "shop-v2"
	if _, err := n.c.UpdateApp(n.ctx, "shop", shared.UpdateAppRequest{Slug: &s}); err != nil {
		t.Fatal(err)
	}
	_, err := n.c.CreateApp(n.ctx, shared.CreateAppRequest{Name: "New shop", Slug: "shop"})
	e := nodetest.WantError(t, err, 409, shared.CodeSlugReserved)
	tok := e.Detail("confirm_token")
	if tok == "" {
		t.Fatalf("409 slug_reserved on create carries no confirm_token: %v", e.Details)
	}
	// The token is bound to the slug.
	_, err = n.c.CreateApp(n.ctx, shared.CreateAppRequest{Name: "New shop", Slug: "shop-v3", ConfirmToken: tok})
	if err != nil {
		t.Fatalf("create with an unrelated free slug: %v", err)
	}
	got, err := n.c.CreateApp(n.ctx, shared.CreateAppRequest{Name: "New shop", Slug: "shop", ConfirmToken: tok})
	if err != nil || got.Slug != "shop" {
		t.Fatalf("second step = %+v, %v", got, err)
	}
	if a, _ := n.c.App(n.ctx, "shop"); a.ID != got.ID {
		t.Errorf("shop = app %d, want the new one", a.ID)
	}
}

func TestAppValidationAndDefaultApp(t *testing.T) {
	n := start(t)
	for _, req := range []shared.CreateAppRequest{
		{Name: ""}, {Name: "   "}, {Name: "x\x00y"}, {Name: strings.Repeat("n", 201)},
	} {
		_, err := n.c.CreateApp(n.ctx, req)
		if e := nodetest.WantError(t, err, 422, shared.CodeValidationFailed); e.Detail("field") != "name" {
			t.Errorf("CreateApp(%q) field = %q", req.Name, e.Detail("field"))
		}
	}
	for _, slug := range []string{"api", "admin", "internal", "__internal__", "-x", "x-", "Upper", "a_b", strings.Repeat("a", 64)} {
		_, err := n.c.CreateApp(n.ctx, shared.CreateAppRequest{Name: "n", Slug: slug})
		nodetest.WantError(t, err, 422, shared.CodeInvalidSlug)
	}
	a := mustApp(t, n, "My App!", "")
	if a.Slug != "my-app" || a.Name != "My App!" {
		t.Errorf("derived = %+v", a)
	}
	_, err := n.c.CreateApp(n.ctx, shared.CreateAppRequest{Name: "My App"})
	if e := nodetest.WantError(t, err, 409, shared.CodeSlugTaken); e.Detail("held_by") != "my-app" {
		t.Errorf("held_by = %q", e.Detail("held_by"))
	}
	// PATCH of name and description only.
	name, desc := "Renamed", "about"
	got, err := n.c.UpdateApp(n.ctx, "my-app", shared.UpdateAppRequest{Name: &name, Description: &desc})
	if err != nil || got.Name != "Renamed" || got.Description != "about" || got.Slug != "my-app" {
		t.Errorf("UpdateApp = %+v, %v", got, err)
	}
	// The default app is neither deleted nor renamed.
	nodetest.WantError(t, n.c.DeleteApp(n.ctx, "default"), 409, shared.CodeDefaultApp)
	s := "home"
	_, err = n.c.UpdateApp(n.ctx, "default", shared.UpdateAppRequest{Slug: &s})
	nodetest.WantError(t, err, 409, shared.CodeDefaultApp)
	apps, err := n.c.ListApps(n.ctx)
	if err != nil || len(apps) != 2 || apps[0].Slug != "default" {
		t.Errorf("ListApps = %+v, %v", apps, err)
	}
}

// ---- domains ----

func TestDomains(t *testing.T) {
	n := start(t)
	mustApp(t, n, "A", "a")
	mustApp(t, n, "B", "b")
	d, err := n.c.AddDomain(n.ctx, "a", "*.Bücher.Example.")
	if err != nil || d.Pattern != "*.xn--bcher-kva.example" {
		t.Fatalf("AddDomain = %+v, %v", d, err)
	}
	// The same shape however spelled is claimed, by another app or this one.
	for _, p := range []string{"*.xn--bcher-kva.example", "*.BÜCHER.example"} {
		for _, app := range []string{"a", "b"} {
			_, err := n.c.AddDomain(n.ctx, app, p)
			if e := nodetest.WantError(t, err, 409, shared.CodeDomainClaimed); e.Detail("held_by") != "a" {
				t.Errorf("AddDomain(%s, %q) held_by = %q, want a", app, p, e.Detail("held_by"))
			}
		}
	}
	// The apex is another shape.
	if _, err := n.c.AddDomain(n.ctx, "b", "bücher.example"); err != nil {
		t.Errorf("apex beside wildcard: %v", err)
	}
	for _, p := range []string{"a.example.com:8080", "http://a.example.com", "a.example.com/x", "a.*.example.com", "a..example.com", "", "*", "[::1]:80"} {
		t.Run(p, func(t *testing.T) {
			_, err := n.c.AddDomain(n.ctx, "a", p)
			if e := nodetest.WantError(t, err, 422, shared.CodeInvalidDomain); e.Detail("field") != "pattern" {
				t.Errorf("AddDomain(%q) field = %q", p, e.Detail("field"))
			}
		})
	}
	v6, err := n.c.AddDomain(n.ctx, "a", "[2001:DB8::1]")
	if err != nil || v6.Pattern != "2001:db8::1" {
		t.Errorf("IPv6 claim = %+v, %v", v6, err)
	}
	ds, err := n.c.Domains(n.ctx, "a")
	if err != nil || len(ds) != 2 {
		t.Fatalf("Domains = %+v, %v", ds, err)
	}
	// A route naming a host only this claim covers keeps it.
	sc := mustScript(t, n, "a", "s", hello)
	host := "shop.bücher.example"
	if _, err := n.c.CreateRoute(n.ctx, "a", shared.CreateRouteRequest{ScriptID: sc.ID, Method: "GET", Path: "/", Host: &host}); err != nil {
		t.Fatal(err)
	}
	nodetest.WantError(t, n.c.DeleteDomain(n.ctx, "a", d.ID), 409, shared.CodeDomainInUse)
	if err := n.c.DeleteDomain(n.ctx, "a", v6.ID); err != nil {
		t.Errorf("delete unused claim: %v", err)
	}
	nodetest.WantError(t, n.c.DeleteDomain(n.ctx, "a", v6.ID), 404, shared.CodeNotFound)
	nodetest.WantError(t, n.c.DeleteDomain(n.ctx, "a", 999), 404, shared.CodeNotFound)
	status, _, _ := n.raw("DELETE", "/api/v1/admin/apps/a/domains/abc", "")
	if status != 404 {
		t.Errorf("non-numeric domain id = %d", status)
	}
}

// ---- scripts ----

func TestScripts(t *testing.T) {
	n := start(t)
	mustApp(t, n, "A", "a")
	sb, err := n.c.Sandbox(n.ctx)
	if err != nil || sb.Ceiling != shared.BuiltinCeiling() || sb.Defaults != shared.DefaultLimits() {
		t.Fatalf("Sandbox = %+v, %v", sb, err)
	}
	s, err := n.c.CreateScript(n.ctx, shared.CreateScriptRequest{AppID: "a", Name: "one", Source: hello,
		Sandbox: shared.Overrides{shared.KnobMaxOperations: 500}, MemoryLimitMB: 64})
	if err != nil {
		t.Fatal(err)
	}
	want := shared.DefaultLimits()
	want.MaxOperations = 500
	if s.EffectiveSandbox != want || s.Sandbox[shared.KnobMaxOperations] != 500 || s.Version != 1 || s.MemoryLimitMB != 64 {
		t.Errorf("created script = %+v", s)
	}
	// app_id as a number works too.
	app, _ := n.c.App(n.ctx, "a")
	if _, err := n.c.CreateScript(n.ctx, shared.CreateScriptRequest{AppID: shared.AppRef(fmt.Sprint(app.ID)), Name: "two", Source: hello}); err != nil {
		t.Errorf("app_id by id: %v", err)
	}
	bad := []struct {
		req    shared.CreateScriptRequest
		status int
		code   string
		field  string
	}{
		{shared.CreateScriptRequest{Name: "x", Source: hello}, 422, shared.CodeValidationFailed, "app_id"},
		{shared.CreateScriptRequest{AppID: "nope", Name: "x", Source: hello}, 422, shared.CodeValidationFailed, "app_id"},
		{shared.CreateScriptRequest{AppID: "a", Name: "", Source: hello}, 422, shared.CodeValidationFailed, "name"},
		{shared.CreateScriptRequest{AppID: "a", Name: "one", Source: hello}, 409, shared.CodeScriptNameTaken, "name"},
		{shared.CreateScriptRequest{AppID: "a", Name: "x", Source: "function handle(req) { return ; "}, 422, shared.CodeScriptSyntax, ""},
		{shared.CreateScriptRequest{AppID: "a", Name: "x", Source: "function other() {}"}, 422, shared.CodeValidationFailed, "source"},
		{shared.CreateScriptRequest{AppID: "a", Name: "x", Source: hello, Sandbox: shared.Overrides{"timeout_ms": 30_001}}, 422, shared.CodeSandboxExceedsCeiling, "sandbox.timeout_ms"},
		{shared.CreateScriptRequest{AppID: "a", Name: "x", Source: hello, Sandbox: shared.Overrides{"max_operations": 0}}, 422, shared.CodeValidationFailed, "sandbox.max_operations"},
		{shared.CreateScriptRequest{AppID: "a", Name: "x", Source: hello, MemoryLimitMB: -1}, 422, shared.CodeValidationFailed, "memory_limit_mb"},
		{shared.CreateScriptRequest{AppID: "a", Name: "x", Source: hello + strings.Repeat(" ", manager.MaxSourceBytes)}, 413, shared.CodeTooLarge, "source"},
	}
	for i, b := range bad {
		_, err := n.c.CreateScript(n.ctx, b.req)
		e := nodetest.WantError(t, err, b.status, b.code)
		if b.field != "" && e.Detail("field") != b.field {
			t.Errorf("case %d: field = %q, want %q", i, e.Detail("field"), b.field)
		}
	}
	_, err = n.c.CreateScript(n.ctx, shared.CreateScriptRequest{AppID: "a", Name: "x", Source: "function handle(req) {\n  return (;\n}"})
	e := nodetest.WantError(t, err, 422, shared.CodeScriptSyntax)
	if e.Details["line"] == nil || e.Details["column"] == nil {
		t.Errorf("script_syntax without line/column: %v", e.Details)
	}
	_, err = n.c.CreateScript(n.ctx, shared.CreateScriptRequest{AppID: "a", Name: "x", Source: hello, Sandbox: shared.Overrides{"timeout_ms": 30_001}})
	if e := nodetest.WantError(t, err, 422, shared.CodeSandboxExceedsCeiling); fmt.Sprint(e.Details["requested"]) != "30001" || fmt.Sprint(e.Details["ceiling"]) != "30000" {
		t.Errorf("ceiling details = %v", e.Details)
	}

	// PATCH bumps the version and checks what it changes.
	src := `function handle(req) { return "v2"; }`
	got, err := n.c.UpdateScript(n.ctx, s.ID, shared.UpdateScriptRequest{Source: &src})
	if err != nil || got.Version != 2 || got.Source != src || got.EffectiveSandbox != want {
		t.Errorf("UpdateScript = %+v, %v", got, err)
	}
	broken := "function handle( {"
	_, err = n.c.UpdateScript(n.ctx, s.ID, shared.UpdateScriptRequest{Source: &broken})
	nodetest.WantError(t, err, 422, shared.CodeScriptSyntax)
	deep := `function handle(req) { return ((((((((((1)))))))))); }`
	shallow := shared.Overrides{shared.KnobMaxExprDepth: 3}
	if _, err := n.c.UpdateScript(n.ctx, s.ID, shared.UpdateScriptRequest{Source: &deep}); err != nil {
		t.Fatal(err)
	}
	_, err = n.c.UpdateScript(n.ctx, s.ID, shared.UpdateScriptRequest{Sandbox: &shallow})
	nodetest.WantError(t, err, 422, shared.CodeValidationFailed)
	unknown := shared.Overrides{"max_fun": 3}
	_, err = n.c.UpdateScript(n.ctx, s.ID, shared.UpdateScriptRequest{Sandbox: &unknown})
	if e := nodetest.WantError(t, err, 422, shared.CodeUnknownField); e.Detail("field") != "sandbox.max_fun" {
		t.Errorf("unknown knob field = %q", e.Detail("field"))
	}
	if got, _ := n.c.Script(n.ctx, s.ID); got.Version != 3 || got.Source != deep {
		t.Errorf("after rejected PATCHes script = v%d %q", got.Version, got.Source)
	}
	_, err = n.c.Script(n.ctx, 999)
	nodetest.WantError(t, err, 404, shared.CodeNotFound)

	// ?app= filters, all apps without it, old slugs redirect.
	mustApp(t, n, "B", "b")
	mustScript(t, n, "b", "bee", hello)
	all, _ := n.c.Scripts(n.ctx, "")
	onlyA, _ := n.c.Scripts(n.ctx, "a")
	if len(all) != 4 || len(onlyA) != 2 { // default's hello-world + a's two + b's one
		t.Errorf("scripts: all %d, a %d", len(all), len(onlyA))
	}
	for _, sc := range all {
		if sc.EffectiveSandbox.MaxOperations == 0 {
			t.Errorf("script %d without effective sandbox", sc.ID)
		}
	}
	ns := "bee-hive"
	if _, err := n.c.UpdateApp(n.ctx, "b", shared.UpdateAppRequest{Slug: &ns}); err != nil {
		t.Fatal(err)
	}
	if got, err := n.c.Scripts(n.ctx, "b"); err != nil || len(got) != 1 || got[0].Name != "bee" {
		t.Errorf("Scripts(old slug) = %+v, %v", got, err)
	}
	_, err = n.c.Scripts(n.ctx, "zzz")
	nodetest.WantError(t, err, 404, shared.CodeNotFound)
}

// SPEC §5: a loop of 10,000 with max_operations 500 answers 507; after a
// PATCH to 1,000,000 it answers 10000, on the very next request.
func TestSandboxChangeTakesEffectOnNextRequest(t *testing.T) {
	n := start(t)
	mustApp(t, n, "Loop", "loop")
	if _, err := n.c.AddDomain(n.ctx, "loop", "loop.test"); err != nil {
		t.Fatal(err)
	}
	src := `function handle(req) { var n = 0; for (var i = 0; i < 10000; i++) { n++; } return String(n); }`
	s, err := n.c.CreateScript(n.ctx, shared.CreateScriptRequest{AppID: "loop", Name: "loop", Source: src,
		Sandbox: shared.Overrides{shared.KnobMaxOperations: 500}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.c.CreateRoute(n.ctx, "loop", shared.CreateRouteRequest{ScriptID: s.ID, Method: "GET", Path: "/"}); err != nil {
		t.Fatal(err)
	}
	if status, body := n.get("loop.test", "/"); status != 507 {
		t.Errorf("with max_operations 500: %d %s, want 507", status, body)
	}
	more := shared.Overrides{shared.KnobMaxOperations: 1_000_000}
	if _, err := n.c.UpdateScript(n.ctx, s.ID, shared.UpdateScriptRequest{Sandbox: &more}); err != nil {
		t.Fatal(err)
	}
	if status, body := n.get("loop.test", "/"); status != 200 || body != "10000" {
		t.Errorf("after PATCH: %d %q, want 200 10000", status, body)
	}
	// Execute runs it the same way, through the client.
	res, err := n.c.Execute(n.ctx, s.ID, shared.ExecuteRequest{Method: "POST", Body: []byte("x")})
	if err != nil || res.Status != 200 || string(res.Body) != "10000" {
		t.Errorf("Execute = %d %q, %v", res.Status, res.Body, err)
	}
	echo := mustScript(t, n, "loop", "echo", `function handle(req) { return req.method + " " + req.path + " " + req.query.q + " " + req.body; }`)
	res, err = n.c.Execute(n.ctx, echo.ID, shared.ExecuteRequest{Method: "PUT", Path: "/a/b c", Query: url.Values{"q": {"1"}}, Body: []byte("data")})
	if err != nil || string(res.Body) != "PUT /a/b c 1 data" {
		t.Errorf("Execute echo = %d %q, %v", res.Status, res.Body, err)
	}
	_, err = n.c.Execute(n.ctx, 999, shared.ExecuteRequest{})
	nodetest.WantError(t, err, 404, shared.CodeNotFound)

	// Any method means any: custom and rarely used ones run the script too.
	for _, m := range []string{"PURGE", "TRACE", "PROPFIND", "OPTIONS"} {
		t.Run(m, func(t *testing.T) {
			res, err := n.c.Execute(n.ctx, echo.ID, shared.ExecuteRequest{Method: m, Path: "/p"})
			if err != nil || string(res.Body) != m+" /p undefined " {
				t.Errorf("Execute %s = %d %q, %v", m, res.Status, res.Body, err)
			}
		})
	}
	for _, path := range []string{"/api/v1/execute/", "/api/v1/execute/abc", "/api/v1/execute/0/x", "/api/v1/execute/-1"} {
		t.Run(path, func(t *testing.T) {
			n := n.sub(t)
			if status, _, body := n.raw("GET", path, ""); status != 404 || envelope(t, body).Code != shared.CodeNotFound {
				t.Errorf("GET %s = %d %s, want 404 not_found", path, status, body)
			}
		})
	}
}

// A 405 of the admin API lists the allowed methods in Allow and, as the
// data plane's does, as a list in the body.
func TestAdminMethodNotAllowed(t *testing.T) {
	n := start(t)
	status, hdr, body := n.raw("PUT", "/api/v1/admin/apps", "{}")
	e := envelope(t, body)
	if status != 405 || e.Code != shared.CodeMethodNotAllowed || hdr.Get("Allow") != "GET, OPTIONS, POST" {
		t.Fatalf("PUT apps = %d %s (Allow %q)", status, body, hdr.Get("Allow"))
	}
	if got := fmt.Sprint(e.Details["allow"]); got != "[GET OPTIONS POST]" {
		t.Errorf("allow detail = %s, want [GET OPTIONS POST]", got)
	}
}

// ---- routes, resolve, data plane ----

func TestRoutes(t *testing.T) {
	n := start(t)
	mustApp(t, n, "Shop", "shop")
	other := mustApp(t, n, "Other", "other")
	for _, p := range []string{"shop.test", "*.shop.test"} {
		if _, err := n.c.AddDomain(n.ctx, "shop", p); err != nil {
			t.Fatal(err)
		}
	}
	s := mustScript(t, n, "shop", "s", hello)
	os := mustScript(t, n, "other", "o", hello)
	route := func(method, path string, host *string) (shared.Route, error) {
		return n.c.CreateRoute(n.ctx, "shop", shared.CreateRouteRequest{ScriptID: s.ID, Method: method, Path: path, Host: host})
	}
	h := func(s string) *string { return &s }
	users, err := route("get", "/users/:id", nil)
	if err != nil || users.Method != "GET" {
		t.Fatalf("route = %+v, %v", users, err)
	}
	files, err := route("ANY", "/files/*rest", nil)
	if err != nil {
		t.Fatal(err)
	}
	named, err := route("GET", "/users/:id", h("API.Shop.Test."))
	if err != nil || named.Host == nil || *named.Host != "api.shop.test" {
		t.Fatalf("host-specific route beside host-less one = %+v, %v", named, err)
	}
	conflicts := []struct {
		method, path string
		host         *string
		clash        int64
	}{
		{"GET", "/users/:id", nil, users.ID},
		{"GET", "/users/:name", nil, users.ID},
		{"GET", "/users/new", nil, users.ID},
		{"POST", "/files/x", nil, files.ID},
		{"ANY", "/users/:id", nil, users.ID},
		{"GET", "/users/:id", h("api.shop.test"), named.ID},
		{"GET", "/files/x", h("api.shop.test"), files.ID},
	}
	for _, c := range conflicts {
		_, err := route(c.method, c.path, c.host)
		e := nodetest.WantError(t, err, 409, shared.CodeRouteConflict)
		if fmt.Sprint(e.Details["route_id"]) != fmt.Sprint(c.clash) {
			t.Errorf("%s %s conflict names route %v, want %d", c.method, c.path, e.Details["route_id"], c.clash)
		}
	}
	// Another app may use the same patterns.
	if _, err := n.c.CreateRoute(n.ctx, "other", shared.CreateRouteRequest{ScriptID: os.ID, Method: "GET", Path: "/users/:name"}); err != nil {
		t.Errorf("same pattern in another app: %v", err)
	}
	invalid := []struct {
		req   shared.CreateRouteRequest
		code  string
		field string
	}{
		{shared.CreateRouteRequest{ScriptID: s.ID, Method: "G T", Path: "/"}, shared.CodeInvalidRoute, "method"},
		{shared.CreateRouteRequest{ScriptID: s.ID, Method: "GET", Path: "nope"}, shared.CodeInvalidRoute, "path"},
		{shared.CreateRouteRequest{ScriptID: s.ID, Method: "GET", Path: "/a/:"}, shared.CodeInvalidRoute, "path"},
		{shared.CreateRouteRequest{ScriptID: s.ID, Method: "GET", Path: "/f/*x/y"}, shared.CodeInvalidRoute, "path"},
		{shared.CreateRouteRequest{ScriptID: s.ID, Method: "GET", Path: "/", Host: h("*.shop.test")}, shared.CodeInvalidRoute, "host"},
		{shared.CreateRouteRequest{ScriptID: s.ID, Method: "GET", Path: "/", Host: h("shop.test:80")}, shared.CodeInvalidRoute, "host"},
		{shared.CreateRouteRequest{ScriptID: s.ID, Method: "GET", Path: "/", Host: h("elsewhere.test")}, shared.CodeHostNotClaimed, "host"},
		{shared.CreateRouteRequest{ScriptID: s.ID, Method: "GET", Path: "/", Host: h("shop.test.evil")}, shared.CodeHostNotClaimed, "host"},
		{shared.CreateRouteRequest{Method: "GET", Path: "/"}, shared.CodeValidationFailed, "script_id"},
		{shared.CreateRouteRequest{ScriptID: os.ID, Method: "GET", Path: "/x"}, shared.CodeValidationFailed, "script_id"},
	}
	for _, c := range invalid {
		_, err := n.c.CreateRoute(n.ctx, "shop", c.req)
		if e := nodetest.WantError(t, err, 422, c.code); e.Detail("field") != c.field {
			t.Errorf("CreateRoute(%+v) field = %q, want %q", c.req, e.Detail("field"), c.field)
		}
	}
	rs, err := n.c.Routes(n.ctx, "shop")
	if err != nil || len(rs) != 3 {
		t.Fatalf("Routes = %+v, %v", rs, err)
	}

	// The data plane and resolve agree, at once.
	if status, body := n.get("x.shop.test", "/users/7"); status != 200 || body != `hello /users/7 {"id":"7"}` {
		t.Errorf("data plane = %d %q", status, body)
	}
	res, err := n.c.Resolve(n.ctx, "X.Shop.Test:8080", "GET", "/users/7")
	if err != nil || res.Route.ID != users.ID || res.App.Slug != "shop" || res.Params["id"] != "7" || res.Script.ID != s.ID {
		t.Errorf("Resolve = %+v, %v", res, err)
	}
	if res, err := n.c.Resolve(n.ctx, "api.shop.test", "GET", "/users/7"); err != nil || res.Route.ID != named.ID {
		t.Errorf("Resolve named host = route %d, %v; want %d", res.Route.ID, err, named.ID)
	}
	_, err = n.c.Resolve(n.ctx, "nobody.test", "GET", "/")
	nodetest.WantError(t, err, 404, shared.CodeUnknownHost)
	_, err = n.c.Resolve(n.ctx, "shop.test", "GET", "/nothing")
	nodetest.WantError(t, err, 404, shared.CodeNoRoute)
	_, err = n.c.Resolve(n.ctx, "", "GET", "/")
	nodetest.WantError(t, err, 422, shared.CodeValidationFailed)

	if err := n.c.DeleteRoute(n.ctx, "shop", users.ID); err != nil {
		t.Fatal(err)
	}
	if status, _ := n.get("x.shop.test", "/users/7"); status != 404 {
		t.Errorf("after delete the data plane answers %d, want 404", status)
	}
	nodetest.WantError(t, n.c.DeleteRoute(n.ctx, "shop", users.ID), 404, shared.CodeNotFound)
	// A route of another app is not found through this one.
	ors, _ := n.c.Routes(n.ctx, "other")
	nodetest.WantError(t, n.c.DeleteRoute(n.ctx, "shop", ors[0].ID), 404, shared.CodeNotFound)
	_ = other
}

// ---- cascades and logs ----

func TestCascadesAndLogs(t *testing.T) {
	n := start(t)
	app := mustApp(t, n, "Gone", "gone")
	if _, err := n.c.AddDomain(n.ctx, "gone", "gone.test"); err != nil {
		t.Fatal(err)
	}
	s1 := mustScript(t, n, "gone", "one", hello)
	s2 := mustScript(t, n, "gone", "two", hello)
	r1, _ := n.c.CreateRoute(n.ctx, "gone", shared.CreateRouteRequest{ScriptID: s1.ID, Method: "GET", Path: "/one"})
	if _, err := n.c.CreateRoute(n.ctx, "gone", shared.CreateRouteRequest{ScriptID: s2.ID, Method: "GET", Path: "/two"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		n.get("gone.test", "/one")
	}
	n.get("gone.test", "/two")
	logs := nodetest.WaitLogs(t, n.c, "gone", 0, 4)
	if len(logs) != 4 || logs[0].ID < logs[3].ID {
		t.Fatalf("logs = %d entries (newest first?), want 4", len(logs))
	}
	if one := nodetest.WaitLogs(t, n.c, "gone", s1.ID, 3); len(one) != 3 || one[0].RouteID == nil || *one[0].RouteID != r1.ID {
		t.Errorf("logs of script one = %+v", one)
	}
	page, _ := n.c.Logs(n.ctx, "gone", 0, 2, 0)
	next, _ := n.c.Logs(n.ctx, "gone", 0, 2, page[1].ID)
	if len(page) != 2 || len(next) != 2 || next[0].ID >= page[1].ID {
		t.Errorf("paging: %d then %d entries", len(page), len(next))
	}
	for _, q := range []string{"limit=0", "limit=1001", "limit=x", "before=-1", "script=abc"} {
		t.Run(q, func(t *testing.T) {
			n := n.sub(t)
			status, _, body := n.raw("GET", "/api/v1/admin/apps/gone/logs?"+q, "")
			if status != 422 || envelope(t, body).Code != shared.CodeValidationFailed {
				t.Errorf("logs?%s = %d %s", q, status, body)
			}
		})
	}

	// Deleting a script deletes its routes and keeps its logs.
	if err := n.c.DeleteScript(n.ctx, s1.ID); err != nil {
		t.Fatal(err)
	}
	rs, _ := n.c.Routes(n.ctx, "gone")
	if len(rs) != 1 || rs[0].ScriptID != s2.ID {
		t.Errorf("routes after deleting script one = %+v", rs)
	}
	if status, _ := n.get("gone.test", "/one"); status != 404 {
		t.Errorf("deleted script's route answers %d", status)
	}
	if logs, _ := n.c.Logs(n.ctx, "gone", s1.ID, 0, 0); len(logs) != 3 {
		t.Errorf("logs of the deleted script = %d, want 3", len(logs))
	}
	nodetest.WantError(t, n.c.DeleteScript(n.ctx, s1.ID), 404, shared.CodeNotFound)

	// Deleting the app deletes everything of it, and the data plane forgets
	// its hosts at once.
	if err := n.c.DeleteApp(n.ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	_, err := n.c.App(n.ctx, "gone")
	nodetest.WantError(t, err, 404, shared.CodeNotFound)
	_, err = n.c.Script(n.ctx, s2.ID)
	nodetest.WantError(t, err, 404, shared.CodeNotFound)
	if status, body := n.get("gone.test", "/two"); status != 404 || !strings.Contains(body, shared.CodeUnknownHost) {
		t.Errorf("deleted app's host = %d %s, want unknown_host", status, body)
	}
	// Its claim is free again.
	mustApp(t, n, "New", "new")
	if _, err := n.c.AddDomain(n.ctx, "new", "gone.test"); err != nil {
		t.Errorf("reclaim after delete: %v", err)
	}
	// Logs of the deleted app are gone with it.
	if logs, err := n.store.Logs(n.ctx, app.ID, 0, 100, 0); (err != nil && !shared.IsCode(err, shared.CodeNotFound)) || len(logs) != 0 {
		t.Errorf("logs of deleted app = %d, %v", len(logs), err)
	}
}

// ---- strict JSON ----

func TestStrictJSON(t *testing.T) {
	n := start(t)
	mustApp(t, n, "A", "a")
	sc := mustScript(t, n, "a", "s", hello)
	cases := []struct {
		method, path, body string
		status             int
		code, field        string
	}{
		{"POST", "/api/v1/admin/apps", `{"name":"x","colour":"red"}`, 422, shared.CodeUnknownField, "colour"},
		{"POST", "/api/v1/admin/apps", `{"Name":"x"}`, 422, shared.CodeUnknownField, "Name"},
		{"POST", "/api/v1/admin/apps", `{"name":"x","domains":[]}`, 422, shared.CodeUnknownField, "domains"},
		{"POST", "/api/v1/admin/apps", `not json`, 400, shared.CodeBadJSON, ""},
		{"POST", "/api/v1/admin/apps", ``, 400, shared.CodeBadJSON, ""},
		{"POST", "/api/v1/admin/apps", `[{"name":"x"}]`, 400, shared.CodeBadJSON, ""},
		{"POST", "/api/v1/admin/apps", `{"name":"x"} {}`, 400, shared.CodeBadJSON, ""},
		{"POST", "/api/v1/admin/apps", `{"name":5}`, 400, shared.CodeBadJSON, "name"},
		{"POST", "/api/v1/admin/apps", `null`, 400, shared.CodeBadJSON, ""},
		{"PATCH", "/api/v1/admin/apps/a", `{"slug":"b","id":3}`, 422, shared.CodeUnknownField, "id"},
		{"PATCH", "/api/v1/admin/apps/a", `{"name":true}`, 400, shared.CodeBadJSON, "name"},
		{"POST", "/api/v1/admin/apps/a/slug:check", `{"slug":"x","force":true}`, 422, shared.CodeUnknownField, "force"},
		{"POST", "/api/v1/admin/apps/a/domains", `{"pattern":"x.test","wildcard":true}`, 422, shared.CodeUnknownField, "wildcard"},
		{"POST", "/api/v1/admin/scripts", `{"app_id":"a","name":"n","source":"function handle(){}","sandbox":{"max_operations":5,"max_fun":1}}`, 422, shared.CodeUnknownField, "sandbox.max_fun"},
		{"POST", "/api/v1/admin/scripts", `{"app_id":"a","name":"n","source":"function handle(){}","sandbox":{"max_operations":"many"}}`, 400, shared.CodeBadJSON, ""},
		{"POST", "/api/v1/admin/scripts", `{"app_id":true,"name":"n","source":"function handle(){}"}`, 400, shared.CodeBadJSON, ""},
		{"POST", "/api/v1/admin/scripts", `{"app_id":"a","name":"n","source":"function handle(){}","version":2}`, 422, shared.CodeUnknownField, "version"},
		{"PATCH", fmt.Sprintf("/api/v1/admin/scripts/%d", sc.ID), `{"sandbox":{"timeout":5}}`, 422, shared.CodeUnknownField, "sandbox.timeout"},
		{"PATCH", fmt.Sprintf("/api/v1/admin/scripts/%d", sc.ID), `{"app_id":"default"}`, 422, shared.CodeUnknownField, "app_id"},
		{"POST", "/api/v1/admin/apps/a/routes", `{"script_id":1,"method":"GET","path":"/","priority":1}`, 422, shared.CodeUnknownField, "priority"},
		{"POST", "/api/v1/admin/apps/a/routes", `{"script_id":"1","method":"GET","path":"/"}`, 400, shared.CodeBadJSON, "script_id"},
	}
	for _, c := range cases {
		status, _, body := n.raw(c.method, c.path, c.body, "Content-Type", "application/json")
		if status != c.status {
			t.Errorf("%s %s %s = %d %s, want %d", c.method, c.path, c.body, status, body, c.status)
			continue
		}
		e := envelope(t, body)
		if e.Code != c.code || (c.field != "" && e.Detail("field") != c.field) {
			t.Errorf("%s %s %s = %s field %q, want %s field %q", c.method, c.path, c.body, e.Code, e.Detail("field"), c.code, c.field)
		}
	}
	// Over 1 MiB is 413 whatever the content.
	big := `{"name":"` + strings.Repeat("x", manager.MaxBodyBytes) + `"}`
	status, _, body := n.raw("POST", "/api/v1/admin/apps", big)
	if status != 413 || envelope(t, body).Code != shared.CodeTooLarge {
		t.Errorf("1 MiB body = %d %.100s", status, body)
	}
}

// ---- rejected requests change nothing ----

// state is everything the admin API shows, for before/after comparisons.
type state struct {
	Apps    []shared.App
	Domains map[string][]shared.Domain
	Scripts []shared.Script
	Routes  map[string][]shared.Route
}

func snapshot(t *testing.T, n *node) state {
	t.Helper()
	var s state
	var err error
	if s.Apps, err = n.c.ListApps(n.ctx); err != nil {
		t.Fatal(err)
	}
	s.Domains, s.Routes = map[string][]shared.Domain{}, map[string][]shared.Route{}
	for _, a := range s.Apps {
		if s.Domains[a.Slug], err = n.c.Domains(n.ctx, a.Slug); err != nil {
			t.Fatal(err)
		}
		if s.Routes[a.Slug], err = n.c.Routes(n.ctx, a.Slug); err != nil {
			t.Fatal(err)
		}
	}
	if s.Scripts, err = n.c.Scripts(n.ctx, ""); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRejectedRequestsLeaveStateUnchanged(t *testing.T) {
	n := start(t)
	mustApp(t, n, "A", "a")
	mustApp(t, n, "B", "b")
	old := "b-new"
	if _, err := n.c.UpdateApp(n.ctx, "b", shared.UpdateAppRequest{Slug: &old}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.c.AddDomain(n.ctx, "a", "a.test"); err != nil {
		t.Fatal(err)
	}
	d, _ := n.c.AddDomain(n.ctx, "a", "*.a.test")
	sc := mustScript(t, n, "a", "s", hello)
	if _, err := n.c.CreateRoute(n.ctx, "a", shared.CreateRouteRequest{ScriptID: sc.ID, Method: "GET", Path: "/u/:id"}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.c.CreateRoute(n.ctx, "a", shared.CreateRouteRequest{ScriptID: sc.ID, Method: "GET", Path: "/", Host: ptr("x.a.test")}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, n)
	sid := fmt.Sprint(sc.ID)
	bad := []struct{ method, path, body string }{
		{"POST", "/api/v1/admin/apps", `{"name":"A2","slug":"a"}`},
		{"POST", "/api/v1/admin/apps", `{"name":"B2","slug":"b"}`},
		{"POST", "/api/v1/admin/apps", `{"name":"x","slug":"api"}`},
		{"POST", "/api/v1/admin/apps", `{"name":"x","extra":1}`},
		{"POST", "/api/v1/admin/apps", `{"name":""}`},
		{"PATCH", "/api/v1/admin/apps/a", `{"slug":"b-new"}`},
		{"PATCH", "/api/v1/admin/apps/a", `{"slug":"b"}`},
		{"PATCH", "/api/v1/admin/apps/a", `{"slug":"Bad"}`},
		{"PATCH", "/api/v1/admin/apps/a", `{"name":"ok","slug":"b"}`},
		{"PATCH", "/api/v1/admin/apps/a", `{"name":"ok","bogus":1}`},
		{"PATCH", "/api/v1/admin/apps/default", `{"slug":"home"}`},
		{"DELETE", "/api/v1/admin/apps/default", ``},
		{"POST", "/api/v1/admin/apps/b-new/domains", `{"pattern":"A.TEST."}`},
		{"POST", "/api/v1/admin/apps/b-new/domains", `{"pattern":"a.test:80"}`},
		{"DELETE", "/api/v1/admin/apps/a/domains/" + fmt.Sprint(d.ID), ``},
		{"DELETE", "/api/v1/admin/apps/b-new/domains/" + fmt.Sprint(d.ID), ``},
		{"POST", "/api/v1/admin/scripts", `{"app_id":"a","name":"s","source":"function handle(){}"}`},
		{"POST", "/api/v1/admin/scripts", `{"app_id":"a","name":"t","source":"function handle( {"}`},
		{"POST", "/api/v1/admin/scripts", `{"app_id":"a","name":"t","source":"function handle(){}","sandbox":{"timeout_ms":999999}}`},
		{"PATCH", "/api/v1/admin/scripts/" + sid, `{"source":"nope("}`},
		{"PATCH", "/api/v1/admin/scripts/" + sid, `{"name":"x","sandbox":{"max_operations":0}}`},
		{"PATCH", "/api/v1/admin/scripts/" + sid, `{"name":"x","source":"function other(){}"}`},
		{"POST", "/api/v1/admin/apps/a/routes", `{"script_id":` + sid + `,"method":"GET","path":"/u/:name"}`},
		{"POST", "/api/v1/admin/apps/a/routes", `{"script_id":` + sid + `,"method":"GET","path":"/","host":"elsewhere.test"}`},
		{"POST", "/api/v1/admin/apps/a/routes", `{"script_id":` + sid + `,"method":"GET","path":"bad"}`},
		{"POST", "/api/v1/admin/apps/b-new/routes", `{"script_id":` + sid + `,"method":"GET","path":"/"}`},
		{"DELETE", "/api/v1/admin/apps/b-new/routes/1", ``},
		{"DELETE", "/api/v1/admin/scripts/99999", ``},
		{"POST", "/api/v1/admin/apps", `{"name":"` + strings.Repeat("x", manager.MaxBodyBytes) + `"}`},
	}
	for _, b := range bad {
		status, _, body := n.raw(b.method, b.path, b.body)
		if status < 400 {
			t.Errorf("%s %s %.80s = %d, expected a rejection", b.method, b.path, b.body, status)
		}
		if after := snapshot(t, n); !reflect.DeepEqual(before, after) {
			t.Fatalf("%s %s %.80s (%d %.200s) changed the stored state", b.method, b.path, b.body, status, body)
		}
	}
}

func ptr(s string) *string { return &s }

// Conflict checks run inside the store's write transaction: of many
// clashing routes created at once exactly one wins, and the data plane can
// serve the result.
func TestConcurrentClashingRoutes(t *testing.T) {
	n := start(t)
	mustApp(t, n, "Race", "race")
	if _, err := n.c.AddDomain(n.ctx, "race", "race.test"); err != nil {
		t.Fatal(err)
	}
	s := mustScript(t, n, "race", "s", hello)
	const k = 8
	errs := make(chan error, k)
	var wg sync.WaitGroup
	for i := 0; i < k; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := n.c.CreateRoute(n.ctx, "race", shared.CreateRouteRequest{ScriptID: s.ID, Method: "GET", Path: fmt.Sprintf("/items/:p%d", i)})
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		if err == nil {
			ok++
		} else if !shared.IsCode(err, shared.CodeRouteConflict) {
			t.Errorf("concurrent create: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d clashing routes were created, want exactly 1", ok, k)
	}
	if status, _ := n.get("race.test", "/items/9"); status != 200 {
		t.Errorf("the winning route answers %d", status)
	}
}

// A confirm token is spent once even when two requests race with it.
func TestConcurrentTakeoverSpendsTokenOnce(t *testing.T) {
	n := start(t)
	mustApp(t, n, "Old", "prize")
	s := "prize-old"
	if _, err := n.c.UpdateApp(n.ctx, "prize", shared.UpdateAppRequest{Slug: &s}); err != nil {
		t.Fatal(err)
	}
	_, err := n.c.CreateApp(n.ctx, shared.CreateAppRequest{Name: "x", Slug: "prize"})
	tok := nodetest.WantError(t, err, 409, shared.CodeSlugReserved).Detail("confirm_token")
	const k = 6
	var wg sync.WaitGroup
	created := make(chan shared.App, k)
	for i := 0; i < k; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			a, err := n.c.CreateApp(n.ctx, shared.CreateAppRequest{Name: fmt.Sprint("racer ", i), Slug: "prize", ConfirmToken: tok})
			if err == nil {
				created <- a
			}
		}(i)
	}
	wg.Wait()
	close(created)
	if len(created) != 1 {
		t.Fatalf("%d apps took the slug with one token, want 1", len(created))
	}
	winner := <-created
	if a, _ := n.c.App(n.ctx, "prize"); a.ID != winner.ID {
		t.Errorf("prize = app %d, want %d", a.ID, winner.ID)
	}
}

// Two PATCHes racing, one of the source and one of the sandbox, each valid
// with the script as it was, never store a pair that fails together.
func TestConcurrentScriptPatchesStayValid(t *testing.T) {
	n := start(t)
	mustApp(t, n, "race", "race")
	shallowSrc := `function handle() { return 1; }`
	deepSrc := `function handle() { return ((((((((((((((((1)))))))))))))))); }`
	shallow := shared.Overrides{shared.KnobMaxExprDepth: 8}
	// The pair really is invalid together.
	_, err := n.c.CreateScript(n.ctx, shared.CreateScriptRequest{AppID: "race", Name: "probe", Source: deepSrc, Sandbox: shallow})
	nodetest.WantError(t, err, http.StatusUnprocessableEntity, shared.CodeValidationFailed)

	for i := range 20 {
		s := mustScript(t, n, "race", fmt.Sprintf("s%d", i), shallowSrc)
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = n.c.UpdateScript(n.ctx, s.ID, shared.UpdateScriptRequest{Source: &deepSrc}) })
		wg.Go(func() { _, _ = n.c.UpdateScript(n.ctx, s.ID, shared.UpdateScriptRequest{Sandbox: &shallow}) })
		wg.Wait()
		got, err := n.c.Script(n.ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Source == deepSrc && got.Sandbox[shared.KnobMaxExprDepth] == 8 {
			t.Fatalf("round %d: both PATCHes stored; the script no longer compiles", i)
		}
	}
}
