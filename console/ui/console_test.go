package ui

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/console/registry"
	"github.com/picloud/picloud/node/nodetest"
	"github.com/picloud/picloud/node/server"
	"github.com/picloud/picloud/shared"
	"github.com/picloud/picloud/shared/discovery"
)

// harness is a console in a test window, with a real in-process node added
// by address (the way a user adds one) but not yet paired.
type harness struct {
	t    *testing.T
	ui   *uiQueue
	c    *Console
	win  fyne.Window
	node *nodetest.Node
	reg  *registry.Registry
	id   string
	// closed is set when the window closes.
	closed bool
}

func start(t *testing.T, opts ...func(*server.Config)) *harness {
	t.Helper()
	a := test.NewApp()
	t.Cleanup(func() { a.Quit() })
	node := nodetest.Start(t, opts...)
	reg, err := registry.Open(filepath.Join(t.TempDir(), "picloud", "nodes.json"))
	if err != nil {
		t.Fatal(err)
	}
	win := test.NewWindow(nil)
	win.Resize(fyne.NewSize(1280, 900))
	b := discovery.NewBrowser(discovery.Config{ManualOnly: true})
	q := &uiQueue{signal: make(chan struct{}, 1)}
	c := New(a, win, Options{Registry: reg, Browser: b, Probe: -1, Post: q.post})
	t.Cleanup(c.Close)
	h := &harness{t: t, ui: q, c: c, win: win, node: node, reg: reg}
	win.SetOnClosed(func() { h.closed = true })
	c.AddAddress(node.AdminURL)
	h.wait()
	for _, e := range c.nodes.list.Sorted() {
		if e.ID != "" {
			h.id = e.ID
		}
	}
	if h.id != node.NodeID() {
		t.Fatalf("added node has id %q, want %q (status %q)", h.id, node.NodeID(), c.Status())
	}
	return h
}

// paired starts a harness and pairs with the right token.
func paired(t *testing.T, opts ...func(*server.Config)) *harness {
	h := start(t, opts...)
	h.c.Pair(h.id, h.node.Token)
	h.wait()
	if h.c.cur == nil || h.c.cur.apps == nil {
		t.Fatalf("pairing did not open the node: %q", h.c.Status())
	}
	return h
}

// uiQueue stands in for the UI goroutine's event loop: results of network
// calls are queued, and the test goroutine runs them in wait, so widgets are
// only ever touched by one goroutine.
type uiQueue struct {
	mu     sync.Mutex
	fns    []func()
	signal chan struct{}
}

func (q *uiQueue) post(f func()) {
	q.mu.Lock()
	q.fns = append(q.fns, f)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (q *uiQueue) pop() func() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.fns) == 0 {
		return nil
	}
	f := q.fns[0]
	q.fns = q.fns[1:]
	return f
}

// wait runs queued UI work until no network call is in flight.
func (h *harness) wait() {
	h.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		for f := h.ui.pop(); f != nil; f = h.ui.pop() {
			f()
		}
		h.c.tasks.mu.Lock()
		busy := h.c.tasks.inFlight > 0
		h.c.tasks.mu.Unlock()
		if !busy {
			return
		}
		select {
		case <-h.ui.signal:
		case <-time.After(10 * time.Millisecond):
		case <-deadline:
			h.t.Fatalf("calls still running after 20s; status %q", h.c.Status())
		}
	}
}

func (h *harness) ctx() context.Context { return context.Background() }

// createApp creates an app directly through the node's client (setup, not
// the behaviour under test).
func (h *harness) createApp(name, slug string) shared.App {
	h.t.Helper()
	a, err := h.node.Client.CreateApp(h.ctx(), shared.CreateAppRequest{Name: name, Slug: slug})
	if err != nil {
		h.t.Fatal(err)
	}
	return a
}

