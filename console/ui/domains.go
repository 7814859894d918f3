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

// domainsTab lists the app's claims, adds and removes them.
type domainsTab struct {
	v       *appView
	view    fyne.CanvasObject
	list    *fyne.Container
	pattern *widget.Entry
	add     *widget.Button
	msg     *widget.Label // result of the last add/remove, beside the form
	domains []shared.Domain
}

func newDomainsTab(v *appView) *domainsTab {
	t := &domainsTab{v: v, list: container.NewVBox(), pattern: widget.NewEntry(), msg: newMsg()}
	t.pattern.SetPlaceHolder("api.example.com or *.example.com")
	t.pattern.OnSubmitted = func(string) { t.submit() }
	t.add = widget.NewButtonWithIcon("Add domain", theme.ContentAddIcon(), t.submit)
	help := widget.NewLabel("An exact host, or *.suffix for every subdomain at any depth (not the suffix itself). " +
		"Two apps can never claim the same pattern.")
	help.Wrapping = fyne.TextWrapWord
	form := container.NewBorder(nil, nil, nil, t.add, t.pattern)
	t.view = container.NewBorder(container.NewVBox(form, t.msg, help, widget.NewSeparator()), nil, nil, nil, container.NewVScroll(t.list))
	return t
}

func (t *domainsTab) reload() {
	v := t.v
	call(v.tasks, "load domains", func(ctx context.Context) ([]shared.Domain, error) {
		return v.client.Domains(ctx, v.ref)
	}, t.render, nil)
}

func (t *domainsTab) render(ds []shared.Domain) {
	t.domains = ds
	objs := []fyne.CanvasObject{}
	for _, d := range ds {
		d := d
		rm := widget.NewButtonWithIcon("Remove", theme.DeleteIcon(), func() {
			t.v.confirm("Remove domain "+d.Pattern+"?", "The app stops answering on it; routes naming it must go first.", func() { t.remove(d) })
		})
		rm.Importance = widget.LowImportance
		objs = append(objs, container.NewBorder(nil, nil, nil, rm,
			widget.NewLabelWithStyle(d.Pattern, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})))
	}
	if len(objs) == 0 {
		objs = append(objs, widget.NewLabel("This app claims no domain yet: its scripts answer only through Run."))
	}
	t.list.Objects = objs
	t.list.Refresh()
}

func (t *domainsTab) setMsg(s string, imp widget.Importance) {
	showMsg(t.msg, s, imp)
}

func (t *domainsTab) submit() {
	p := strings.TrimSpace(t.pattern.Text)
	if p == "" {
		return
	}
	v := t.v
	call(v.tasks, "add domain", func(ctx context.Context) (shared.Domain, error) {
		return v.client.AddDomain(ctx, v.ref, p)
	}, func(d shared.Domain) {
		t.pattern.SetText("")
		t.setMsg("Added "+d.Pattern+".", widget.SuccessImportance)
		t.reload()
		v.reloadApp()
	}, func(err error) bool {
		t.setMsg(domainError(p, err), widget.DangerImportance)
		return true
	})
}

func (t *domainsTab) remove(d shared.Domain) {
	v := t.v
	call(v.tasks, "remove domain", func(ctx context.Context) (struct{}, error) {
		return struct{}{}, v.client.DeleteDomain(ctx, v.ref, d.ID)
	}, func(struct{}) {
		t.setMsg("Removed "+d.Pattern+".", widget.SuccessImportance)
		t.reload()
		v.reloadApp()
	}, func(err error) bool {
		t.setMsg(domainError(d.Pattern, err), widget.DangerImportance)
		return true
	})
}

// domainError explains the domain conflicts in the user's terms.
func domainError(pattern string, err error) string {
	e, ok := shared.AsError(err)
	if !ok {
		return Message(err)
	}
	switch e.Code {
	case shared.CodeDomainClaimed:
		return fmt.Sprintf("%s is already claimed by app “%s”. Remove it there first; two apps can never claim the same pattern.",
			pattern, e.Detail("held_by"))
	case shared.CodeDomainInUse:
		return fmt.Sprintf("%s cannot be removed: a route of this app names a host only this claim covers (%s). "+
			"Remove or change that route first.", pattern, e.Message)
	case shared.CodeInvalidDomain:
		return fmt.Sprintf("“%s” is not a valid domain pattern: %s", pattern, e.Message)
	}
	return Message(err)
}
