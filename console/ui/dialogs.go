package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"
)

// The console's one keyboard rule: Enter submits the focused form or
// dialog, Escape cancels it, and a dialog opens with its first field
// focused. Dialogs are made here so each one follows it.

// keyEntry is an Entry that answers Escape; Enter is its OnSubmitted.
type keyEntry struct {
	widget.Entry
	onEscape func()
}

func newKeyEntry(password bool) *keyEntry {
	e := &keyEntry{}
	e.Password = password
	e.ExtendBaseWidget(e)
	return e
}

func (e *keyEntry) TypedKey(k *fyne.KeyEvent) {
	if k.Name == fyne.KeyEscape && e.onEscape != nil {
		e.onEscape()
		return
	}
	e.Entry.TypedKey(k)
}

// escapes is the stack of open dialogs' cancel functions: Escape with
// nothing focused cancels the top one.
type escapes struct{ stack []func() }

func (s *escapes) push(cancel func()) { s.stack = append(s.stack, cancel) }

func (s *escapes) pop() {
	if n := len(s.stack); n > 0 {
		s.stack = s.stack[:n-1]
	}
}

// typedKey is the window canvas's key handler (keys typed while no widget
// has the focus).
func (c *Console) typedKey(k *fyne.KeyEvent) {
	if k.Name == fyne.KeyEscape && len(c.esc.stack) > 0 {
		c.esc.stack[len(c.esc.stack)-1]()
	}
}

// formDialog asks for a few fields. submit runs on Enter in a field or the
// confirm button; it calls done with "" to close the dialog, or with an
// error to show inside it, the dialog staying open for another try.
type formDialog struct {
	d      *dialog.CustomDialog
	fields []*keyEntry
	err    *widget.Label
	ok     *widget.Button
}

func (c *Console) askForm(title, confirm string, note fyne.CanvasObject, items []*widget.FormItem, fields []*keyEntry,
	submit func(done func(errMsg string))) *formDialog {
	f := &formDialog{fields: fields, err: newMsg()}
	form := widget.NewForm(items...)
	body := container.NewVBox()
	if note != nil {
		body.Add(note)
	}
	body.Add(form)
	body.Add(f.err)
	f.d = dialog.NewCustomWithoutButtons(title, body, c.win)
	cancel := widget.NewButton("Cancel", f.d.Hide)
	run := func() {
		f.ok.Disable()
		submit(func(msg string) {
			f.ok.Enable()
			if msg == "" {
				f.d.Hide()
				return
			}
			showMsg(f.err, msg, widget.DangerImportance)
			c.focus(f.fields[0])
		})
	}
	f.ok = widget.NewButton(confirm, run)
	f.ok.Importance = widget.HighImportance
	f.d.SetButtons([]fyne.CanvasObject{cancel, f.ok})
	for _, e := range fields {
		e.OnSubmitted = func(string) { run() }
		e.onEscape = f.d.Hide
	}
	c.show(f.d, f.d.Hide)
	if len(fields) > 0 {
		c.focus(fields[0])
	}
	return f
}

// show shows d with Escape bound to cancel while it is open.
func (c *Console) show(d dialog.Dialog, cancel func()) {
	c.esc.push(cancel)
	d.SetOnClosed(c.esc.pop)
	d.Show()
}

func (c *Console) focus(o fyne.Focusable) {
	if cv := c.win.Canvas(); cv != nil {
		cv.Focus(o)
	}
}

// confirmDelete asks before deleting, with a red Delete button; Escape
// and Cancel keep what would be deleted.
func (c *Console) confirmDelete(title, msg string, del func()) {
	d := dialog.NewConfirm(title, msg, func(ok bool) {
		if ok {
			del()
		}
	}, c.win)
	d.SetConfirmText("Delete")
	d.SetConfirmImportance(widget.DangerImportance)
	d.SetDismissText("Cancel")
	c.show(d, d.Hide)
}
