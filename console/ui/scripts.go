package ui

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/shared"
)

// newScriptSource is what a new script starts with: it runs as is.
const newScriptSource = `function handle(req) {
  console.log("hello from", req.path);
  return { status: 200, headers: { "content-type": "text/plain" }, body: "Hello from " + req.app + "!" };
}
`

// scriptsTab lists the app's scripts; picking one opens its detail in place.
type scriptsTab struct {
	v       *appView
	view    *fyne.Container // stack: list or detail
	listBox *fyne.Container
	list    *fyne.Container
	newName *widget.Entry
	newMsg  *widget.Label
	detail  *scriptDetail // open script, nil on the list
	scripts []shared.Script
}

func newScriptsTab(v *appView) *scriptsTab {
	t := &scriptsTab{v: v, list: container.NewVBox(), newName: widget.NewEntry(), newMsg: newMsg()}
	t.newName.SetPlaceHolder("new script name, e.g. api")
	t.newName.OnSubmitted = func(string) { t.create() }
	add := widget.NewButtonWithIcon("New script", theme.ContentAddIcon(), t.create)
	top := container.NewVBox(container.NewBorder(nil, nil, nil, add, t.newName), t.newMsg, widget.NewSeparator())
	t.listBox = container.NewBorder(top, nil, nil, nil, container.NewVScroll(t.list))
	t.view = container.NewStack(t.listBox)
	return t
}

func (t *scriptsTab) reload() {
	if t.detail != nil {
		t.detail.reload()
		return
	}
	v := t.v
	call(v.tasks, "load scripts", func(ctx context.Context) ([]shared.Script, error) {
		return v.client.Scripts(ctx, v.ref)
	}, t.render, nil)
}

func (t *scriptsTab) render(s []shared.Script) {
	t.scripts = s
	objs := []fyne.CanvasObject{}
	for _, sc := range s {
		sc := sc
		b := widget.NewButtonWithIcon(fmt.Sprintf("%s  (v%d)", sc.Name, sc.Version), theme.FileIcon(), func() { t.open(sc.ID) })
		b.Alignment = widget.ButtonAlignLeading
		b.Importance = widget.LowImportance
		objs = append(objs, b)
	}
	if len(objs) == 0 {
		objs = append(objs, widget.NewLabel("No scripts yet."))
	}
	t.list.Objects = objs
	t.list.Refresh()
}

// showList goes back from a script to the list.
func (t *scriptsTab) showList() {
	t.detail = nil
	t.view.Objects = []fyne.CanvasObject{t.listBox}
	t.view.Refresh()
	t.v.setCrumbsFor(nil)
	t.reload()
}

func (t *scriptsTab) create() {
	name := strings.TrimSpace(t.newName.Text)
	if name == "" {
		return
	}
	v := t.v
	req := shared.CreateScriptRequest{AppID: shared.AppRef(v.ref), Name: name, Source: newScriptSource}
	call(v.tasks, "create script", func(ctx context.Context) (shared.Script, error) {
		return v.client.CreateScript(ctx, req)
	}, func(sc shared.Script) {
		t.newName.SetText("")
		showMsg(t.newMsg, "", widget.MediumImportance)
		t.open(sc.ID)
	}, func(err error) bool {
		showMsg(t.newMsg, Message(err), widget.DangerImportance)
		return true
	})
}

// open loads a script with what its detail needs: the sandbox defaults and
// ceiling, the app's routes and domains.
func (t *scriptsTab) open(id int64) { t.openThen(id, nil) }

// openThen opens a script and, once it shows, runs then on its detail.
func (t *scriptsTab) openThen(id int64, then func(*scriptDetail)) {
	v := t.v
	call(v.tasks, "open script", func(ctx context.Context) (scriptData, error) {
		return loadScript(ctx, v, id)
	}, func(d scriptData) {
		t.detail = newScriptDetail(t, d)
		t.view.Objects = []fyne.CanvasObject{t.detail.view}
		t.view.Refresh()
		v.setCrumbsFor(&d.script)
		if then != nil {
			then(t.detail)
		}
	}, nil)
}

