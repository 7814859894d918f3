package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/shared"
)

const (
	savedSource  = "function handle(req) { return \"saved\"; }\n"
	editedSource = "function handle(req) { return \"edited\"; }\n"
)

// dialogText is every label's text in the dialogs on screen.
func (h *harness) dialogText() string {
	var b strings.Builder
	for _, ov := range h.win.Canvas().Overlays().List() {
		for _, o := range test.LaidOutObjects(ov) {
			if l, ok := o.(*widget.Label); ok {
				b.WriteString(l.Text + "\n")
			}
		}
	}
	return b.String()
}

// edited opens a fresh script of a fresh app and types into its editor.
func (h *harness) edited() (*appView, *scriptDetail, shared.Script) {
	h.t.Helper()
	h.createApp("Blog", "blog")
	sc := h.createScript("blog", "api", savedSource)
	v := h.openApp("blog")
	d := h.openScript(v, sc.ID)
	d.editor.SetText(editedSource)
	return v, d, sc
}

func (h *harness) source(id int64) string {
	h.t.Helper()
	sc, err := h.node.Client.Script(h.ctx(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return sc.Source
}

func TestUnsavedMarkerAndCtrlS(t *testing.T) {
	h := paired(t)
	_, d, sc := h.edited()
	if !strings.Contains(d.title.Text, "unsaved") || !strings.HasPrefix(d.title.Text, "•") {
		t.Fatalf("title after an edit = %q, want the unsaved marker", d.title.Text)
	}
	d.editor.TypedShortcut(saveShortcut) // what the driver does with Ctrl+S in the focused editor
	h.wait()
	if got := h.source(sc.ID); got != editedSource {
		t.Fatalf("node has %q after Ctrl+S", got)
	}
	if strings.Contains(d.title.Text, "unsaved") || !strings.Contains(d.title.Text, "version 2") {
		t.Errorf("title after save = %q", d.title.Text)
	}

	// Ctrl+S with the focus elsewhere: the window's shortcut saves.
	d.editor.SetText(savedSource)
	h.c.saveTyped(saveShortcut)
	h.wait()
	if got := h.source(sc.ID); got != savedSource {
		t.Errorf("node has %q after the window's Ctrl+S", got)
	}
}

func TestLeavingAScriptWithUnsavedEditsAsks(t *testing.T) {
	ways := []struct {
		name  string
		leave func(h *harness, v *appView)
		left  func(h *harness, v *appView) bool
	}{
		{"back to Scripts", func(h *harness, v *appView) { test.Tap(h.button("Scripts")) },
			func(h *harness, v *appView) bool { return v.scripts.detail == nil }},
		{"another tab", func(h *harness, v *appView) { v.Select("Domains") },
			func(h *harness, v *appView) bool { return v.tabs.Selected().Text == "Domains" }},
		{"the app's breadcrumb", func(h *harness, v *appView) { test.Tap(h.button("Blog (blog)")) },
			func(h *harness, v *appView) bool { return v.scripts.detail == nil }},
		{"the node's breadcrumb", func(h *harness, v *appView) { test.Tap(h.button(h.c.cur.entry.Title())) },
			func(h *harness, v *appView) bool { return h.c.cur.app == nil }},
		{"closing the window", func(h *harness, v *appView) { h.c.closeRequested() },
			func(h *harness, v *appView) bool { return h.closed }},
	}
	for _, w := range ways {
		t.Run(w.name, func(t *testing.T) {
			for _, choice := range []string{"Cancel", "Discard", "Save"} {
				t.Run(choice, func(t *testing.T) {
					h := paired(t)
					v, d, sc := h.edited()
					w.leave(h, v)
					h.wait()
					if !strings.Contains(h.dialogText(), "not saved") {
						t.Fatalf("no Save / Discard / Cancel question; dialogs say %q", h.dialogText())
					}
					if w.left(h, v) {
						t.Fatal("left the script before the user answered")
					}
					test.Tap(h.dialogButton(choice))
					h.wait()
					switch choice {
					case "Cancel":
						if w.left(h, v) || d.editor.Text != editedSource || v.scripts.detail != d {
							t.Errorf("Cancel: left %v, editor %q", w.left(h, v), d.editor.Text)
						}
					case "Discard":
						if !w.left(h, v) || h.source(sc.ID) != savedSource {
							t.Errorf("Discard: left %v, node has %q", w.left(h, v), h.source(sc.ID))
						}
					case "Save":
						if !w.left(h, v) || h.source(sc.ID) != editedSource {
							t.Errorf("Save: left %v, node has %q", w.left(h, v), h.source(sc.ID))
						}
					}
				})
			}
		})
	}
}

func TestLeavingASavedScriptDoesNotAsk(t *testing.T) {
	h := paired(t)
	h.createApp("Blog", "blog")
	sc := h.createScript("blog", "api", savedSource)
	v := h.openApp("blog")
	h.openScript(v, sc.ID)
	v.Select("Domains")
	h.wait()
	if v.tabs.Selected().Text != "Domains" || len(h.win.Canvas().Overlays().List()) != 0 {
		t.Errorf("leaving an unedited script: tab %q, dialogs %q", v.tabs.Selected().Text, h.dialogText())
	}
}

func TestSaveConflict(t *testing.T) {
	theirs := "function handle(req) { return \"theirs\"; }\n"
	for _, tc := range []struct {
		name    string
		choose  []string
		source  string // on the node afterwards
		editor  string
		version int64
	}{
		{"reload theirs", []string{"Reload theirs"}, theirs, theirs, 2},
		{"compare, then overwrite", []string{"Compare…", "Overwrite"}, editedSource, editedSource, 3},
		{"compare, then reload", []string{"Compare…", "Reload theirs"}, theirs, theirs, 2},
		{"cancel keeps the edits unsaved", []string{"Cancel"}, theirs, editedSource, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := paired(t)
			_, d, sc := h.edited()
			if _, err := h.node.Client.UpdateScript(h.ctx(), sc.ID, shared.UpdateScriptRequest{Source: &theirs}); err != nil {
				t.Fatal(err)
			}
			test.Tap(h.button("Save"))
			h.wait()
			if txt := h.dialogText(); !strings.Contains(txt, "you edited version 1, the node has version 2") {
				t.Fatalf("conflict dialog says %q", txt)
			}
			if h.source(sc.ID) != theirs {
				t.Fatal("the conflicting save overwrote the other edit")
			}
			for _, b := range tc.choose {
				if b == "Overwrite" && !strings.Contains(h.dialogText(), "removes 1 line and adds 1 line") {
					t.Errorf("compare dialog says %q", h.dialogText())
				}
				test.Tap(h.dialogButton(b))
				h.wait()
			}
			if got := h.source(sc.ID); got != tc.source {
				t.Errorf("node has %q, want %q", got, tc.source)
			}
			if d.editor.Text != tc.editor || d.script.Version != tc.version {
				t.Errorf("editor %q at version %d, want %q at %d", d.editor.Text, d.script.Version, tc.editor, tc.version)
			}
			if tc.editor == tc.source && strings.Contains(d.title.Text, "unsaved") {
				t.Errorf("title %q still marks unsaved edits", d.title.Text)
			}
		})
	}
}
