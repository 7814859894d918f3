package ui

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/console/nodes"
	"github.com/picloud/picloud/shared"
)

// nodeView is the selected, paired node: its apps and everything below.
type nodeView struct {
	env
	c      *Console
	entry  *nodes.Entry
	ctx    context.Context // ends when another node (or none) is shown
	cancel context.CancelFunc
	// lastAnswer is when the node last answered a call of these views.
	lastAnswer time.Time

	apps    *appsView
	app     *appView     // open app, nil on the apps list
	cluster *clusterView // the Cluster view when last shown (cluster.go)
}

func (c *Console) openNode(nv *nodeView) {
	if c.cur != nil {
		c.cur.close()
	}
	nv.ctx, nv.cancel = context.WithCancel(c.ctx)
	nv.tasks = c.tasks.within(nv.ctx)
	nv.tasks.answered = func() {
		nv.lastAnswer = time.Now()
		c.showBanner()
	}
	c.cur = nv
	nv.showApps()
}

func (nv *nodeView) close() {
	if nv.app != nil {
		nv.app.close()
	}
	nv.cancel()
}

func (nv *nodeView) crumb() crumb {
	return crumb{label: nv.entry.Title(), open: nv.showApps}
}

// appsView lists the node's apps and creates new ones.
type appsView struct {
	env
	nv *nodeView

	list *fyne.Container
	// search narrows the list by name, slug or domain as you type.
	search *widget.Entry
	apps   []shared.App

	name, slug, desc *widget.Entry
	slugStatus       *widget.Label
	create           *widget.Button
	check            slugChecker
	lastCheck        shared.SlugCheck
	confirm          *dialog.ConfirmDialog // open takeover confirmation, if any
}

func (nv *nodeView) showApps() {
	if nv.app != nil {
		nv.app.close()
		nv.app = nil
	}
	v := &appsView{env: nv.env, nv: nv, list: container.NewVBox()}
	nv.apps = v
	v.name = widget.NewEntry()
	v.name.SetPlaceHolder("My blog")
	v.slug = widget.NewEntry()
	v.slug.SetPlaceHolder("derived from the name")
	v.desc = widget.NewEntry()
	v.desc.SetPlaceHolder("optional")
	v.slugStatus = widget.NewLabel("")
	v.slugStatus.Wrapping = fyne.TextWrapWord
	v.create = widget.NewButtonWithIcon("Create app", theme.ContentAddIcon(), v.submit)
	v.create.Importance = widget.HighImportance
	// A new app has no id yet: slugs are checked against the default app,
	// whose own slug and history therefore count as taken / reserved.
	v.check = slugChecker{env: nv.env, ref: shared.DefaultAppSlug, forNew: true, show: v.showCheck}
	v.name.OnChanged = func(string) {
		if strings.TrimSpace(v.slug.Text) == "" {
			v.check.check(shared.DeriveSlug(v.name.Text))
		}
	}
	v.slug.OnChanged = func(s string) {
		s = strings.TrimSpace(s)
		if s == "" {
			s = shared.DeriveSlug(v.name.Text)
		}
		v.check.check(s)
	}
	form := widget.NewForm(
		widget.NewFormItem("Name", v.name),
		widget.NewFormItem("Slug", v.slug),
		widget.NewFormItem("", v.slugStatus),
		widget.NewFormItem("Description", v.desc),
	)
	importMsg := newMsg()
	newCard := widget.NewCard("New app", "", container.NewVBox(form, container.NewHBox(v.create, importButton(v, importMsg), clusterButton(nv)), importMsg))

	v.search = widget.NewEntry()
	v.search.SetPlaceHolder("search apps by name, slug or domain")
	v.search.ActionItem = widget.NewIcon(theme.SearchIcon())
	v.search.OnChanged = func(string) { v.render(v.apps) }
	v.search.OnSubmitted = func(string) { v.openOnlyMatch() }
	header := container.NewGridWithColumns(4, bold("Name"), bold("Slug"), bold("Domains"), bold("Scripts"))
	body := container.NewBorder(container.NewVBox(newCard, widget.NewSeparator(), v.search, header), nil, nil, nil, container.NewVScroll(v.list))
	nv.c.setContent(body, nv.crumb())
	v.reload()
}