// openScriptAt shows a script in the editor with line:column marked and
// the cursor there (a log's error); unsaved edits elsewhere are asked
// about first.
func (v *appView) openScriptAt(id int64, line, col int) {
	mark := func(d *scriptDetail) {
		d.code.markError(line, col)
		if c := fyne.CurrentApp().Driver().CanvasForObject(d.editor); c != nil {
			c.Focus(d.editor)
		}
	}
	if d := v.scripts.detail; d != nil && d.script.ID == id { // its edits stay
		v.Select("Scripts")
		mark(d)
		return
	}
	v.leave(func() {
		v.Select("Scripts")
		v.scripts.showList() // under the script opened next, if it fails to open
		v.scripts.openThen(id, mark)
	})
}

type scriptData struct {
	script  shared.Script
	sandbox shared.SandboxInfo
	routes  []shared.Route
	domains []shared.Domain
}

func loadScript(ctx context.Context, v *appView, id int64) (d scriptData, err error) {
	cl := v.client
	if d.script, err = cl.Script(ctx, id); err != nil {
		return d, err
	}
	if d.sandbox, err = cl.Sandbox(ctx); err != nil {
		return d, err
	}
	if d.routes, err = cl.Routes(ctx, v.ref); err != nil {
		return d, err
	}
	d.domains, err = cl.Domains(ctx, v.ref)
	return d, err
}

// scriptDetail edits, runs, limits and routes one script.
type scriptDetail struct {
	t      *scriptsTab
	script shared.Script
	info   shared.SandboxInfo
	view   fyne.CanvasObject

	title     *widget.Label
	editor    *codeEntry
	code      *codeEditor
	dialog    dialog.Dialog // the last dialog it opened (tests)
	saveMsg   *widget.Label
	inner     *container.AppTabs
	run       *runPanel
	knobs     map[string]*knobField
	limitsMsg *widget.Label
	routes    *fyne.Container
	preview   *fyne.Container
	method    *widget.SelectEntry
	path      *widget.Entry
	host      *widget.Entry
	routeMsg  *widget.Label
	portNote  *widget.Label
	history   *historyPanel   // History tab (history.go)
	domains   []shared.Domain // the app's claims, as last loaded
}

type knobField struct {
	entry *widget.Entry
	hint  *widget.Label
	err   *widget.Label
}

func newScriptDetail(t *scriptsTab, d scriptData) *scriptDetail {
	s := &scriptDetail{t: t, script: d.script, info: d.sandbox, knobs: make(map[string]*knobField)}
	back := widget.NewButtonWithIcon("Scripts", theme.NavigateBackIcon(), func() { t.v.leave(t.showList) })
	s.title = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	// A long name (or "unsaved") shortens with an ellipsis instead of
	// widening the screen past a 1024-px window.
	s.title.Truncation = fyne.TextTruncateEllipsis
	save := widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), s.save)
	save.Importance = widget.HighImportance
	del := widget.NewButtonWithIcon("Delete", theme.DeleteIcon(), s.confirmDelete)
	del.Importance = widget.LowImportance

	s.code = newCodeEditor()
	s.editor = s.code.entry
	s.editor.SetText(d.script.Source)
	s.code.changed(d.script.Source)
	s.editor.onSave = s.save
	s.editor.OnChanged = func(text string) {
		s.code.changed(text)
		s.showTitle()
	}
	s.saveMsg = newMsg()

	editorPane := container.NewBorder(container.NewBorder(nil, nil, back, container.NewHBox(save, del), s.title),
		container.NewVBox(s.saveMsg, container.NewHBox(s.code.wrap)), nil, nil, s.code.view)

	s.inner = container.NewAppTabs(
		container.NewTabItem("Run", s.runView(d.routes)),
		container.NewTabItem("Sandbox", s.sandboxView()),
		container.NewTabItem("Routes", s.routesView()),
	)
	s.history = newHistoryPanel(s)
	s.inner.Append(container.NewTabItem("History", s.history.view))
	s.inner.OnSelected = func(ti *container.TabItem) {
		if ti.Text == "History" {
			s.history.reload()
		}
	}
	split := container.NewHSplit(editorPane, s.inner)
	split.Offset = 0.62 // the editor takes most of the width; drag the divider to change it
	s.view = split
	s.setScript(d.script)
	s.renderRoutes(d.routes, d.domains)
	s.checkEnv()
	return s
}

