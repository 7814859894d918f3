package ui

import (
	"bytes"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/console/registry"
	"github.com/picloud/picloud/node/nodetest"
	"github.com/picloud/picloud/shared"
)

// pumpUntil runs UI work until cond holds or 10 s pass.
func (h *harness) pumpUntil(cond func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for !cond() && time.Now().Before(deadline) {
		h.pump(20 * time.Millisecond)
	}
	return cond()
}

func TestLogsLiveMode(t *testing.T) {
	h := paired(t)
	h.createApp("Live", "live")
	sc := h.createScript("live", "api", `function handle(req) { if (req.path === "/bad") throw new Error("bad"); return "ok" }`)
	v := h.openApp("live")
	v.Select("Logs")
	h.wait()
	l := v.logs
	run := func(path string) {
		_, err := h.node.Client.Execute(h.ctx(), sc.ID, shared.ExecuteRequest{Path: path})
		if err != nil && path != "/bad" {
			t.Error(err)
		}
	}
	test.Tap(l.live.on)
	if !h.pumpUntil(func() bool {
		return l.live.state.Text == "following" || strings.HasPrefix(l.live.state.Text, "following")
	}) {
		t.Fatalf("live state %q", l.live.state.Text)
	}
	run("/a")
	if !h.pumpUntil(func() bool { return len(l.Rows()) == 1 }) {
		t.Fatalf("live mode did not show the run: %q", l.Rows())
	}

	t.Run("pause holds entries and resume shows them", func(t *testing.T) {
		test.Tap(l.live.pause)
		run("/b")
		if !h.pumpUntil(func() bool { return strings.Contains(l.live.state.Text, "1 waiting") }) {
			t.Fatalf("state while paused: %q", l.live.state.Text)
		}
		if len(l.Rows()) != 1 {
			t.Errorf("a paused list changed: %q", l.Rows())
		}
		test.Tap(l.live.pause)
		if len(l.Rows()) != 2 || !strings.Contains(l.Rows()[0], "/b") {
			t.Errorf("after resume: %q", l.Rows())
		}
	})
	t.Run("status filter", func(t *testing.T) {
		l.live.status.SetSelected("Failed")
		h.pumpUntil(func() bool { return strings.HasPrefix(l.live.state.Text, "following") })
		run("/c")
		run("/bad")
		if !h.pumpUntil(func() bool { return len(l.Rows()) == 1 }) || !strings.Contains(l.Rows()[0], "/bad") {
			t.Errorf("failed-only live list: %q", l.Rows())
		}
	})
	t.Run("dropped entries are counted", func(t *testing.T) {
		l.live.apply(shared.TailEvent{Dropped: 7})
		if !strings.Contains(l.live.state.Text, "7 dropped") {
			t.Errorf("state %q", l.live.state.Text)
		}
	})
	test.Tap(l.live.on) // off
	h.wait()
}

