package ui

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/console/code"
	"github.com/picloud/picloud/shared"
)

// openScript is the script detail on screen, nil when none is.
func (c *Console) openScript() *scriptDetail {
	if c.cur == nil || c.cur.app == nil {
		return nil
	}
	v := c.cur.app
	if sel := v.tabs.Selected(); sel == nil || sel.Text != "Scripts" {
		return nil
	}
	return v.scripts.detail
}

// leave runs then, the way off the current screen, once the open script's
// unsaved edits are saved or discarded; Cancel stays. Every way off a
// script goes through it: ← Scripts, the breadcrumb, another tab, app or
// node, and closing the window.
func (c *Console) leave(then func()) {
	d := c.openScript()
	if d == nil || !d.dirty() {
		c.navigated()
		then()
		return
	}
	d.askSave(func() {
		c.navigated()
		then()
	})
}

// saveTyped is Ctrl+S on the window (the editor not focused).
func (c *Console) saveTyped(fyne.Shortcut) {
	if d := c.openScript(); d != nil {
		d.save()
	}
}

// navigated clears the status bar: what it said belonged to the screen
// the user left.
func (c *Console) navigated() { c.report("", false) }

// closeRequested is the window's close intercept.
func (c *Console) closeRequested() { c.leave(c.win.Close) }

// dirty reports unsaved edits: the editor differs from the version loaded.
func (s *scriptDetail) dirty() bool { return s.editor.Text != s.script.Source }

// showTitle shows name, version and the unsaved marker.
func (s *scriptDetail) showTitle() {
	t := fmt.Sprintf("%s · version %d", s.script.Name, s.script.Version)
	if s.dirty() {
		t = "• " + t + " · unsaved"
	}
	s.title.SetText(t)
}

// askSave asks what to do with unsaved edits before then.
func (s *scriptDetail) askSave(then func()) {
	v := s.t.v
	msg := widget.NewLabel(fmt.Sprintf("“%s” has edits that are not saved on the node.", s.script.Name))
	d := dialog.NewCustomWithoutButtons("Save your changes?", msg, v.win)
	cancel := widget.NewButton("Cancel", d.Hide)
	discard := widget.NewButton("Discard", func() {
		d.Hide()
		s.editor.SetText(s.script.Source)
		then()
	})
	save := widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), func() {
		d.Hide()
		s.saveThen(then)
	})
	save.Importance = widget.HighImportance
	d.SetButtons([]fyne.CanvasObject{cancel, discard, save})
	s.dialog = d
	v.show(d, d.Hide)
}

// save stores the editor's text against the version it was loaded at.
func (s *scriptDetail) save() { s.saveThen(nil) }

// saveThen saves and, once saved, runs then (nil: stay). A syntax error
// is shown at its line and column; a conflict asks what to do.
func (s *scriptDetail) saveThen(then func()) {
	s.saveAt(s.script.Version, then)
}

func (s *scriptDetail) saveAt(version int64, then func()) {
	v := s.t.v
	src := s.editor.Text
	req := shared.UpdateScriptRequest{IfVersion: &version, Source: &src}
	id := s.script.ID
	call(v.tasks, "save script", func(ctx context.Context) (shared.Script, error) {
		return v.client.UpdateScript(ctx, id, req)
	}, func(sc shared.Script) {
		s.setScript(sc)
		s.setSaveMsg(fmt.Sprintf("Saved version %d.", sc.Version), widget.SuccessImportance)
		if then != nil {
			then()
		}
	}, func(err error) bool {
		if _, ok := shared.ConflictVersion(err); ok {
			s.conflict(then)
			return true
		}
		s.setSaveMsg(s.sourceError(err), widget.DangerImportance)
		return true
	})
}