func bold(s string) *widget.Label {
	return widget.NewLabelWithStyle(s, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
}

func (v *appsView) reload() {
	call(v.tasks, "load apps", v.client.ListApps, v.render, nil)
}

// Rows returns the apps as shown: "name slug domains scripts".
func (v *appsView) Rows() []string {
	var out []string
	for _, o := range v.list.Objects {
		row, ok := o.(*fyne.Container)
		if !ok || len(row.Objects) != 4 {
			continue
		}
		var cells []string
		for _, cell := range row.Objects {
			switch w := cell.(type) {
			case *widget.Button:
				cells = append(cells, w.Text)
			case *widget.Label:
				cells = append(cells, w.Text)
			}
		}
		out = append(out, strings.Join(cells, " "))
	}
	return out
}

func (v *appsView) render(apps []shared.App) {
	v.apps = apps
	q := strings.ToLower(strings.TrimSpace(v.search.Text))
	objs := make([]fyne.CanvasObject, 0, len(apps))
	for _, a := range apps {
		if q != "" && !appMatches(a, q) {
			continue
		}
		ref := strconv.FormatInt(a.ID, 10)
		open := widget.NewButton(a.Name, func() { v.nv.openApp(ref) })
		open.Alignment = widget.ButtonAlignLeading
		open.Importance = widget.LowImportance
		objs = append(objs, container.NewGridWithColumns(4, open,
			widget.NewLabelWithStyle(a.Slug, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true}),
			widget.NewLabel(strconv.Itoa(a.DomainCount)), widget.NewLabel(strconv.Itoa(a.ScriptCount))))
	}
	switch {
	case len(apps) == 0:
		objs = append(objs, widget.NewLabel("No apps yet."))
	case len(objs) == 0:
		objs = append(objs, widget.NewLabel(fmt.Sprintf("No app matches “%s”.", v.search.Text)))
	}
	v.list.Objects = objs
	v.list.Refresh()
}

// openOnlyMatch opens the app the search narrowed the list to (Enter).
func (v *appsView) openOnlyMatch() {
	q := strings.ToLower(strings.TrimSpace(v.search.Text))
	var only []shared.App
	for _, a := range v.apps {
		if q != "" && appMatches(a, q) {
			only = append(only, a)
		}
	}
	if len(only) == 1 {
		v.nv.openApp(strconv.FormatInt(only[0].ID, 10))
	}
}

// appMatches: q (lower case) is in the app's name, slug, description or
// one of its domains.
func appMatches(a shared.App, q string) bool {
	for _, s := range []string{a.Name, a.Slug, a.Description} {
		if strings.Contains(strings.ToLower(s), q) {
			return true
		}
	}
	for _, d := range a.Domains {
		if strings.Contains(d.Pattern, q) {
			return true
		}
	}
	return false
}

func (v *appsView) showCheck(sc shared.SlugCheck) {
	v.lastCheck = sc
	v.slugStatus.SetText(slugStatusText(sc, true))
	v.slugStatus.Importance = slugImportance(sc.Status)
	v.slugStatus.Refresh()
}

func (v *appsView) submit() {
	req := shared.CreateAppRequest{Name: strings.TrimSpace(v.name.Text), Slug: strings.TrimSpace(v.slug.Text), Description: strings.TrimSpace(v.desc.Text)}
	if req.Name == "" {
		v.slugStatus.SetText("The app needs a name.")
		v.slugStatus.Importance = widget.DangerImportance
		v.slugStatus.Refresh()
		return
	}
	v.createApp(req)
}

// confirmCreateTakeover is step two of creating an app with a reserved
// slug: the node refused with 409 slug_reserved and a confirm token; the
// user decides, and only then is the token sent.
func (v *appsView) confirmCreateTakeover(req shared.CreateAppRequest, e *shared.Error) {
	slug, heldBy := req.Slug, e.Detail("held_by")
	if slug == "" {
		slug = shared.DeriveSlug(req.Name)
	}
	msg := fmt.Sprintf("“%s” is an old slug of app “%s”, which redirects from it.\n"+
		"Creating this app with it removes that redirect.\n\nTake it over?", slug, heldBy)
	v.confirm = dialog.NewConfirm("Take over slug “"+slug+"”?", msg, func(ok bool) {
		v.confirm = nil
		if ok {
			req.Slug, req.ConfirmToken = slug, e.Detail("confirm_token")
			v.createApp(req)
		}
	}, v.win)
	v.confirm.SetConfirmText("Take over")
	v.confirm.Show()
}

