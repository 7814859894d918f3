package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/shared"
)

const echoParams = `function handle(req) {
  console.log("for", req.params.name);
  return { status: 200, headers: { "content-type": "application/json", "x-served-by": "echo" },
    body: JSON.stringify({ name: req.params.name, rest: req.params.rest || null, lang: req.query.lang, accept: req.headers["accept"] }) };
}`

func TestRunBindsTheChosenRoutesParams(t *testing.T) {
	h := paired(t)
	a := h.createApp("Runner", "runner")
	sc := h.createScript("runner", "echo", echoParams)
	if _, err := h.node.Client.AddDomain(h.ctx(), a.Slug, "runner.localhost"); err != nil {
		t.Fatal(err)
	}
	rt, err := h.node.Client.CreateRoute(h.ctx(), a.Slug, shared.CreateRouteRequest{ScriptID: sc.ID, Method: "GET", Path: "/hello/:name/*rest"})
	if err != nil {
		t.Fatal(err)
	}
	v := h.openApp("runner")
	d := h.openScript(v, sc.ID)
	r := d.run
	if len(r.route.Options) != 2 || r.route.Selected != anyPath {
		t.Fatalf("route choices %q, selected %q", r.route.Options, r.route.Selected)
	}
	r.route.SetSelected(runRouteText(rt))
	if len(r.fields) != 2 || r.fields[0].name != "name" || r.fields[1].name != "rest" || !r.path.Disabled() {
		t.Fatalf("fields for %s: %+v (path editable: %v)", rt.Path, r.fields, !r.path.Disabled())
	}
	test.Tap(h.button("Run"))
	h.wait()
	if !strings.Contains(r.status.Text, ":name") {
		t.Errorf("run with an empty :name says %q, want it to ask for the value", r.status.Text)
	}

	test.Type(r.fields[0].entry, "ada lovelace")
	test.Type(r.fields[1].entry, "x/y")
	if r.path.Text != "/hello/ada%20lovelace/x/y" {
		t.Errorf("path = %q", r.path.Text)
	}
	typeInto(r.query, "lang=en")
	typeInto(r.headers, "Accept: text/x-test")
	test.Tap(h.button("Run"))
	h.wait()
	if !strings.HasPrefix(r.status.Text, "200") {
		t.Fatalf("status %q", r.status.Text)
	}
	want := "{\n  \"name\": \"ada lovelace\",\n  \"rest\": \"/x/y\",\n  \"lang\": \"en\",\n  \"accept\": \"text/x-test\"\n}"
	if r.resp.Text != want {
		t.Errorf("body shown as\n%s\nwant it bound and pretty-printed:\n%s", r.resp.Text, want)
	}
	if !strings.Contains(r.respHdr.Text, "X-Served-By: echo") || !strings.Contains(r.respHdr.Text, "Content-Type: application/json") {
		t.Errorf("response headers %q", r.respHdr.Text)
	}
	if !strings.Contains(r.output.Text, "for ada lovelace") {
		t.Errorf("console output %q", r.output.Text)
	}

	test.Tap(h.button("Copy body"))
	if got := fyne.CurrentApp().Clipboard().Content(); got != want {
		t.Errorf("clipboard after Copy body = %q", got)
	}
	test.Tap(h.button("Copy as curl"))
	curl := fyne.CurrentApp().Clipboard().Content()
	for _, part := range []string{"curl -X GET", "-H 'Host: runner.localhost'", "-H 'Accept: text/x-test'", "/hello/ada%20lovelace/x/y?lang=en'"} {
		if !strings.Contains(curl, part) {
			t.Errorf("curl %q lacks %q", curl, part)
		}
	}

	// Back to any path: nothing is bound, the path is typed.
	r.route.SetSelected(anyPath)
	if r.path.Disabled() || len(r.fields) != 0 {
		t.Error("with no route the path stays locked")
	}
	typeInto(r.path, "/free")
	if !r.copied.Visible() {
		t.Error("Copy as curl did not say it copied")
	}
	test.Tap(h.button("Run"))
	h.wait()
	if r.copied.Visible() {
		t.Errorf("a new run still says %q", r.copied.Text)
	}
	if !strings.Contains(r.resp.Text, `"name": null`) && !strings.Contains(r.resp.Text, `"rest": null`) {
		t.Errorf("a run with no route bound params: %q", r.resp.Text)
	}
	if c := fyne.CurrentApp().Clipboard(); c != nil {
		test.Tap(h.button("Copy as curl"))
		if got := c.Content(); !strings.Contains(got, "$PICLOUD_TOKEN") || !strings.Contains(got, shared.PathExecute) {
			t.Errorf("curl without a route = %q, want the execute endpoint with the token from the environment", got)
		}
	}
}

