package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud/shared"
)

// ledger records every admin write the node acknowledged with a 2xx. After a
// crash each of them must still be there.
type ledger struct {
	mu      sync.Mutex
	apps    map[int64]string // id → slug
	domains map[int64]ackDomain
	scripts map[int64]ackScript
	routes  map[int64]ackRoute // live routes
	deleted map[int64]int64    // deleted route id → app id
	gone    map[int64]string   // deleted app id → slug
	// Deletes sent but not (yet) acknowledged: a crash may or may not have
	// let them commit, so either outcome is right.
	deletingRoute map[int64]bool
	deletingApp   map[int64]bool
}

type ackDomain struct {
	app     int64
	pattern string
}

type ackScript struct {
	app     int64
	slug    string
	version int64
	source  string
}

type ackRoute struct{ app, script int64 }

func newLedger() *ledger {
	return &ledger{
		apps:    map[int64]string{},
		domains: map[int64]ackDomain{},
		scripts: map[int64]ackScript{},
		routes:  map[int64]ackRoute{},
		deleted: map[int64]int64{},
		gone:    map[int64]string{},

		deletingRoute: map[int64]bool{},
		deletingApp:   map[int64]bool{},
	}
}

func (l *ledger) do(f func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f()
}

// crashSource is the script of app slug at version v: its body tells which
// version answered.
func crashSource(slug string, v int) string {
	return fmt.Sprintf("function handle(req) {\n  console.log(%q);\n  return %q;\n}\n", slug, crashBody(slug, v))
}

func crashBody(slug string, v int) string { return fmt.Sprintf("%s v%d", slug, v) }

// TestCrashKeepsAcknowledgedWrites runs rounds of: a storm of admin writes
// and executions from several goroutines, kill -9 in the middle of it,
// PRAGMA integrity_check on the files the crash left, restart, and a check
// that every acknowledged write survived and the node serves again.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	bin := buildNode(t)
	ctx := context.Background()
	dir := t.TempDir()
	node, err := StartNode(ctx, bin, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { node.Kill() }()
	led := newLedger()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 8))
	for round := range *crashRounds {
		killAfter := 300*time.Millisecond + time.Duration(rng.Int64N(int64(1500*time.Millisecond)))
		acks := storm(t, node, led, round, killAfter)
		t.Logf("round %d: killed %v into the storm; %d writes acknowledged this round", round, killAfter, acks)
		if acks == 0 {
			t.Fatalf("round %d: no write acknowledged before the kill:\n%s", round, node.Output())
		}
		if err := IntegrityCheck(ctx, node.DBPath()); err != nil {
			t.Fatalf("round %d, after kill -9: %v", round, err)
		}
		t0 := time.Now()
		if node, err = node.Restart(ctx); err != nil {
			t.Fatalf("round %d: restart after kill -9: %v", round, err)
		}
		t1 := time.Now()
		verify(t, ctx, node, led)
		t.Logf("round %d: restart took %v, verifying %d apps (%d deleted) %v", round, t1.Sub(t0).Round(time.Millisecond), len(led.apps), len(led.gone), time.Since(t1).Round(time.Millisecond))
		if t.Failed() {
			t.Fatalf("round %d: acknowledged writes lost; node output:\n%s", round, node.Output())
		}
	}
	if err := node.Stop(30 * time.Second); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	if err := IntegrityCheck(ctx, node.DBPath()); err != nil {
		t.Fatalf("after the last graceful stop: %v", err)
	}
}