func TestScriptHistoryDiffAndRollback(t *testing.T) {
	h := paired(t)
	h.createApp("Hist", "hist")
	sc := h.createScript("hist", "api", "function handle() {\n  return \"one\";\n}")
	two := "function handle() {\n  return \"two\";\n}"
	if _, err := h.node.Client.UpdateScript(h.ctx(), sc.ID, shared.UpdateScriptRequest{Source: &two}); err != nil {
		t.Fatal(err)
	}
	v := h.openApp("hist")
	d := h.openScript(v, sc.ID)
	d.inner.SelectIndex(len(d.inner.Items) - 1) // History
	h.wait()
	hp := d.history
	rows := hp.Versions()
	if len(rows) != 2 || !strings.HasPrefix(rows[0], "v2") || !strings.Contains(rows[0], "(current)") || !strings.HasPrefix(rows[1], "v1") {
		t.Fatalf("versions %q", rows)
	}
	hp.show(hp.versions[1])
	if !strings.Contains(hp.diff.Text, "- \n") && !strings.Contains(hp.diff.Text, `-   return "one";`) ||
		!strings.Contains(hp.diff.Text, `+   return "two";`) || !strings.Contains(hp.diff.Text, "  function handle() {") {
		t.Errorf("diff:\n%s", hp.diff.Text)
	}
	test.Tap(hp.rollback)
	h.wait()
	if d.editor.Text != "function handle() {\n  return \"one\";\n}" || d.script.Version != 3 {
		t.Errorf("after rollback the editor holds %q (v%d)", d.editor.Text, d.script.Version)
	}
	if got, _ := h.node.Client.Script(h.ctx(), sc.ID); got.Version != 3 || !strings.Contains(got.Source, "one") {
		t.Errorf("node holds v%d %q", got.Version, got.Source)
	}
	if rows := hp.Versions(); len(rows) != 3 {
		t.Errorf("versions after rollback %q", rows)
	}

	// Saved elsewhere meanwhile: rolling back from this editor's stale view
	// is refused and says so; the other save stands.
	four := "function handle() {\n  return \"four\";\n}"
	if _, err := h.node.Client.UpdateScript(h.ctx(), sc.ID, shared.UpdateScriptRequest{Source: &four}); err != nil {
		t.Fatal(err)
	}
	hp.show(hp.versions[len(hp.versions)-1])
	test.Tap(hp.rollback)
	h.wait()
	if !strings.Contains(hp.msg.Text, "changed elsewhere (now v4") {
		t.Errorf("message after a stale rollback: %q", hp.msg.Text)
	}
	if got, _ := h.node.Client.Script(h.ctx(), sc.ID); got.Version != 4 || got.Source != four {
		t.Errorf("a stale rollback changed the node's script: v%d %q", got.Version, got.Source)
	}
}