func TestRoutePreviewLinksWhatABrowserCanOpen(t *testing.T) {
	for _, tc := range []struct {
		line string
		link bool
	}{
		{"GET http://demo.localhost:8080/", true},
		{"ANY http://demo.localhost:8080/flaky", true},
		{"POST http://demo.localhost:8080/form", false},
		{"GET http://demo.localhost:8080/hello/:name", false},
		{"GET http://*.demo.example.com:8080/", false},
	} {
		t.Run(tc.line, func(t *testing.T) {
			_, isLink := previewLink(tc.line).(*widget.Hyperlink)
			if isLink != tc.link {
				t.Errorf("link %v, want %v", isLink, tc.link)
			}
		})
	}
}

func TestSandboxFormChecksWhileTypingAndResets(t *testing.T) {
	h := paired(t)
	h.createApp("Limits", "limits")
	sc := h.createScript("limits", "loop", "function handle(req) { return 'ok' }")
	v := h.openApp("limits")
	d := h.openScript(v, sc.ID)
	f := d.knobs[shared.KnobTimeoutMS]
	test.Type(f.entry, "40000")
	if !f.err.Visible() || !strings.Contains(f.err.Text, "30,000") {
		t.Errorf("typing above the ceiling shows %q (visible %v)", f.err.Text, f.err.Visible())
	}
	f.entry.SetText("")
	test.Type(f.entry, "2000")
	if f.err.Visible() {
		t.Errorf("a value under the ceiling still shows %q", f.err.Text)
	}
	labels := textOf(d.inner.Items[1].Content)
	for _, o := range test.LaidOutObjects(d.inner.Items[1].Content) {
		if form, ok := o.(*widget.Form); ok {
			for _, it := range form.Items {
				labels += " | " + it.Text
			}
		}
	}
	for _, want := range []string{"Time limit (milliseconds)", "timeout_ms", "Operations per run"} {
		if !strings.Contains(labels, want) {
			t.Errorf("sandbox form lacks %q: %s", want, labels)
		}
	}
	// Reset: the undo button beside the field empties it (the default).
	var reset *widget.Button
	for _, o := range test.LaidOutObjects(d.inner.Items[1].Content) {
		if b, ok := o.(*widget.Button); ok && b.Icon == theme.ContentUndoIcon() {
			reset = b // the last one is timeout_ms's
		}
	}
	if reset == nil {
		t.Fatal("no reset button")
	}
	test.Tap(reset)
	if f.entry.Text != "" {
		t.Errorf("reset left %q", f.entry.Text)
	}
	// Save is not inside the scrolling fields: it stays in reach at 1024x640.
	h.win.Resize(fyne.NewSize(1024, 640))
	d.inner.SelectIndex(1)
	save := h.button("Save limits")
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(save)
	if pos.Y+save.Size().Height > 640 || pos.Y <= 0 {
		t.Errorf("Save limits at y %v (height %v) in a 640 px window", pos.Y, save.Size().Height)
	}
}

// A real window cannot be narrower than its content's minimum, so a long
// script name must not push the script screen past 1024x640.
func TestScriptScreenFitsASmallWindow(t *testing.T) {
	h := paired(t)
	h.createApp("Small", "small")
	sc := h.createScript("small", "nightly-invoice-reminder-for-customers", "function handle(req) { return 'ok' }")
	v := h.openApp("small")
	h.openScript(v, sc.ID)
	if min := h.win.Content().MinSize(); min.Width > 1024 || min.Height > 640 {
		t.Errorf("the script screen needs at least %v: it does not fit a 1024x640 window", min)
	}
}

func TestEnterRunsTheTestRequestAndSavesLimits(t *testing.T) {
	h := paired(t)
	h.createApp("Keys", "keys")
	sc := h.createScript("keys", "q", `function handle(req) { return "q=" + req.query.q }`)
	v := h.openApp("keys")
	d := h.openScript(v, sc.ID)
	typeInto(d.run.query, "q=enter")
	d.run.query.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.wait()
	if d.run.resp.Text != "q=enter" {
		t.Errorf("Enter in the query ran nothing: body %q, status %q", d.run.resp.Text, d.run.status.Text)
	}
	f := d.knobs[shared.KnobMaxCallLevels]
	typeInto(f.entry, "64")
	f.entry.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.wait()
	if got, _ := h.node.Client.Script(h.ctx(), sc.ID); got.Sandbox[shared.KnobMaxCallLevels] != 64 {
		t.Errorf("Enter in a limit did not save it: %v", got.Sandbox)
	}
}