// storm runs writers and executors against node and kills it with SIGKILL
// killAfter after the first acknowledged write, while they are still going. It returns how many writes
// the node acknowledged.
func storm(t *testing.T, node *Node, led *ledger, round int, killAfter time.Duration) int {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var acks sync.WaitGroup // counts nothing; just joins the goroutines
	var nAcks, nExec int64
	var mu sync.Mutex
	count := func(p *int64) { mu.Lock(); *p++; mu.Unlock() }
	firstAck := make(chan struct{})
	var once sync.Once
	ack := func() {
		count(&nAcks)
		once.Do(func() { close(firstAck) })
	}
	// A failure seen while the node is up is a bug; one after the kill is
	// the crash itself and is ignored.
	var killed sync.Mutex
	dead := false
	fail := func(format string, args ...any) {
		killed.Lock()
		defer killed.Unlock()
		if !dead {
			t.Errorf(format, args...)
		}
	}
	const writers, executors = 4, 2
	for w := range writers {
		acks.Add(1)
		go func() {
			defer acks.Done()
			for i := 0; ctx.Err() == nil; i++ {
				writeOne(ctx, node, led, fmt.Sprintf("c%d-w%d-%d", round, w, i), i, ack, fail)
			}
		}()
	}
	data := &http.Client{Timeout: 10 * time.Second}
	for e := range executors {
		acks.Add(1)
		go func() {
			defer acks.Done()
			r := rand.New(rand.NewPCG(uint64(round), uint64(e)))
			for ctx.Err() == nil {
				execOne(ctx, node, led, data, r, fail)
				count(&nExec)
			}
		}()
	}
	// The clock starts at the first acknowledged write, so that a slow
	// machine still gets a storm before the kill.
	select {
	case <-firstAck:
	case <-time.After(30 * time.Second):
	}
	time.Sleep(killAfter)
	killed.Lock()
	dead = true
	node.Kill()
	killed.Unlock()
	cancel()
	acks.Wait()
	t.Logf("round %d: %d executions during the storm", round, nExec)
	return int(nAcks)
}

// transport reports whether err is a failed exchange (no answer), as
// opposed to an answer from the node.
func transport(err error) bool {
	var se *shared.Error
	return err != nil && !errors.As(err, &se)
}

// writeOne creates an app with a domain, a script and a route, updates the
// script, checks it answers, and now and then deletes the route, recording
// each acknowledged step.
func writeOne(ctx context.Context, node *Node, led *ledger, slug string, i int, ack func(), fail func(string, ...any)) {
	a := node.Admin
	check := func(what string, err error) bool {
		if err == nil {
			ack()
			return true
		}
		if !transport(err) {
			fail("%s %s: %v", what, slug, err)
		}
		return false
	}
	var app shared.App
	if !check("create app", a.Do(ctx, http.MethodPost, "/api/v1/admin/apps", shared.CreateAppRequest{Name: slug, Slug: slug}, &app)) {
		return
	}
	led.do(func() { led.apps[app.ID] = app.Slug })
	base := "/api/v1/admin/apps/" + strconv.FormatInt(app.ID, 10)

	var dom shared.Domain
	if !check("add domain", a.Do(ctx, http.MethodPost, base+"/domains", shared.CreateDomainRequest{Pattern: slug + ".crash.test"}, &dom)) {
		return
	}
	led.do(func() { led.domains[dom.ID] = ackDomain{app.ID, dom.Pattern} })

	var sc shared.Script
	src := crashSource(slug, 1)
	if !check("create script", a.Do(ctx, http.MethodPost, "/api/v1/admin/scripts", shared.CreateScriptRequest{
		AppID: shared.AppRef(strconv.FormatInt(app.ID, 10)), Name: "main", Source: src}, &sc)) {
		return
	}
	led.do(func() { led.scripts[sc.ID] = ackScript{app.ID, slug, sc.Version, src} })
	scPath := "/api/v1/admin/scripts/" + strconv.FormatInt(sc.ID, 10)

	var rt shared.Route
	if !check("create route", a.Do(ctx, http.MethodPost, base+"/routes", shared.CreateRouteRequest{ScriptID: sc.ID, Method: "GET", Path: "/"}, &rt)) {
		return
	}
	led.do(func() { led.routes[rt.ID] = ackRoute{app.ID, sc.ID} })

	src2 := crashSource(slug, 2)
	if !check("update script", a.Do(ctx, http.MethodPatch, scPath, shared.UpdateScriptRequest{Source: &src2}, &sc)) {
		return
	}
	led.do(func() { led.scripts[sc.ID] = ackScript{app.ID, slug, sc.Version, src2} })

	switch i % 6 {
	case 3:
		led.do(func() { led.deletingRoute[rt.ID] = true })
		if !check("delete route", a.Do(ctx, http.MethodDelete, base+"/routes/"+strconv.FormatInt(rt.ID, 10), nil, nil)) {
			return
		}
		led.do(func() {
			delete(led.deletingRoute, rt.ID)
			delete(led.routes, rt.ID)
			led.deleted[rt.ID] = app.ID
		})
	case 5:
		// Deleting the app cascades to its domains, scripts and routes.
		led.do(func() { led.deletingApp[app.ID] = true })
		if !check("delete app", a.Do(ctx, http.MethodDelete, base, nil, nil)) {
			return
		}
		led.do(func() {
			delete(led.deletingApp, app.ID)
			led.forgetApp(app.ID)
		})
	}
}