// conflict loads the script as saved elsewhere and offers to reload it
// (dropping the edits) or to overwrite it after seeing the difference.
func (s *scriptDetail) conflict(then func()) {
	v := s.t.v
	id := s.script.ID
	call(v.tasks, "load script", func(ctx context.Context) (shared.Script, error) {
		return v.client.Script(ctx, id)
	}, func(theirs shared.Script) {
		s.setSaveMsg(fmt.Sprintf("Not saved: the script was changed elsewhere (now version %d).", theirs.Version), widget.DangerImportance)
		msg := widget.NewLabel(fmt.Sprintf("“%s” was saved elsewhere since you opened it:\nyou edited version %d, the node has version %d.",
			theirs.Name, s.script.Version, theirs.Version))
		d := dialog.NewCustomWithoutButtons("Changed elsewhere", msg, v.win)
		cancel := widget.NewButton("Cancel", d.Hide)
		reload := widget.NewButtonWithIcon("Reload theirs", theme.ViewRefreshIcon(), func() {
			d.Hide()
			s.reloadFrom(theirs)
		})
		compare := widget.NewButton("Compare…", func() {
			d.Hide()
			s.compare(theirs, then)
		})
		compare.Importance = widget.HighImportance
		d.SetButtons([]fyne.CanvasObject{cancel, reload, compare})
		s.dialog = d
		v.show(d, d.Hide)
	}, nil)
}

// reloadFrom replaces the editor's text with the node's version.
func (s *scriptDetail) reloadFrom(theirs shared.Script) {
	s.script = theirs
	s.editor.SetText(theirs.Source)
	s.setScript(theirs)
	s.setSaveMsg(fmt.Sprintf("Reloaded version %d; your edits were dropped.", theirs.Version), widget.MediumImportance)
}

// compare shows what overwriting would change and offers to do it.
func (s *scriptDetail) compare(theirs shared.Script, then func()) {
	v := s.t.v
	diff := code.Diff(theirs.Source, s.editor.Text)
	removed, added := code.Changed(diff)
	head := widget.NewLabel(fmt.Sprintf("Overwriting version %d with your text removes %s and adds %s (- theirs, + yours).",
		theirs.Version, plural(removed, "line"), plural(added, "line")))
	head.Wrapping = fyne.TextWrapWord
	body := container.NewScroll(diffView(diff))
	body.SetMinSize(fyne.NewSize(640, 360))
	d := dialog.NewCustomWithoutButtons("Compare with version "+fmt.Sprint(theirs.Version), container.NewBorder(head, nil, nil, nil, body), v.win)
	cancel := widget.NewButton("Cancel", d.Hide)
	reload := widget.NewButtonWithIcon("Reload theirs", theme.ViewRefreshIcon(), func() {
		d.Hide()
		s.reloadFrom(theirs)
	})
	overwrite := widget.NewButtonWithIcon("Overwrite", theme.DocumentSaveIcon(), func() {
		d.Hide()
		s.saveAt(theirs.Version, then)
	})
	overwrite.Importance = widget.DangerImportance
	d.SetButtons([]fyne.CanvasObject{cancel, reload, overwrite})
	s.dialog = d
	v.show(d, d.Hide)
}

// diffView draws a difference, removed lines red, added ones green.
func diffView(diff []code.Line) fyne.CanvasObject {
	segs := make([]widget.RichTextSegment, 0, len(diff))
	for _, l := range diff {
		st := widget.RichTextStyleCodeInline
		st.Inline = false
		switch l.Op {
		case code.Removed:
			st.ColorName = theme.ColorNameError
		case code.Added:
			st.ColorName = theme.ColorNameSuccess
		default:
			st.ColorName = theme.ColorNameForeground
		}
		segs = append(segs, &widget.TextSegment{Text: string(l.Op) + " " + l.Text, Style: st})
	}
	return widget.NewRichText(segs...)
}

// plural writes "1 line", "2 lines".
func plural(n int, noun string) string { return pluralWord(n, noun, noun+"s") }

// pluralWord writes "1 fetch", "2 fetches".
func pluralWord(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
