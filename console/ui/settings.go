package ui

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/shared"
)

// settingsTab edits name and description, renames the slug in two steps
// (check, then confirm a takeover) and deletes the app.
type settingsTab struct {
	v    *appView
	view fyne.CanvasObject

	name, desc *widget.Entry
	save       *widget.Button
	saveMsg    *widget.Label

	slug        *widget.Entry
	slugStatus  *widget.Label
	rename      *widget.Button
	check       slugChecker
	lastCheck   shared.SlugCheck
	confirm     *dialog.ConfirmDialog // open takeover confirmation, if any
	deleteEntry *widget.Entry
	del         *widget.Button
	delNote     *widget.Label
	vars        *varsSection
	oldSlugs    *widget.Label // the slugs that redirect here
}

func newSettingsTab(v *appView) *settingsTab {
	t := &settingsTab{v: v, name: widget.NewEntry(), desc: widget.NewMultiLineEntry(), saveMsg: newMsg(),
		slug: widget.NewEntry(), slugStatus: widget.NewLabel(""), deleteEntry: widget.NewEntry(), delNote: widget.NewLabel("")}
	t.desc.SetMinRowsVisible(3)
	t.desc.Wrapping = fyne.TextWrapWord
	t.save = widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), t.saveDetails)
	t.slugStatus.Wrapping = fyne.TextWrapWord
	t.delNote.Wrapping = fyne.TextWrapWord
	t.check = slugChecker{env: v.env, ref: v.ref, show: t.showCheck}
	t.slug.OnChanged = func(s string) {
		t.rename.Disable()
		t.check.check(strings.TrimSpace(s))
	}
	t.rename = widget.NewButtonWithIcon("Rename", theme.DocumentCreateIcon(), t.doRename)
	t.rename.Importance = widget.HighImportance
	t.rename.Disable()
	t.del = widget.NewButtonWithIcon("Delete app", theme.DeleteIcon(), t.doDelete)
	t.del.Importance = widget.DangerImportance
	t.del.Disable()
	t.deleteEntry.OnChanged = func(s string) { t.updateDelete() }

	details := widget.NewCard("Details", "", container.NewVBox(widget.NewForm(
		widget.NewFormItem("Name", t.name),
		widget.NewFormItem("Description", t.desc),
	), container.NewHBox(t.save), t.saveMsg))
	t.oldSlugs = widget.NewLabel("")
	t.oldSlugs.Wrapping = fyne.TextWrapWord
	t.oldSlugs.Selectable = true
	rename := widget.NewCard("Slug", "Renaming keeps the old slug as a permanent redirect to this app.",
		container.NewVBox(container.NewBorder(nil, nil, nil, t.rename, t.slug), t.slugStatus, t.oldSlugs))
	danger := widget.NewCard("Delete", "Deletes the app with its domains, slug history, scripts, routes and logs.",
		container.NewVBox(t.delNote, container.NewBorder(nil, nil, nil, t.del, t.deleteEntry)))
	t.vars = newVarsSection(v)
	t.view = container.NewVScroll(container.NewVBox(details, rename, t.vars.card, moveCard(v), danger))
	return t
}

func (t *settingsTab) reload() {
	t.v.reloadApp()
	t.vars.reload()
	t.loadSlugHistory()
}

// loadSlugHistory shows the old slugs that redirect to the app.
func (t *settingsTab) loadSlugHistory() {
	v := t.v
	call(v.tasks, "load slug history", func(ctx context.Context) ([]shared.OldSlug, error) {
		return v.client.SlugHistory(ctx, v.ref)
	}, func(slugs []shared.OldSlug) { t.oldSlugs.SetText(slugHistoryText(slugs)) }, nil)
}

// slugHistoryText lists old slugs with when each was left, newest first.
func slugHistoryText(slugs []shared.OldSlug) string {
	if len(slugs) == 0 {
		return "No old slugs: nothing redirects here yet."
	}
	lines := []string{"Old slugs, each redirecting here:"}
	for _, o := range slugs {
		lines = append(lines, fmt.Sprintf("  %s  (until %s)", o.Slug, o.CreatedAt.Local().Format("2006-01-02 15:04")))
	}
	return strings.Join(lines, "\n")
}