// forgetApp records an acknowledged app deletion: the app and everything
// it held must be gone after a crash.
func (l *ledger) forgetApp(id int64) {
	l.gone[id] = l.apps[id]
	delete(l.apps, id)
	for k, d := range l.domains {
		if d.app == id {
			delete(l.domains, k)
		}
	}
	for k, s := range l.scripts {
		if s.app == id {
			delete(l.scripts, k)
		}
	}
	for k, r := range l.routes {
		if r.app == id {
			delete(l.routes, k)
		}
	}
	for k, app := range l.deleted {
		if app == id {
			delete(l.deleted, k)
		}
	}
}

// execOne runs an acknowledged script through /execute and its route, and
// the seeded hello world, checking the answers it gets.
func execOne(ctx context.Context, node *Node, led *ledger, data *http.Client, r *rand.Rand, fail func(string, ...any)) {
	var sc ackScript
	var id int64
	led.do(func() {
		n := len(led.scripts)
		if n == 0 {
			return
		}
		k := r.IntN(n)
		for sid, s := range led.scripts {
			if k == 0 {
				id, sc = sid, s
				break
			}
			k--
		}
	})
	status, body, err := Get(ctx, data, "http://"+node.Addr+"/", "localhost")
	if err == nil && (status != 200 || string(body) != HelloBody) {
		fail("hello world during the storm: %d %q", status, body)
	}
	if id == 0 {
		return
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, node.Admin.URL+"/api/v1/execute/"+strconv.FormatInt(id, 10), nil)
	req.Header.Set("Authorization", "Bearer "+node.Admin.Token)
	resp, err := node.Admin.HTTP.Do(req)
	if err != nil {
		return
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil && (resp.StatusCode != 200 || !strings.HasPrefix(string(b), sc.slug+" v")) {
		var live bool
		led.do(func() {
			s, ok := led.scripts[id]
			live = ok && !led.deletingApp[s.app]
		})
		if live || resp.StatusCode != http.StatusNotFound { // 404 for a script whose app is (being) deleted is right
			fail("execute script %d of %s: %d %q", id, sc.slug, resp.StatusCode, b)
		}
	}
}

// verify checks through the admin API and the data plane that every
// acknowledged write is there and every acknowledged delete is not.
func verify(t *testing.T, ctx context.Context, node *Node, led *ledger) {
	t.Helper()
	led.mu.Lock()
	defer led.mu.Unlock()
	a := node.Admin

	var apps struct{ Apps []shared.App }
	if err := a.Do(ctx, http.MethodGet, "/api/v1/admin/apps", nil, &apps); err != nil {
		t.Fatalf("list apps: %v", err)
	}
	have := map[int64]string{}
	for _, app := range apps.Apps {
		have[app.ID] = app.Slug
	}
	for id, slug := range led.apps {
		if led.deletingApp[id] {
			continue
		}
		if have[id] != slug {
			t.Errorf("acknowledged app %d %q: after restart %q", id, slug, have[id])
		}
	}
	for id, slug := range led.gone {
		if _, ok := have[id]; ok {
			t.Errorf("app %d %q was deleted (204) but is back after restart", id, slug)
		}
	}

	var scripts struct{ Scripts []shared.Script }
	if err := a.Do(ctx, http.MethodGet, "/api/v1/admin/scripts", nil, &scripts); err != nil {
		t.Fatalf("list scripts: %v", err)
	}
	haveSc := map[int64]shared.Script{}
	for _, s := range scripts.Scripts {
		haveSc[s.ID] = s
	}
	for _, s := range haveSc {
		if slug, ok := led.gone[s.AppID]; ok {
			t.Errorf("script %d of deleted app %q is back after restart", s.ID, slug)
		}
	}
	for id, want := range led.scripts {
		if led.deletingApp[want.app] {
			continue
		}
		got, ok := haveSc[id]
		switch {
		case !ok:
			t.Errorf("acknowledged script %d of %s is gone", id, want.slug)
		case got.Version < want.version:
			t.Errorf("script %d of %s: version %d after restart, %d was acknowledged", id, want.slug, got.Version, want.version)
		case got.Version == want.version && got.Source != want.source:
			t.Errorf("script %d of %s version %d: source %q after restart, acknowledged %q", id, want.slug, got.Version, got.Source, want.source)
		}
	}

	// Domains and routes, app by app.
	appsWith := map[int64]bool{}
	for _, d := range led.domains {
		appsWith[d.app] = true
	}
	for _, r := range led.routes {
		appsWith[r.app] = true
	}
	for _, app := range led.deleted {
		appsWith[app] = true
	}
	for app := range appsWith {
		if led.deletingApp[app] {
			continue
		}
		base := "/api/v1/admin/apps/" + strconv.FormatInt(app, 10)
		var doms struct{ Domains []shared.Domain }
		if err := a.Do(ctx, http.MethodGet, base+"/domains", nil, &doms); err != nil {
			t.Errorf("domains of app %d: %v", app, err)
			continue
		}
		haveDom := map[int64]string{}
		for _, d := range doms.Domains {
			haveDom[d.ID] = d.Pattern
		}
		var routes struct{ Routes []shared.Route }
		if err := a.Do(ctx, http.MethodGet, base+"/routes", nil, &routes); err != nil {
			t.Errorf("routes of app %d: %v", app, err)
			continue
		}
		haveRt := map[int64]shared.Route{}
		for _, r := range routes.Routes {
			haveRt[r.ID] = r
		}
		for id, d := range led.domains {
			if d.app == app && haveDom[id] != d.pattern {
				t.Errorf("acknowledged domain %d %q of app %d: after restart %q", id, d.pattern, app, haveDom[id])
			}
		}
		for id, r := range led.routes {
			if r.app == app && !led.deletingRoute[id] && haveRt[id].ScriptID != r.script {
				t.Errorf("acknowledged route %d of app %d is gone (have %+v)", id, app, routes.Routes)
			}
		}
		for id, ra := range led.deleted {
			if ra == app {
				if _, ok := haveRt[id]; ok {
					t.Errorf("route %d of app %d was deleted (204) but is back after restart", id, app)
				}
			}
		}
	}

	// The data plane serves the hello world and the acknowledged versions.
	data := &http.Client{Timeout: 10 * time.Second}
	status, body, err := Get(ctx, data, "http://"+node.Addr+"/", "localhost")
	if err != nil || status != 200 || string(body) != HelloBody {
		t.Errorf("hello world after restart: %d %q %v", status, body, err)
	}
	for _, slug := range led.gone {
		status, body, err := Get(ctx, data, "http://"+node.Addr+"/", slug+".crash.test")
		if err != nil || status != http.StatusNotFound {
			t.Errorf("GET %s.crash.test of a deleted app after restart: %d %q %v, want 404", slug, status, body, err)
		}
	}
	for id, r := range led.routes {
		if led.deletingRoute[id] || led.deletingApp[r.app] {
			continue
		}
		sc := led.scripts[r.script]
		got := haveSc[r.script]
		if got.Version != sc.version {
			continue // a later, unacknowledged update may have landed
		}
		status, body, err := Get(ctx, data, "http://"+node.Addr+"/", sc.slug+".crash.test")
		v := 1
		if strings.Contains(sc.source, crashBody(sc.slug, 2)) {
			v = 2
		}
		if err != nil || status != 200 || string(body) != crashBody(sc.slug, v) {
			t.Errorf("GET %s.crash.test after restart: %d %q %v, want %q", sc.slug, status, body, err, crashBody(sc.slug, v))
		}
	}
}
