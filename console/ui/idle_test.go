package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// An idle console must not repaint: a probe that finds the node as it was
// keeps the sidebar's widgets and never shows the activity spinner, whose
// animation alone costs a tenth of a core under software GL.
func TestProbeWithNoChangeKeepsTheSidebar(t *testing.T) {
	h := paired(t)
	h.c.nodes.probeAll()
	h.wait() // the first probe after pairing may learn the version
	before := append([]fyne.CanvasObject(nil), h.c.nodes.rows.Objects...)

	h.c.nodes.probeAll()
	if h.c.activity.Visible() {
		t.Error("a background probe shows the activity spinner")
	}
	h.wait()
	after := h.c.nodes.rows.Objects
	if len(after) != len(before) {
		t.Fatalf("sidebar has %d rows after an unchanged probe, had %d", len(after), len(before))
	}
	for i := range before {
		if after[i] != before[i] {
			t.Errorf("sidebar row %d was rebuilt by a probe that changed nothing", i)
		}
	}

	// A change still shows: the node goes offline.
	h.node.Stop(t)
	h.c.nodes.probeAll()
	h.wait()
	if h.c.nodes.rows.Objects[0] == before[0] {
		t.Error("the sidebar did not change when the node went offline")
	}
	if !sidebarSays(h, "offline") {
		t.Error("the sidebar does not say the node is offline")
	}
}

func sidebarSays(h *harness, s string) bool {
	for _, o := range test.LaidOutObjects(h.c.nodes.rows) {
		if l, ok := o.(*widget.Label); ok && strings.Contains(l.Text, s) {
			return true
		}
	}
	return false
}

func TestPairedNodeCardShowsItsIDWithCopy(t *testing.T) {
	h := paired(t)
	if !sidebarSays(h, "id "+h.id) {
		t.Fatal("the paired node's card does not show its id")
	}
	var cp *widget.Button
	for _, o := range test.LaidOutObjects(h.c.nodes.rows) {
		if b, ok := o.(*widget.Button); ok && b.Text == "" && b.Icon == theme.ContentCopyIcon() {
			cp = b
		}
	}
	if cp == nil {
		t.Fatal("no copy button beside the node id")
	}
	test.Tap(cp)
	if got := fyne.CurrentApp().Clipboard().Content(); got != h.id {
		t.Errorf("clipboard %q, want the node id %q", got, h.id)
	}
}

func TestAppListSearch(t *testing.T) {
	h := paired(t)
	h.createApp("Blog", "blog")
	h.createApp("Shop front", "shop")
	h.c.cur.apps.reload()
	h.wait()
	v := h.c.cur.apps
	test.Type(v.search, "SHOP")
	if rows := v.Rows(); len(rows) != 1 || !strings.HasPrefix(rows[0], "Shop front shop") {
		t.Errorf("search shop: %q", rows)
	}
	v.search.SetText("blo")
	if rows := v.Rows(); len(rows) != 1 || !strings.HasPrefix(rows[0], "Blog blog") {
		t.Errorf("search blo: %q", rows)
	}
	v.search.SetText("nothing-like-it")
	if rows := v.Rows(); len(rows) != 0 || !strings.Contains(textOf(v.list), "No app matches") {
		t.Errorf("search with no match: rows %q, list %q", rows, textOf(v.list))
	}
	v.search.SetText("")
	if rows := v.Rows(); len(rows) != 3 { // with the default app
		t.Errorf("cleared search: %q", rows)
	}
	v.search.SetText("shop")
	v.search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.wait()
	if h.c.cur.app == nil || h.c.cur.app.app.Slug != "shop" {
		t.Error("Enter in a search with one match did not open it")
	}
}

func textOf(o fyne.CanvasObject) string {
	var out []string
	for _, w := range test.LaidOutObjects(o) {
		if l, ok := w.(*widget.Label); ok {
			out = append(out, l.Text)
		}
	}
	return strings.Join(out, " | ")
}

func TestSettingsShowsTheSlugHistory(t *testing.T) {
	h := paired(t)
	h.createApp("Blog", "blog-2019")
	v := h.openApp("blog-2019")
	v.Select("Settings")
	h.wait()
	s := v.settings
	if !strings.Contains(s.oldSlugs.Text, "No old slugs") {
		t.Errorf("before a rename: %q", s.oldSlugs.Text)
	}
	typeInto(s.slug, "blog")
	h.wait()
	test.Tap(s.rename)
	h.wait()
	if !strings.Contains(s.oldSlugs.Text, "blog-2019") || !strings.Contains(s.oldSlugs.Text, "redirecting here") {
		t.Errorf("after renaming blog-2019 to blog: %q", s.oldSlugs.Text)
	}
}