func (s *scriptDetail) setScript(sc shared.Script) {
	s.script = sc
	s.showTitle()
	for _, k := range shared.Knobs {
		f := s.knobs[k]
		if f == nil {
			continue
		}
		if v, ok := sc.Sandbox[k]; ok {
			f.entry.SetText(strconv.FormatInt(v, 10))
		} else {
			f.entry.SetText("")
		}
		f.err.SetText("")
		f.err.Hide()
	}
}

func (s *scriptDetail) reload() {
	v := s.t.v
	id := s.script.ID
	call(v.tasks, "load script", func(ctx context.Context) (scriptData, error) {
		return loadScript(ctx, v, id)
	}, func(d scriptData) {
		s.info = d.sandbox
		if s.editor.Text == s.script.Source { // keep unsaved edits
			s.editor.SetText(d.script.Source)
		}
		s.setScript(d.script)
		s.renderRoutes(d.routes, d.domains)
	}, nil)
}

func (s *scriptDetail) setSaveMsg(msg string, imp widget.Importance) {
	showMsg(s.saveMsg, msg, imp)
}

func (s *scriptDetail) sourceError(err error) string {
	e, ok := shared.AsError(err)
	if !ok {
		return Message(err)
	}
	switch e.Code {
	case shared.CodeScriptSyntax:
		line, _ := strconv.Atoi(e.Detail("line"))
		col, _ := strconv.Atoi(e.Detail("column"))
		if line > 0 {
			s.code.markError(line, col)
			if c := fyne.CurrentApp().Driver().CanvasForObject(s.editor); c != nil {
				c.Focus(s.editor)
			}
		}
		return fmt.Sprintf("Syntax error at line %d, column %d: %s", line, col, e.Message)
	case shared.CodeTooLarge:
		return "The source is too large (scripts are limited to 256 KiB)."
	}
	return Message(err)
}

func (s *scriptDetail) confirmDelete() {
	v := s.t.v
	sc := s.script
	v.confirm("Delete script “"+sc.Name+"”?", "Its routes are deleted too; its logs stay.", func() {
		call(v.tasks, "delete script", func(ctx context.Context) (struct{}, error) {
			return struct{}{}, v.client.DeleteScript(ctx, sc.ID)
		}, func(struct{}) {
			v.info("deleted script " + sc.Name)
			s.t.showList()
		}, nil)
	})
}

// knobLabels name each knob in plain words, with its unit.
var knobLabels = map[string]string{
	shared.KnobMaxOperations: "Operations per run",
	shared.KnobMaxStringSize: "Longest string (characters)",
	shared.KnobMaxArraySize:  "Largest array (elements)",
	shared.KnobMaxMapSize:    "Largest Map or Set (entries)",
	shared.KnobMaxCallLevels: "Call depth (levels)",
	shared.KnobMaxExprDepth:  "Expression nesting (levels)",
	shared.KnobTimeoutMS:     "Time limit (milliseconds)",
}

