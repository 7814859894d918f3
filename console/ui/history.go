package ui

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/shared"
)

// historyAdmin reads a script's kept versions and rolls back to one.
type historyAdmin interface {
	ScriptVersions(ctx context.Context, id int64) ([]shared.ScriptVersion, error)
	Rollback(ctx context.Context, id int64, req shared.RollbackRequest) (shared.Script, error)
}

// historyPanel is the script editor's History tab: the kept versions with
// their time, a unified diff of the selected one against the editor's
// text, and Roll back (which makes a new version with that content).
type historyPanel struct {
	s        *scriptDetail
	view     fyne.CanvasObject
	list     *fyne.Container
	diff     *widget.Label
	rollback *widget.Button
	msg      *widget.Label
	versions []shared.ScriptVersion
	selected *shared.ScriptVersion
}

func newHistoryPanel(s *scriptDetail) *historyPanel {
	h := &historyPanel{s: s, list: container.NewVBox(), msg: newMsg(),
		diff: widget.NewLabelWithStyle("Select a version to compare it with the editor.", fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})}
	h.rollback = widget.NewButtonWithIcon("Roll back", theme.HistoryIcon(), h.doRollback)
	h.rollback.Disable()
	refresh := widget.NewButtonWithIcon("Refresh", theme.ViewRefreshIcon(), h.reload)
	top := container.NewVBox(container.NewHBox(refresh, h.rollback), h.msg, container.NewGridWrap(fyne.NewSize(320, 180), container.NewVScroll(h.list)))
	h.view = container.NewBorder(top, nil, nil, nil, container.NewScroll(h.diff))
	return h
}

func (h *historyPanel) reload() {
	c, id := h.s.t.v.client, h.s.script.ID
	call(h.s.t.v.tasks, "load versions", func(ctx context.Context) ([]shared.ScriptVersion, error) {
		return c.ScriptVersions(ctx, id)
	}, h.render, nil)
}

// Versions returns the list's rows as shown, newest first (tests).
func (h *historyPanel) Versions() []string {
	var out []string
	for _, o := range h.list.Objects {
		if b, ok := o.(*widget.Button); ok {
			out = append(out, b.Text)
		}
	}
	return out
}

func (h *historyPanel) render(vs []shared.ScriptVersion) {
	h.versions = vs
	objs := make([]fyne.CanvasObject, 0, len(vs))
	for i, v := range vs {
		v := v
		label := fmt.Sprintf("v%d  %s", v.Version, v.CreatedAt.Local().Format("2 Jan 2006 15:04:05"))
		if i == 0 {
			label += "  (current)"
		}
		b := widget.NewButton(label, func() { h.show(v) })
		b.Alignment = widget.ButtonAlignLeading
		b.Importance = widget.LowImportance
		objs = append(objs, b)
	}
	h.list.Objects = objs
	h.list.Refresh()
}

// show selects a version and diffs it against the editor's text.
func (h *historyPanel) show(v shared.ScriptVersion) {
	h.selected = &v
	h.diff.SetText(unifiedDiff(v.Source, h.s.editor.Text, fmt.Sprintf("v%d", v.Version), "editor"))
	if len(h.versions) > 0 && v.Version != h.versions[0].Version {
		h.rollback.Enable()
	} else {
		h.rollback.Disable()
	}
}

func (h *historyPanel) doRollback() {
	if h.selected == nil {
		return
	}
	c, id, ver := h.s.t.v.client, h.s.script.ID, h.selected.Version
	// Against the version this editor holds, as a save is: a rollback picked
	// from a stale list must not undo a newer save made elsewhere.
	base := h.s.script.Version
	call(h.s.t.v.tasks, "roll back", func(ctx context.Context) (shared.Script, error) {
		return c.Rollback(ctx, id, shared.RollbackRequest{Version: ver, IfVersion: &base})
	}, func(sc shared.Script) {
		h.s.editor.SetText(sc.Source)
		h.s.code.changed(sc.Source)
		h.s.setScript(sc)
		showMsg(h.msg, fmt.Sprintf("Rolled back to v%d: now v%d.", ver, sc.Version), widget.SuccessImportance)
		h.selected = nil
		h.rollback.Disable()
		h.reload()
	}, func(err error) bool {
		if cur, ok := shared.ConflictVersion(err); ok {
			showMsg(h.msg, fmt.Sprintf("Not rolled back: the script was changed elsewhere (now v%d, this editor has v%d). "+
				"Reload the script, then choose again.", cur, base), widget.DangerImportance)
			h.reload()
			return true
		}
		showMsg(h.msg, err.Error(), widget.DangerImportance)
		return true
	})
}

// maxDiffCells bounds the line-by-line comparison (lines of one × lines
// of the other), so a huge script never freezes the console.
const maxDiffCells = 4_000_000

// unifiedDiff is a whole-file unified diff of a and b by lines, from the
// longest common subsequence: "-" lines only in a, "+" only in b.
func unifiedDiff(a, b, nameA, nameB string) string {
	if a == b {
		return "No differences."
	}
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	if len(x)*len(y) > maxDiffCells {
		return "Too large to compare line by line."
	}
	lcs := make([][]int32, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int32, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", nameA, nameB)
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			out.WriteString("  " + x[i] + "\n")
			i, j = i+1, j+1
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			out.WriteString("- " + x[i] + "\n")
			i++
		default:
			out.WriteString("+ " + y[j] + "\n")
			j++
		}
	}
	return strings.TrimSuffix(out.String(), "\n")
}