func TestExportToAFileAndImportOntoAnotherNode(t *testing.T) {
	src := paired(t)
	src.createApp("Shop", "shop")
	src.createScript("shop", "api", `function handle(req, env) { return "token " + env.TOKEN }`)
	if _, err := src.node.Client.PutEnv(src.ctx(), "shop", "TOKEN", shared.PutEnvRequest{Value: ptrTo("s3cret"), Secret: ptrTo(true)}); err != nil {
		t.Fatal(err)
	}
	v := src.openApp("shop")
	var file bytes.Buffer
	var exportErr error
	done := false
	writeExport(v.env, "shop", nopCloser{&file}, func(err error) { exportErr, done = err, true })
	src.wait()
	if !done || exportErr != nil || strings.Contains(file.String(), "s3cret") {
		t.Fatalf("export: done %v, %v, secret in file: %v", done, exportErr, strings.Contains(file.String(), "s3cret"))
	}
	doc, err := parseExport(file.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if names := secretNames(doc); len(names) != 1 || names[0] != "TOKEN" {
		t.Fatalf("secrets to ask for: %q", names)
	}

	dst := paired(t)
	var im shared.Imported
	sendImport(dst.c.cur.env, doc, map[string]string{"TOKEN": "s3cret"}, func(got shared.Imported, err error) {
		if err != nil {
			t.Errorf("import: %v", err)
		}
		im = got
	})
	dst.wait()
	if im.Slug != "shop" || len(im.MissingSecrets) != 0 || !strings.Contains(importedText(im), "Imported") {
		t.Fatalf("imported %+v", im)
	}
	scripts, _ := dst.node.Client.Scripts(dst.ctx(), "shop")
	res, err := dst.node.Client.Execute(dst.ctx(), scripts[0].ID, shared.ExecuteRequest{})
	if err != nil || string(res.Body) != "token s3cret" {
		t.Errorf("the imported app answers %q, %v", res.Body, err)
	}
	if _, err := parseExport([]byte(`{"hello": 1}`)); err == nil {
		t.Error("a file that is no export was accepted")
	}
}

type nopCloser struct{ *bytes.Buffer }

func (nopCloser) Close() error { return nil }

func ptrTo[T any](v T) *T { return &v }

func TestCopyToNodeAsksForSecrets(t *testing.T) {
	src := paired(t)
	src.createApp("Shop", "shop")
	src.createScript("shop", "api", `function handle(req, env) { return "token " + env.TOKEN }`)
	if _, err := src.node.Client.PutEnv(src.ctx(), "shop", "TOKEN", shared.PutEnvRequest{Value: ptrTo("s3cret"), Secret: ptrTo(true)}); err != nil {
		t.Fatal(err)
	}
	dst := nodetest.Start(t)
	u, _ := url.Parse(dst.AdminURL)
	target := registry.Node{ID: dst.NodeID(), Name: "pi-two", Token: dst.Token, Address: u.Host, Scheme: "http"}
	if err := src.reg.Put(target); err != nil {
		t.Fatal(err)
	}
	v := src.openApp("shop")
	if others := otherNodes(v); len(others) != 1 || others[0].ID != dst.NodeID() {
		t.Fatalf("nodes to copy to: %+v", others)
	}
	var im shared.Imported
	var copyErr error
	copyToNode(v, target, func(got shared.Imported, err error) { im, copyErr = got, err })
	src.wait()
	// The console asks for the secret the document names without a value.
	var secret *widget.Entry
	for _, o := range src.win.Canvas().Overlays().List() {
		for _, w := range test.LaidOutObjects(o) {
			if e, ok := w.(*widget.Entry); ok && e.Password {
				secret = e
			}
		}
	}
	if secret == nil {
		t.Fatal("no secret prompt")
	}
	test.Type(secret, "s3cret")
	test.Tap(src.button("Import"))
	src.wait()
	if copyErr != nil || im.Slug != "shop" || len(im.MissingSecrets) != 0 {
		t.Fatalf("copy = %+v, %v", im, copyErr)
	}
	scripts, _ := dst.Client.Scripts(src.ctx(), "shop")
	res, err := dst.Client.Execute(src.ctx(), scripts[0].ID, shared.ExecuteRequest{})
	if err != nil || string(res.Body) != "token s3cret" {
		t.Errorf("the copy answers %q, %v", res.Body, err)
	}
}

func TestImportSecretsPromptIsWideEnoughToType(t *testing.T) {
	h := paired(t)
	h.createApp("Shop", "shop")
	v := h.openApp("shop")
	var got map[string]string
	askSecrets(v.env, shared.Export{App: shared.ExportApp{Name: "Shop"}, Env: []shared.ExportEnv{
		{Name: "API_TOKEN", Secret: true}, {Name: "PLAIN", Value: ptrTo("x")}, {Name: "WEBHOOK_SECRET", Secret: true}}},
		func(s map[string]string) { got = s })
	var entries []*widget.Entry
	for _, o := range h.win.Canvas().Overlays().List() {
		for _, w := range test.LaidOutObjects(o) {
			if e, ok := w.(*widget.Entry); ok && e.Password {
				entries = append(entries, e)
			}
		}
	}
	if len(entries) != 2 {
		t.Fatalf("%d secret fields, want 2 (API_TOKEN, WEBHOOK_SECRET)", len(entries))
	}
	for _, e := range entries {
		if w := e.Size().Width; w < 250 {
			t.Errorf("a secret's field is %.0f wide: too narrow to see what is typed", w)
		}
	}
	test.Type(entries[0], "tok")
	test.Tap(h.button("Import"))
	if len(got) != 1 || got["API_TOKEN"] != "tok" {
		t.Errorf("secrets passed on: %v (an empty one is left out)", got)
	}
}

func TestExportSuggestsAFileNamedAfterTheSlug(t *testing.T) {
	h := paired(t)
	h.createApp("Shop", "shop")
	v := h.openApp("shop")
	v.Select("Settings")
	h.wait()
	test.Tap(h.button("Export app…"))
	var names []string
	for _, o := range h.win.Canvas().Overlays().List() {
		for _, w := range test.LaidOutObjects(o) {
			if e, ok := w.(*widget.Entry); ok && e.Text != "" {
				names = append(names, e.Text)
			}
		}
	}
	if !slices.Contains(names, "shop.picloud.json") {
		t.Errorf("the save dialog suggests %q, want shop.picloud.json (not the app's id %s)", names, v.ref)
	}
}