func (t *settingsTab) setApp(a shared.App) {
	t.name.SetText(a.Name)
	t.desc.SetText(a.Description)
	t.slug.SetPlaceHolder(a.Slug)
	t.deleteEntry.SetPlaceHolder("type " + a.Slug + " to confirm")
	if a.Slug == shared.DefaultAppSlug {
		t.slug.Disable()
		t.deleteEntry.Disable()
		t.delNote.SetText("The default app always exists: it can be neither renamed nor deleted.")
	} else {
		t.slug.Enable()
		t.deleteEntry.Enable()
		t.delNote.SetText(fmt.Sprintf("Type the slug “%s” to enable the button.", a.Slug))
	}
	t.updateDelete()
}

func (t *settingsTab) updateDelete() {
	if t.v.app.Slug != shared.DefaultAppSlug && t.deleteEntry.Text == t.v.app.Slug {
		t.del.Enable()
	} else {
		t.del.Disable()
	}
}

func (t *settingsTab) saveDetails() {
	v := t.v
	name, desc := strings.TrimSpace(t.name.Text), t.desc.Text
	req := shared.UpdateAppRequest{Name: &name, Description: &desc}
	call(v.tasks, "save app", func(ctx context.Context) (shared.App, error) {
		return v.client.UpdateApp(ctx, v.ref, req)
	}, func(a shared.App) {
		showMsg(t.saveMsg, "Saved.", widget.SuccessImportance)
		v.setApp(a)
	}, func(err error) bool {
		showMsg(t.saveMsg, Message(err), widget.DangerImportance)
		return true
	})
}

func (t *settingsTab) showCheck(sc shared.SlugCheck) {
	t.lastCheck = sc
	t.slugStatus.SetText(slugStatusText(sc, false))
	t.slugStatus.Importance = slugImportance(sc.Status)
	t.slugStatus.Refresh()
	switch sc.Status {
	case shared.SlugAvailable, shared.SlugOwnHistory, shared.SlugReserved:
		t.rename.Enable()
	default:
		t.rename.Disable()
	}
}

// doRename is step two: available and own_history rename at once; reserved
// asks first, then sends the confirm token from the check.
func (t *settingsTab) doRename() {
	sc := t.lastCheck
	if sc.Slug != strings.TrimSpace(t.slug.Text) {
		return // a newer check is on its way
	}
	switch sc.Status {
	case shared.SlugAvailable, shared.SlugOwnHistory:
		t.patchSlug(sc.Slug, "")
	case shared.SlugReserved:
		msg := fmt.Sprintf("“%s” is an old slug of app “%s”, which redirects from it.\n"+
			"Taking it over removes that redirect: links to /%s will reach this app instead.\n\nTake it over?",
			sc.Slug, sc.HeldBy, sc.Slug)
		t.confirm = dialog.NewConfirm("Take over slug “"+sc.Slug+"”?", msg, func(ok bool) {
			t.confirm = nil
			if ok {
				t.patchSlug(sc.Slug, sc.ConfirmToken)
			}
		}, t.v.win)
		t.confirm.SetConfirmText("Take over")
		t.confirm.Show()
	}
}

func (t *settingsTab) patchSlug(slug, token string) {
	v := t.v
	old := v.app.Slug
	req := shared.UpdateAppRequest{Slug: &slug, ConfirmToken: token}
	call(v.tasks, "rename app", func(ctx context.Context) (shared.App, error) {
		return v.client.UpdateApp(ctx, v.ref, req)
	}, func(a shared.App) {
		t.slug.SetText("")
		t.slugStatus.SetText(fmt.Sprintf("Renamed %s to %s. The old slug keeps redirecting here.", old, a.Slug))
		t.slugStatus.Importance = widget.SuccessImportance
		t.slugStatus.Refresh()
		t.rename.Disable()
		v.setApp(a)
		t.loadSlugHistory()
	}, func(err error) bool {
		t.slugStatus.SetText(Message(err))
		t.slugStatus.Importance = widget.DangerImportance
		t.slugStatus.Refresh()
		return true
	})
}

func (t *settingsTab) doDelete() {
	v := t.v
	a := v.app
	if t.deleteEntry.Text != a.Slug {
		return
	}
	call(v.tasks, "delete app", func(ctx context.Context) (struct{}, error) {
		return struct{}{}, v.client.DeleteApp(ctx, v.ref)
	}, func(struct{}) {
		v.info(fmt.Sprintf("deleted app %s (%s)", a.Name, a.Slug))
		v.nv.showApps()
	}, func(err error) bool {
		t.delNote.SetText(Message(err))
		t.delNote.Importance = widget.DangerImportance
		t.delNote.Refresh()
		return true
	})
}