func (v *appsView) createApp(req shared.CreateAppRequest) {
	call(v.tasks, "create app", func(ctx context.Context) (shared.App, error) {
		return v.client.CreateApp(ctx, req)
	}, func(a shared.App) {
		v.info(fmt.Sprintf("created app %s (%s)", a.Name, a.Slug))
		v.name.SetText("")
		v.slug.SetText("")
		v.desc.SetText("")
		v.slugStatus.SetText("")
		v.reload()
		v.nv.showApp(a) // creating an app is the first step of working on it
	}, func(err error) bool {
		if e, ok := shared.AsError(err); ok && e.Code == shared.CodeSlugReserved && e.Detail("confirm_token") != "" && req.ConfirmToken == "" {
			v.confirmCreateTakeover(req, e)
			return true
		}
		v.slugStatus.SetText(Message(err))
		v.slugStatus.Importance = widget.DangerImportance
		v.slugStatus.Refresh()
		return false
	})
}

// slugChecker runs slug:check as the user types. Answers can come back out
// of order; only the answer to the latest request is shown.
type slugChecker struct {
	env
	ref    string // the app the slug is checked for
	forNew bool   // checking for an app not yet created (via the default app)
	show   func(shared.SlugCheck)
	seq    int
}

func (s *slugChecker) check(slug string) {
	s.seq++
	seq := s.seq
	if slug == "" {
		s.show(shared.SlugCheck{})
		return
	}
	if err := shared.ValidateSlug(slug); err != nil {
		s.show(shared.SlugCheck{Slug: slug, Status: shared.SlugInvalid, Message: Message(err)})
		return
	}
	call(s.tasks, "check slug", func(ctx context.Context) (shared.SlugCheck, error) {
		return s.client.CheckSlug(ctx, s.ref, slug)
	}, func(sc shared.SlugCheck) {
		if seq != s.seq {
			return
		}
		if s.forNew {
			// Relative to the default app: its slug is taken, its history reserved.
			switch sc.Status {
			case shared.SlugCurrent:
				sc.Status, sc.HeldBy = shared.SlugTaken, shared.DefaultAppSlug
			case shared.SlugOwnHistory:
				sc.Status, sc.HeldBy = shared.SlugReserved, shared.DefaultAppSlug
			}
		}
		s.show(sc)
	}, func(err error) bool {
		if seq != s.seq {
			return true
		}
		if e, ok := shared.AsError(err); ok && e.Code == shared.CodeInvalidSlug {
			s.show(shared.SlugCheck{Slug: slug, Status: shared.SlugInvalid, Message: e.Message})
			return true
		}
		return false
	})
}

// slugStatusText explains a slug:check answer in one sentence.
func slugStatusText(sc shared.SlugCheck, forNew bool) string {
	switch sc.Status {
	case "":
		return ""
	case shared.SlugCurrent:
		return fmt.Sprintf("“%s” is this app's current slug.", sc.Slug)
	case shared.SlugAvailable:
		return fmt.Sprintf("✔ “%s” is available.", sc.Slug)
	case shared.SlugOwnHistory:
		return fmt.Sprintf("✔ “%s” is an old slug of this app: taking it back removes that redirect.", sc.Slug)
	case shared.SlugReserved:
		if forNew {
			return fmt.Sprintf("⚠ “%s” is reserved: an old slug of app %s, which redirects from it. Taking it over needs a confirmation.", sc.Slug, sc.HeldBy)
		}
		return fmt.Sprintf("⚠ “%s” is reserved: an old slug of app %s. Taking it over removes %s's redirect and needs a confirmation.", sc.Slug, sc.HeldBy, sc.HeldBy)
	case shared.SlugTaken:
		return fmt.Sprintf("✖ “%s” is taken: it is the current slug of app %s.", sc.Slug, sc.HeldBy)
	case shared.SlugInvalid:
		msg := sc.Message
		if msg == "" {
			msg = "slugs are 1–63 of a-z, 0-9 and -, not starting or ending with -"
		}
		return fmt.Sprintf("✖ “%s” is invalid: %s", sc.Slug, msg)
	}
	return sc.Status
}

func slugImportance(status string) widget.Importance {
	switch status {
	case shared.SlugAvailable, shared.SlugOwnHistory:
		return widget.SuccessImportance
	case shared.SlugReserved:
		return widget.WarningImportance
	case shared.SlugTaken, shared.SlugInvalid:
		return widget.DangerImportance
	}
	return widget.MediumImportance
}
