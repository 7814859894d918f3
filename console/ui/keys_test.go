package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/shared"
)

func (h *harness) dialogs() int { return len(h.win.Canvas().Overlays().List()) }

func enter(e *keyEntry)  { e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn}) }
func escape(e *keyEntry) { e.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape}) }

func TestPairingDialogKeepsAWrongTokenInside(t *testing.T) {
	h := start(t)
	test.Tap(h.button("Pair…"))
	f := h.c.nodes.pairDialog
	if f == nil || h.dialogs() != 1 {
		t.Fatal("no pairing dialog")
	}
	tok := f.fields[0]
	if h.win.Canvas().Focused() != tok {
		t.Error("the pairing dialog does not focus its token field")
	}
	test.Type(tok, "not-the-token")
	enter(tok) // Enter submits
	h.wait()
	if h.dialogs() != 1 || !strings.Contains(f.err.Text, "Refused") || !f.err.Visible() {
		t.Fatalf("after a wrong token: %d dialogs, message %q", h.dialogs(), f.err.Text)
	}
	if _, ok := h.reg.Get(h.id); ok {
		t.Fatal("a refused token was stored")
	}
	tok.SetText(h.node.Token)
	enter(tok)
	h.wait()
	if h.dialogs() != 0 {
		t.Errorf("the dialog stayed open after pairing")
	}
	if _, ok := h.reg.Get(h.id); !ok || h.c.cur == nil {
		t.Errorf("not paired: status %q", h.c.Status())
	}
}

func TestEscapeCancelsDialogs(t *testing.T) {
	h := paired(t)
	t.Run("add node, from its field", func(t *testing.T) {
		test.Tap(h.button("Add node…"))
		if h.dialogs() != 1 {
			t.Fatal("no dialog")
		}
		e, ok := h.win.Canvas().Focused().(*keyEntry)
		if !ok {
			t.Fatalf("focus on %T, want the address field", h.win.Canvas().Focused())
		}
		escape(e)
		if h.dialogs() != 0 {
			t.Error("Escape left the dialog open")
		}
	})
	t.Run("add node: a bad address is refused inside", func(t *testing.T) {
		test.Tap(h.button("Add node…"))
		e := h.win.Canvas().Focused().(*keyEntry)
		test.Type(e, "no:such:port")
		enter(e)
		if h.dialogs() != 1 {
			t.Fatal("the dialog closed on a bad address")
		}
		escape(e)
	})
	t.Run("delete confirmation, nothing focused", func(t *testing.T) {
		h.createApp("Blog", "blog")
		sc := h.createScript("blog", "api", savedSource)
		v := h.openApp("blog")
		h.openScript(v, sc.ID)
		test.Tap(h.button("Delete"))
		if h.dialogs() != 1 {
			t.Fatal("delete did not ask")
		}
		if b := h.dialogButton("Delete"); b.Importance != widget.DangerImportance {
			t.Errorf("the confirm button is not red: importance %v", b.Importance)
		}
		h.win.Canvas().Unfocus()
		h.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
		h.wait()
		if h.dialogs() != 0 {
			t.Fatal("Escape left the confirmation open")
		}
		if _, err := h.node.Client.Script(h.ctx(), sc.ID); err != nil {
			t.Errorf("Escape deleted the script: %v", err)
		}
	})
}

func TestRoutesAndDomainsDeleteOnlyAfterConfirming(t *testing.T) {
	h := paired(t)
	h.createApp("Site", "site")
	if _, err := h.node.Client.AddDomain(h.ctx(), "site", "site.example.com"); err != nil {
		t.Fatal(err)
	}
	sc := h.createScript("site", "api", savedSource)
	if _, err := h.node.Client.CreateRoute(h.ctx(), "site", shared.CreateRouteRequest{ScriptID: sc.ID, Method: "GET", Path: "/x"}); err != nil {
		t.Fatal(err)
	}
	v := h.openApp("site")
	d := h.openScript(v, sc.ID)
	d.inner.SelectIndex(2)
	h.wait()
	var rm *widget.Button
	for _, o := range test.LaidOutObjects(d.routes) {
		if b, ok := o.(*widget.Button); ok && b.Text == "" {
			rm = b
		}
	}
	if rm == nil {
		t.Fatal("no remove button on the route")
	}
	test.Tap(rm)
	test.Tap(h.dialogButton("Cancel"))
	h.wait()
	if rs, _ := h.node.Client.Routes(h.ctx(), "site"); len(rs) != 1 {
		t.Fatalf("routes after Cancel: %d", len(rs))
	}
	test.Tap(rm)
	test.Tap(h.dialogButton("Delete"))
	h.wait()
	if rs, _ := h.node.Client.Routes(h.ctx(), "site"); len(rs) != 0 {
		t.Errorf("routes after Delete: %d", len(rs))
	}

	v.Select("Domains")
	h.wait()
	test.Tap(h.button("Remove"))
	if h.dialogs() != 1 {
		t.Fatal("removing a domain did not ask")
	}
	test.Tap(h.dialogButton("Delete"))
	h.wait()
	if ds, _ := h.node.Client.Domains(h.ctx(), "site"); len(ds) != 0 {
		t.Errorf("domains after Delete: %v", ds)
	}
}