// sandboxView: one field per knob, in plain words with the knob's name
// beside, its default and ceiling, checked while typing, each with a reset
// to the default. Save stays below the scrolling fields, always in reach.
func (s *scriptDetail) sandboxView() fyne.CanvasObject {
	form := widget.NewForm()
	for _, k := range shared.Knobs {
		k := k
		f := &knobField{entry: widget.NewEntry(), hint: widget.NewLabel(""), err: widget.NewLabel("")}
		f.entry.SetPlaceHolder(group(s.info.Defaults.Get(k)) + " (default)")
		f.hint.SetText(fmt.Sprintf("%s · default %s · ceiling %s", k, group(s.info.Defaults.Get(k)), group(s.info.Ceiling.Get(k))))
		f.hint.TextStyle.Italic = true
		f.hint.Wrapping = fyne.TextWrapWord // narrow panes wrap rather than push the reset button off
		f.err.Importance = widget.DangerImportance
		f.err.Wrapping = fyne.TextWrapWord
		f.err.Hide()
		f.entry.OnChanged = func(string) { s.checkKnob(k) }
		f.entry.OnSubmitted = func(string) { s.saveLimits() } // Enter saves, as in every form
		reset := widget.NewButtonWithIcon("", theme.ContentUndoIcon(), func() { f.entry.SetText("") })
		reset.Importance = widget.LowImportance
		s.knobs[k] = f
		label := knobLabels[k]
		if label == "" {
			label = k
		}
		form.Append(label, container.NewVBox(container.NewBorder(nil, nil, nil, reset, f.entry),
			f.hint, f.err))
	}
	s.limitsMsg = newMsg()
	save := widget.NewButtonWithIcon("Save limits", theme.DocumentSaveIcon(), s.saveLimits)
	save.Importance = widget.HighImportance
	note := widget.NewLabel("Empty fields use the node's default; the undo button beside a field resets it. Values above the ceiling are refused.")
	note.Wrapping = fyne.TextWrapWord
	bottom := container.NewVBox(widget.NewSeparator(), container.NewBorder(nil, nil, save, nil, s.limitsMsg))
	return container.NewBorder(nil, bottom, nil, nil, container.NewVScroll(container.NewVBox(note, form)))
}

// knobValue reads a knob's field: ok false with the reason shown under it
// when it is not a whole number or is above the node's ceiling; set false
// when it is empty (the default).
func (s *scriptDetail) knobValue(k string) (n int64, set, ok bool) {
	f := s.knobs[k]
	txt := strings.ReplaceAll(strings.TrimSpace(f.entry.Text), ",", "")
	msg := ""
	if txt != "" {
		var err error
		n, err = strconv.ParseInt(txt, 10, 64)
		switch ceiling := s.info.Ceiling.Get(k); {
		case err != nil || n < 0:
			msg = "a whole number, please"
		case ceiling > 0 && n > ceiling:
			msg = fmt.Sprintf("%s is above this node's ceiling of %s", group(n), group(ceiling))
		}
	}
	showMsg(f.err, msg, widget.DangerImportance)
	return n, txt != "", msg == ""
}

// checkKnob checks a field as it is typed.
func (s *scriptDetail) checkKnob(k string) { s.knobValue(k) }

// group writes 10000000 as 10,000,000.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *scriptDetail) saveLimits() {
	o := shared.Overrides{}
	valid := true
	for _, k := range shared.Knobs {
		n, set, ok := s.knobValue(k)
		valid = valid && ok
		if set && ok {
			o[k] = n
		}
	}
	if !valid {
		showMsg(s.limitsMsg, "Not saved: fix the field marked above.", widget.DangerImportance)
		return
	}
	v := s.t.v
	id := s.script.ID
	req := shared.UpdateScriptRequest{Sandbox: &o}
	call(v.tasks, "save limits", func(ctx context.Context) (shared.Script, error) {
		return v.client.UpdateScript(ctx, id, req)
	}, func(sc shared.Script) {
		s.setScript(sc)
		showMsg(s.limitsMsg, fmt.Sprintf("Saved (version %d).", sc.Version), widget.SuccessImportance)
	}, func(err error) bool {
		e, ok := shared.AsError(err)
		if ok {
			if f := s.knobs[strings.TrimPrefix(e.Detail("field"), "sandbox.")]; f != nil {
				msg := e.Message
				if e.Code == shared.CodeSandboxExceedsCeiling {
					msg = fmt.Sprintf("%s is above this node's ceiling of %s", group(detailInt(e, "requested")), group(detailInt(e, "ceiling")))
				}
				f.err.SetText(msg)
				f.err.Show()
				showMsg(s.limitsMsg, "Not saved: fix the field marked above.", widget.DangerImportance)
				return true
			}
		}
		showMsg(s.limitsMsg, Message(err), widget.DangerImportance)
		return true
	})
}

func detailInt(e *shared.Error, key string) int64 {
	switch v := e.Details[key].(type) {
	case float64:
		return int64(v)
	case int64:
		return v
	case int:
		return int64(v)
	}
	n, _ := strconv.ParseInt(e.Detail(key), 10, 64)
	return n
}