func (h *harness) createScript(app, name, source string) shared.Script {
	h.t.Helper()
	s, err := h.node.Client.CreateScript(h.ctx(), shared.CreateScriptRequest{AppID: shared.AppRef(app), Name: name, Source: source})
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// openApp opens an app in the console and returns its view.
func (h *harness) openApp(ref string) *appView {
	h.t.Helper()
	h.c.OpenApp(ref)
	h.wait()
	v := h.c.cur.app
	if v == nil {
		h.t.Fatalf("app %s did not open: %q", ref, h.c.Status())
	}
	return v
}

// openScript opens a script of an open app in the Scripts tab.
func (h *harness) openScript(v *appView, id int64) *scriptDetail {
	h.t.Helper()
	v.Select("Scripts")
	h.wait()
	v.scripts.open(id)
	h.wait()
	if v.scripts.detail == nil {
		h.t.Fatalf("script %d did not open: %q", id, h.c.Status())
	}
	return v.scripts.detail
}

// button finds a button by its text anywhere on the window, dialogs included.
func (h *harness) button(text string) *widget.Button {
	h.t.Helper()
	objs := test.LaidOutObjects(h.win.Canvas().Content())
	for _, o := range h.win.Canvas().Overlays().List() {
		objs = append(objs, test.LaidOutObjects(o)...)
	}
	for _, o := range objs {
		if b, ok := o.(*widget.Button); ok && b.Text == text {
			return b
		}
	}
	h.t.Fatalf("no button %q on screen", text)
	return nil
}

func typeInto(e *widget.Entry, s string) {
	e.SetText("")
	test.Type(e, s)
}

func TestPairingWithWrongTokenIsRefused(t *testing.T) {
	h := start(t)
	h.c.Pair(h.id, "not-the-token")
	h.wait()
	if st := h.c.Status(); !strings.Contains(st, "refused") || !strings.Contains(st, "admin token") {
		t.Errorf("status after a wrong token = %q, want it to say the token was refused", st)
	}
	if n := h.reg.Nodes(); len(n) != 0 {
		t.Errorf("registry after a wrong token = %+v, want empty", n)
	}
	if h.c.cur != nil {
		t.Error("a node paired with a wrong token was opened")
	}

	// The right token pairs, is remembered, and opens the node's apps.
	h.c.Pair(h.id, h.node.Token)
	h.wait()
	got, ok := h.reg.Get(h.id)
	if !ok || got.Token != h.node.Token || got.Scheme != "http" || !strings.HasPrefix(h.node.AdminURL, "http://"+got.Address) {
		t.Fatalf("registry after pairing = %+v", got)
	}
	if rows := h.c.cur.apps.Rows(); len(rows) != 1 || !strings.Contains(rows[0], "default") {
		t.Errorf("apps after pairing = %q, want the default app", rows)
	}
	if bc := h.c.Breadcrumb(); len(bc) != 1 || bc[0] != "test-node" {
		t.Errorf("breadcrumb = %q, want [test-node]", bc)
	}
}

func TestCreateAppWithLiveSlugCheck(t *testing.T) {
	h := paired(t)
	h.createApp("Old", "legacy")
	if _, err := h.node.Client.UpdateApp(h.ctx(), "legacy", shared.UpdateAppRequest{Slug: ptr("legacy-2")}); err != nil {
		t.Fatal(err)
	}
	v := h.c.cur.apps

	typeInto(v.name, "My Blog")
	h.wait()
	if st := v.slugStatus.Text; !strings.Contains(st, "my-blog") || !strings.Contains(st, "available") {
		t.Errorf("status for a name without slug = %q, want my-blog available", st)
	}
	for _, tc := range []struct{ slug, want string }{
		{"legacy-2", "taken"},
		{"legacy", "reserved"},
		{"Bad Slug", "invalid"},
		{"api", "invalid"},
		{"blog", "available"},
	} {
		typeInto(v.slug, tc.slug)
		h.wait()
		if st := v.slugStatus.Text; !strings.Contains(st, tc.want) {
			t.Errorf("status for slug %q = %q, want %q", tc.slug, st, tc.want)
		}
	}
	test.Tap(v.create)
	h.wait()
	rows := h.c.cur.apps.Rows()
	found := false
	for _, r := range rows {
		found = found || r == "My Blog blog 0 0"
	}
	if !found {
		t.Errorf("apps after create = %q, want a row for My Blog", rows)
	}
	if _, err := h.node.Client.App(h.ctx(), "blog"); err != nil {
		t.Errorf("the node has no app blog: %v", err)
	}
	if h.c.cur.app == nil || h.c.cur.app.app.Slug != "blog" {
		t.Errorf("creating the app did not open it")
	}
}

func TestRenameWithTakeoverThroughConfirmDialog(t *testing.T) {
	h := paired(t)
	h.createApp("Alpha", "alpha")
	if _, err := h.node.Client.UpdateApp(h.ctx(), "alpha", shared.UpdateAppRequest{Slug: ptr("alpha-new")}); err != nil {
		t.Fatal(err)
	}
	beta := h.createApp("Beta", "beta")
	v := h.openApp("beta")
	v.Select("Settings")
	h.wait()
	s := v.settings

	typeInto(s.slug, "alpha-new")
	h.wait()
	if !strings.Contains(s.slugStatus.Text, "taken") || !s.rename.Disabled() {
		t.Errorf("taken slug: status %q, rename enabled %v", s.slugStatus.Text, !s.rename.Disabled())
	}
	typeInto(s.slug, "alpha")
	h.wait()
	if st := s.slugStatus.Text; !strings.Contains(st, "reserved") || !strings.Contains(st, "alpha-new") {
		t.Errorf("reserved slug status = %q, want reserved naming the app alpha-new", st)
	}
	test.Tap(s.rename)
	if s.confirm == nil {
		t.Fatal("renaming to a reserved slug did not ask for confirmation")
	}
	test.Tap(h.button("Take over"))
	h.wait()

	got, err := h.node.Client.App(h.ctx(), "alpha")
	if err != nil || got.ID != beta.ID {
		t.Fatalf("alpha now = %+v, %v; want app beta", got, err)
	}
	if v.app.Slug != "alpha" || !strings.Contains(strings.Join(h.c.Breadcrumb(), " "), "(alpha)") {
		t.Errorf("console shows slug %q, breadcrumb %q after takeover", v.app.Slug, h.c.Breadcrumb())
	}
	if !strings.Contains(s.slugStatus.Text, "Renamed") {
		t.Errorf("status after rename = %q", s.slugStatus.Text)
	}

	// An available slug renames without a dialog.
	typeInto(s.slug, "gamma")
	h.wait()
	test.Tap(s.rename)
	h.wait()
	if s.confirm != nil || v.app.Slug != "gamma" {
		t.Errorf("available slug: confirm %v, slug %q", s.confirm != nil, v.app.Slug)
	}
}

func TestOpenAppByOldSlugFollowsRedirect(t *testing.T) {
	h := paired(t)
	h.createApp("Shop", "shop")
	if _, err := h.node.Client.UpdateApp(h.ctx(), "shop", shared.UpdateAppRequest{Slug: ptr("store")}); err != nil {
		t.Fatal(err)
	}
	v := h.openApp("shop")
	if v.app.Slug != "store" || v.overview.slug.Text != "store" {
		t.Errorf("opened by old slug shows %q / %q, want store", v.app.Slug, v.overview.slug.Text)
	}
	if bc := h.c.Breadcrumb(); len(bc) != 2 || bc[1] != "Shop (store)" {
		t.Errorf("breadcrumb = %q", bc)
	}
}

func TestDomainCollisionNamesTheHolder(t *testing.T) {
	h := paired(t)
	h.createApp("Holder", "holder")
	if _, err := h.node.Client.AddDomain(h.ctx(), "holder", "api.example.com"); err != nil {
		t.Fatal(err)
	}
	h.createApp("Other", "other")
	v := h.openApp("other")
	v.Select("Domains")
	h.wait()
	d := v.domains

	typeInto(d.pattern, "API.example.com.")
	test.Tap(d.add)
	h.wait()
	if m := d.msg.Text; !strings.Contains(m, "already claimed") || !strings.Contains(m, "holder") {
		t.Errorf("collision message = %q, want it to name app holder", m)
	}
	typeInto(d.pattern, "*.example.com")
	test.Tap(d.add)
	h.wait()
	if len(d.domains) != 1 || d.domains[0].Pattern != "*.example.com" {
		t.Errorf("domains after adding a free wildcard = %+v", d.domains)
	}
}

func TestSandboxValueAboveCeilingShownOnItsField(t *testing.T) {
	h := paired(t)
	h.createApp("Limits", "limits")
	sc := h.createScript("limits", "loop", "function handle(req) { return 'ok' }")
	v := h.openApp("limits")
	d := h.openScript(v, sc.ID)

	if hint := d.knobs[shared.KnobTimeoutMS].hint.Text; hint != "timeout_ms · default 5,000 · ceiling 30,000" {
		t.Errorf("timeout_ms hint = %q", hint)
	}
	typeInto(d.knobs[shared.KnobMaxOperations].entry, "20000000")
	typeInto(d.knobs[shared.KnobMaxCallLevels].entry, "64")
	d.saveLimits()
	h.wait()
	f := d.knobs[shared.KnobMaxOperations]
	if !f.err.Visible() || !strings.Contains(f.err.Text, "20,000,000") || !strings.Contains(f.err.Text, "10,000,000") {
		t.Errorf("max_operations error = %q (visible %v), want requested and ceiling", f.err.Text, f.err.Visible())
	}
	for _, k := range shared.Knobs {
		if k != shared.KnobMaxOperations && d.knobs[k].err.Visible() {
			t.Errorf("knob %s shows an error too: %q", k, d.knobs[k].err.Text)
		}
	}
	if got, _ := h.node.Client.Script(h.ctx(), sc.ID); len(got.Sandbox) != 0 {
		t.Errorf("refused limits were stored: %v", got.Sandbox)
	}

	typeInto(f.entry, "500")
	d.saveLimits()
	h.wait()
	if f.err.Visible() {
		t.Errorf("error still shown after a valid value: %q", f.err.Text)
	}
	got, _ := h.node.Client.Script(h.ctx(), sc.ID)
	if got.Sandbox[shared.KnobMaxOperations] != 500 || got.Sandbox[shared.KnobMaxCallLevels] != 64 {
		t.Errorf("stored overrides = %v", got.Sandbox)
	}
}

func TestSaveShowsSyntaxErrorLine(t *testing.T) {
	h := paired(t)
	h.createApp("Syn", "syn")
	sc := h.createScript("syn", "broken", "function handle(req) { return 'ok' }")
	v := h.openApp("syn")
	d := h.openScript(v, sc.ID)

	if bc := strings.Join(h.c.Breadcrumb(), " › "); bc != "test-node › Syn (syn) › broken" {
		t.Errorf("breadcrumb in a script = %q", bc)
	}
	d.editor.SetText("function handle(req) {\n  var x = 1;\n  return x +;\n}\n")
	test.Tap(h.button("Save"))
	h.wait()
	if m := d.saveMsg.Text; !strings.Contains(m, "line 3") {
		t.Errorf("save message = %q, want the error at line 3", m)
	}
	if d.editor.CursorRow != 2 {
		t.Errorf("cursor row = %d, want 2 (line 3)", d.editor.CursorRow)
	}
	if got, _ := h.node.Client.Script(h.ctx(), sc.ID); got.Version != 1 {
		t.Errorf("a source with a syntax error was stored (version %d)", got.Version)
	}
	v.Select("Domains")
	h.wait()
	test.Tap(h.dialogButton("Discard")) // the broken edit is unsaved: leaving asks
	h.wait()
	if bc := strings.Join(h.c.Breadcrumb(), " › "); bc != "test-node › Syn (syn)" {
		t.Errorf("breadcrumb on another tab = %q", bc)
	}
	v.Select("Scripts")
	h.wait()
	if bc := strings.Join(h.c.Breadcrumb(), " › "); bc != "test-node › Syn (syn) › broken" {
		t.Errorf("breadcrumb back on the script = %q", bc)
	}
}

func TestRunShowsStatusBodyAndOutput(t *testing.T) {
	h := paired(t)
	h.createApp("Runner", "runner")
	sc := h.createScript("runner", "hello", `function handle(req) {
  console.log("handled", req.query.name);
  return { status: 201, body: "hi " + req.query.name };
}`)
	v := h.openApp("runner")
	d := h.openScript(v, sc.ID)
	typeInto(d.run.query, "name=pi")
	test.Tap(h.button("Run"))
	h.wait()
	if !strings.HasPrefix(d.run.status.Text, "201") {
		t.Errorf("run status = %q, want 201", d.run.status.Text)
	}
	if d.run.resp.Text != "hi pi" {
		t.Errorf("run body = %q", d.run.resp.Text)
	}
	if !strings.Contains(d.run.output.Text, "handled pi") {
		t.Errorf("run output = %q, want the console.log line", d.run.output.Text)
	}

	// A script that throws still shows what the data plane would answer.
	bad := h.createScript("runner", "bad", `function handle(req) { console.log("before"); throw new Error("kaput") }`)
	d.t.showList()
	h.wait()
	d = h.openScript(v, bad.ID)
	test.Tap(h.button("Run"))
	h.wait()
	if !strings.HasPrefix(d.run.status.Text, "500") || !strings.Contains(d.run.output.Text, "before") || !strings.Contains(d.run.output.Text, "kaput") {
		t.Errorf("failed run: status %q, output %q", d.run.status.Text, d.run.output.Text)
	}
}

func TestLogsListFilledAfterExecutions(t *testing.T) {
	h := paired(t)
	h.createApp("Logged", "logged")
	a := h.createScript("logged", "a", `function handle(req) { console.log("from a"); return "a" }`)
	b := h.createScript("logged", "b", `function handle(req) { throw new Error("boom") }`)
	for _, id := range []int64{a.ID, a.ID, b.ID} {
		_, _ = h.node.Client.Execute(h.ctx(), id, shared.ExecuteRequest{})
	}
	v := h.openApp("logged")
	v.Select("Logs")
	l := v.logs
	var rows []string
	for range 50 { // the node writes logs in batches
		l.reload()
		h.wait()
		if rows = l.Rows(); len(rows) == 3 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(rows) != 3 {
		t.Fatalf("log rows = %q, want 3", rows)
	}
	if !strings.Contains(rows[0], "[b]") || !strings.HasPrefix(rows[0], "!") {
		t.Errorf("newest row = %q, want the failed run of b first", rows[0])
	}
	l.FilterScript("a")
	h.wait()
	if rows = l.Rows(); len(rows) != 2 || !strings.Contains(rows[0], "[a]") {
		t.Errorf("rows filtered to a = %q", rows)
	}
	l.show(l.logs[0])
	if !strings.Contains(l.output.Text, "from a") {
		t.Errorf("detail output = %q", l.output.Text)
	}
	// The overview counts the same executions.
	v.Select("Overview")
	h.wait()
	total := 0
	for _, bk := range v.overview.chart.buckets {
		total += bk.Total
	}
	if total != 3 {
		t.Errorf("chart counts %d executions, want 3", total)
	}
}

func TestNodeGoingOfflineGivesAMessage(t *testing.T) {
	h := paired(t)
	v := h.openApp("default")
	h.node.Stop(t)
	v.Select("Domains")
	h.wait()
	if st := h.c.Status(); !strings.Contains(st, "offline") {
		t.Errorf("status with the node gone = %q, want it to say the node is offline", st)
	}
	if h.c.activity.Visible() {
		t.Error("activity indicator still spinning after the call failed")
	}
	if e, _ := h.c.nodes.list.Get(h.id); e.Online {
		t.Error("sidebar still shows the stopped node online")
	}
}

func TestCreateAppTakingOverReservedSlugAsks(t *testing.T) {
	h := paired(t)
	old := h.createApp("Old", "legacy")
	if _, err := h.node.Client.UpdateApp(h.ctx(), "legacy", shared.UpdateAppRequest{Slug: ptr("legacy-2")}); err != nil {
		t.Fatal(err)
	}
	v := h.c.cur.apps
	typeInto(v.name, "New")
	typeInto(v.slug, "legacy")
	h.wait()
	test.Tap(v.create)
	h.wait()
	if v.confirm == nil {
		t.Fatalf("creating with a reserved slug did not ask; status %q", v.slugStatus.Text)
	}
	if got, _ := h.node.Client.App(h.ctx(), "legacy"); got.ID != old.ID {
		t.Fatalf("slug taken over before the user confirmed")
	}
	test.Tap(h.button("Take over"))
	h.wait()
	got, err := h.node.Client.App(h.ctx(), "legacy")
	if err != nil || got.Name != "New" {
		t.Errorf("legacy after takeover = %+v, %v; want the new app", got, err)
	}
}

func TestDeleteAppNeedsTypedSlugAndDefaultStays(t *testing.T) {
	h := paired(t)
	v := h.openApp("default")
	v.Select("Settings")
	h.wait()
	if !v.settings.deleteEntry.Disabled() || !v.settings.del.Disabled() || !v.settings.slug.Disabled() {
		t.Error("the default app can be renamed or deleted in the console")
	}
	if !strings.Contains(v.settings.delNote.Text, "neither renamed nor deleted") {
		t.Errorf("default app note = %q", v.settings.delNote.Text)
	}

	h.createApp("Doomed", "doomed")
	v = h.openApp("doomed")
	v.Select("Settings")
	h.wait()
	s := v.settings
	typeInto(s.deleteEntry, "doome")
	if !s.del.Disabled() {
		t.Error("delete enabled before the slug was typed in full")
	}
	test.Type(s.deleteEntry, "d")
	if s.del.Disabled() {
		t.Fatal("delete still disabled after typing the slug")
	}
	test.Tap(s.del)
	h.wait()
	if _, err := h.node.Client.App(h.ctx(), "doomed"); !shared.IsCode(err, shared.CodeNotFound) {
		t.Errorf("app after delete: %v, want not_found", err)
	}
	if h.c.cur.app != nil {
		t.Error("console still shows the deleted app")
	}
	for _, r := range h.c.cur.apps.Rows() {
		if strings.Contains(r, "doomed") {
			t.Errorf("apps list still has %q", r)
		}
	}
}

func TestPairOverTLSPinsTheNodeID(t *testing.T) {
	h := paired(t, func(c *server.Config) { c.AdminTLS = true })
	n, _ := h.reg.Get(h.id)
	if n.Scheme != "https" || n.ID != h.node.NodeID() {
		t.Errorf("registry = %+v, want https pinned to %s", n, h.node.NodeID())
	}
	if rows := h.c.cur.apps.Rows(); len(rows) != 1 {
		t.Errorf("apps over TLS = %q", rows)
	}
}

func TestIdentityMismatchIsWarnedAndNodeNotUsed(t *testing.T) {
	h := paired(t)
	addr := strings.TrimPrefix(h.node.AdminURL, "http://")
	h.node.Stop(t)
	// Another node (new key, new id) now answers on the paired address.
	other := nodetest.Start(t, func(c *server.Config) { c.AdminBind = addr })
	if other.NodeID() == h.id {
		t.Fatal("second node has the same id")
	}
	h.c.nodes.probeAll()
	h.wait()
	e, _ := h.c.nodes.list.Get(h.id)
	if !strings.Contains(e.Mismatch, "Identity mismatch") || !strings.Contains(e.Mismatch, other.NodeID()) {
		t.Fatalf("mismatch warning = %q", e.Mismatch)
	}
	h.c.OpenNode(h.id)
	h.wait()
	if h.c.cur != nil {
		t.Error("a node with the wrong identity was opened")
	}
	if !strings.Contains(h.c.Status(), "Identity mismatch") {
		t.Errorf("status = %q", h.c.Status())
	}
}

func TestLogsAutoRefresh(t *testing.T) {
	h := paired(t)
	h.createApp("Auto", "auto")
	sc := h.createScript("auto", "tick", `function handle(req) { return "tick" }`)
	v := h.openApp("auto")
	v.Select("Logs")
	h.wait()
	l := v.logs
	if len(l.Rows()) != 0 {
		t.Fatalf("rows before any execution: %q", l.Rows())
	}
	l.interval = 20 * time.Millisecond
	test.Tap(l.auto)
	if _, err := h.node.Client.Execute(h.ctx(), sc.ID, shared.ExecuteRequest{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(l.Rows()) == 0 && time.Now().Before(deadline) {
		h.pump(50 * time.Millisecond) // no Refresh tapped: the tab refreshes itself
	}
	if len(l.Rows()) != 1 {
		t.Fatalf("auto-refresh did not show the execution: %q", l.Rows())
	}
	test.Tap(l.auto) // off
	h.wait()
}

// pump runs queued UI work for d, as the UI goroutine would.
func (h *harness) pump(d time.Duration) {
	end := time.After(d)
	for {
		for f := h.ui.pop(); f != nil; f = h.ui.pop() {
			f()
		}
		select {
		case <-h.ui.signal:
		case <-end:
			h.wait()
			return
		}
	}
}

func TestRoutesAndPreviewAndDomainInUse(t *testing.T) {
	h := paired(t)
	h.createApp("Site", "site")
	for _, p := range []string{"site.example.com", "*.example.org"} {
		if _, err := h.node.Client.AddDomain(h.ctx(), "site", p); err != nil {
			t.Fatal(err)
		}
	}
	sc := h.createScript("site", "api", `function handle(req) { return "x" }`)
	v := h.openApp("site")
	d := h.openScript(v, sc.ID)
	d.inner.SelectIndex(2)

	d.method.SetText("GET")
	typeInto(d.path, "/users/:id")
	test.Tap(h.button("Add route"))
	h.wait()
	// The node was added by address (no mDNS TXT): the data port comes from
	// its /version.
	port := strconv.Itoa(h.node.DataAddr().(*net.TCPAddr).Port)
	want := []string{"GET http://site.example.com:" + port + "/users/:id", "GET http://*.example.org:" + port + "/users/:id"}
	if got := d.PreviewURLs(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("preview = %q, want %q", got, want)
	}

	d.method.SetText("POST")
	typeInto(d.path, "/hook")
	typeInto(d.host, "other.example.com")
	test.Tap(h.button("Add route"))
	h.wait()
	if !strings.Contains(d.routeMsg.Text, "Domains tab") {
		t.Errorf("unclaimed host message = %q", d.routeMsg.Text)
	}
	typeInto(d.host, "hooks.example.org")
	test.Tap(h.button("Add route"))
	h.wait()
	if got := d.PreviewURLs(); len(got) != 3 || got[2] != "POST http://hooks.example.org:"+port+"/hook" {
		t.Errorf("preview with a host route = %q", got)
	}

	// The wildcard is the only claim covering the host route: removing it is refused.
	v.Select("Domains")
	h.wait()
	var wild shared.Domain
	for _, dm := range v.domains.domains {
		if dm.Pattern == "*.example.org" {
			wild = dm
		}
	}
	v.domains.remove(wild)
	h.wait()
	if m := v.domains.msg.Text; !strings.Contains(m, "cannot be removed") || !strings.Contains(m, "route") {
		t.Errorf("domain_in_use message = %q", m)
	}

	// Removing the route from the script's list.
	v.Select("Scripts")
	h.wait()
	routes, _ := h.node.Client.Routes(h.ctx(), "site")
	for _, r := range routes {
		if r.Method == "POST" {
			d.removeRoute(r)
		}
	}
	h.wait()
	if got := d.PreviewURLs(); len(got) != 2 {
		t.Errorf("preview after removing the host route = %q", got)
	}
}

func TestAddingAnUnreachableAddressSaysSo(t *testing.T) {
	h := start(t)
	// A port nothing listens on: take one and close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	h.c.AddAddress(addr)
	h.wait()
	if st := h.c.Status(); !strings.Contains(st, "offline") {
		t.Errorf("status = %q, want it to say the node is offline", st)
	}
	e, _ := h.c.nodes.list.Get("addr:" + addr)
	if e == nil || e.Online || e.Err == nil {
		t.Fatalf("sidebar entry for %s = %+v", addr, e)
	}
	test.Tap(h.button("Remove"))
	h.wait()
	if _, ok := h.c.nodes.list.Get("addr:" + addr); ok {
		t.Error("removed address still in the sidebar")
	}
	if _, ok := h.c.nodes.list.Get(h.id); !ok {
		t.Error("removing one address dropped the other node")
	}
}

func ptr[T any](v T) *T { return &v }
