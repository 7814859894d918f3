package ui

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/shared"
)

// appView is one app with its tabs. ref is the app's id, so a rename in
// the Settings tab never breaks the other tabs.
type appView struct {
	env
	nv  *nodeView
	ref string
	app shared.App

	ctx    context.Context // ends when the view closes (stops auto-refresh)
	cancel context.CancelFunc

	tabs     *container.AppTabs
	sections []section
	shown    string // the tab on screen, as selected last
	overview *overviewTab
	scripts  *scriptsTab
	domains  *domainsTab
	sched    *schedulesTab
	egress   *egressTab
	kv       *kvTab
	settings *settingsTab
	logs     *logsTab
}

// OpenApp opens an app of the current node by id, slug or old slug; an old
// slug follows the node's 308 to the app's current slug.
func (c *Console) OpenApp(ref string) {
	if c.cur == nil {
		c.report("open app: no node selected", true)
		return
	}
	c.cur.openApp(ref)
}

func (nv *nodeView) openApp(ref string) {
	call(nv.tasks, "open app", func(ctx context.Context) (shared.App, error) {
		return nv.client.App(ctx, ref)
	}, func(a shared.App) {
		if nv.c.cur == nv { // the user may have moved to another node meanwhile
			nv.showApp(a)
		}
	}, nil)
}

func (nv *nodeView) showApp(a shared.App) {
	if nv.app != nil {
		nv.app.close()
	}
	ctx, cancel := context.WithCancel(nv.ctx)
	v := &appView{env: nv.env, nv: nv, ref: strconv.FormatInt(a.ID, 10), app: a, ctx: ctx, cancel: cancel}
	v.tasks = nv.tasks.within(ctx)
	nv.app = v
	v.overview = newOverviewTab(v)
	v.scripts = newScriptsTab(v)
	v.domains = newDomainsTab(v)
	v.sched = newSchedulesTab(v)
	v.egress = newEgressTab(v)
	v.kv = newKVTab(v)
	v.settings = newSettingsTab(v)
	v.logs = newLogsTab(v)
	// The app's tabs, in order: a feature adds its tab with one line here
	// (see "Adding a view" in docs/architecture.md).
	v.sections = []section{
		{"Overview", v.overview.view, v.overview.reload},
		{"Scripts", v.scripts.view, v.scripts.reload},
		{"Domains", v.domains.view, v.domains.reload},
		{"Schedules", v.sched.view, v.sched.reload},
		{"Egress", v.egress.view, v.egress.reload},
		{"Data", v.kv.view, v.kv.reload},
		{"Settings", v.settings.view, v.settings.reload},
		{"Logs", v.logs.view, v.logs.reload},
	}
	v.tabs = container.NewAppTabs()
	for _, s := range v.sections {
		v.tabs.Append(container.NewTabItem(s.name, s.view))
	}
	v.shown = v.sections[0].name
	v.tabs.OnSelected = func(t *container.TabItem) { v.selected(t.Text) }
	v.showCrumbs()
	v.setApp(a)
	v.overview.reload()
}

func (v *appView) close() { v.cancel() }

func (v *appView) crumb() crumb {
	return crumb{label: v.app.Name + " (" + v.app.Slug + ")", open: func() {
		v.scripts.showList()
		v.tabs.SelectIndex(0)
		v.showCrumbs()
	}}
}

func (v *appView) showCrumbs() {
	v.nv.c.setContent(v.tabs, v.nv.crumb(), v.crumb())
}

// section is one tab of the app view: its name, its content, and how it
// loads fresh data each time it is shown.
type section struct {
	name   string
	view   fyne.CanvasObject
	reload func()
}

// selected reloads a tab when it is shown, so it never shows stale data.
// Leaving a script with unsaved edits goes back to it and asks first.
func (v *appView) selected(tab string) {
	if v.shown == "Scripts" && tab != "Scripts" && v.scripts.detail != nil && v.scripts.detail.dirty() {
		v.shown = "" // the reselect below is not a visit
		v.Select("Scripts")
		v.shown = "Scripts"
		v.scripts.detail.askSave(func() { v.Select(tab) })
		return
	}
	if v.shown == "" && tab == "Scripts" && v.scripts.detail != nil {
		v.updateCrumbs()
		return
	}
	if v.shown != tab {
		v.nv.c.navigated()
	}
	v.shown = tab
	for _, s := range v.sections {
		if s.name == tab {
			s.reload()
		}
	}
	v.updateCrumbs()
}

// current reports whether this view is still on screen; answers for a
// view the user left must not touch the breadcrumb.
func (v *appView) current() bool { return v.nv.c.cur == v.nv && v.nv.app == v }

// setCrumbsFor sets node › app, or node › app › script.
func (v *appView) setCrumbsFor(sc *shared.Script) {
	if !v.current() {
		return
	}
	if sc == nil {
		v.nv.c.setCrumbs(v.nv.crumb(), v.crumb())
		return
	}
	v.nv.c.setCrumbs(v.nv.crumb(), v.crumb(), crumb{label: sc.Name})
}

// Select shows the named tab ("Overview", "Scripts", ...).
func (v *appView) Select(tab string) {
	for i, t := range v.tabs.Items {
		if t.Text == tab {
			v.tabs.SelectIndex(i)
			return
		}
	}
}

// setApp records a fresh copy of the app (after load, rename, edit).
func (v *appView) setApp(a shared.App) {
	v.app = a
	v.overview.setApp(a)
	v.settings.setApp(a)
	v.updateCrumbs()
}

// updateCrumbs shows node › app, plus › script while the Scripts tab shows
// one script.
func (v *appView) updateCrumbs() {
	if d := v.scripts.detail; d != nil && v.tabs.Selected() != nil && v.tabs.Selected().Text == "Scripts" {
		v.setCrumbsFor(&d.script)
		return
	}
	v.setCrumbsFor(nil)
}

func (v *appView) reloadApp() {
	call(v.tasks, "load app", func(ctx context.Context) (shared.App, error) {
		return v.client.App(ctx, v.ref)
	}, v.setApp, nil)
}

// overviewTab: the app at a glance, recent executions and a chart.
type overviewTab struct {
	v      *appView
	view   fyne.CanvasObject
	title  *widget.Label
	slug   *widget.Label
	desc   *widget.Label
	counts *widget.Label
	recent *fyne.Container
	chart  *barChart
}

func newOverviewTab(v *appView) *overviewTab {
	t := &overviewTab{v: v, title: widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		slug: widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Monospace: true}),
		desc: widget.NewLabel(""), counts: widget.NewLabel(""), recent: container.NewVBox(), chart: newBarChart()}
	t.desc.Wrapping = fyne.TextWrapWord
	info := widget.NewForm(
		widget.NewFormItem("Name", t.title),
		widget.NewFormItem("Slug", t.slug),
		widget.NewFormItem("Description", t.desc),
		widget.NewFormItem("", t.counts),
	)
	chartCard := widget.NewCard("Executions and errors", "", t.chart)
	recentCard := widget.NewCard("Recent executions", "", t.recent)
	t.view = container.NewVScroll(container.NewVBox(info, chartCard, recentCard))
	return t
}

func (t *overviewTab) setApp(a shared.App) {
	t.title.SetText(a.Name)
	t.slug.SetText(a.Slug)
	desc := a.Description
	if desc == "" {
		desc = "—"
	}
	t.desc.SetText(desc)
	domains := a.DomainCount
	if len(a.Domains) > domains {
		domains = len(a.Domains)
	}
	t.counts.SetText(plural(domains, "domain") + " · " + plural(a.ScriptCount, "script") + " · " + plural(a.RouteCount, "route"))
}

func (t *overviewTab) reload() {
	v := t.v
	v.reloadApp()
	type data struct {
		logs    []shared.Log
		scripts []shared.Script
	}
	call(v.tasks, "load executions", func(ctx context.Context) (data, error) {
		logs, err := v.client.Logs(ctx, v.ref, 0, 500, 0)
		if err != nil {
			return data{}, err
		}
		scripts, err := v.client.Scripts(ctx, v.ref)
		return data{logs, scripts}, err
	}, func(d data) {
		t.chart.set(bucketLogs(d.logs, 24, time.Now()))
		names := scriptNames(d.scripts)
		objs := []fyne.CanvasObject{logHeader()}
		now := time.Now()
		for i, l := range d.logs {
			if i == 10 {
				break
			}
			l := l
			b := widget.NewButton("", func() {
				// Open it in the Logs tab, with its detail.
				v.Select("Logs")
				v.logs.show(l)
			})
			b.Importance = widget.LowImportance
			objs = append(objs, logListRow(b, l, names, now))
		}
		if len(objs) == 1 {
			objs = []fyne.CanvasObject{widget.NewLabel("No executions yet: call a route, or Run a script.")}
		}
		t.recent.Objects = objs
		t.recent.Refresh()
	}, nil)
}

func scriptNames(scripts []shared.Script) map[int64]string {
	m := make(map[int64]string, len(scripts))
	for _, s := range scripts {
		m[s.ID] = s.Name
	}
	return m
}

// logLine is one execution in a list: time, status, duration, request, script.
func logLine(l shared.Log, names map[int64]string) string {
	name := names[l.ScriptID]
	if name == "" {
		name = "#" + strconv.FormatInt(l.ScriptID, 10)
	}
	mark := " "
	if failed(l) {
		mark = "!"
	}
	method, path := l.Method, l.Path
	if l.Trigger == shared.TriggerCron { // a scheduled run has no request
		method, path = "cron", "scheduled()"
		if l.Error == shared.SkippedStillRunning {
			path = l.Error
		}
	}
	return fmt.Sprintf("%s %s %3d %8s  %-6s %s  [%s]", mark, l.StartedAt.Local().Format("15:04:05"), l.Status,
		formatDuration(l.DurationUS), method, path, name)
}

func formatDuration(us int64) string {
	d := time.Duration(us) * time.Microsecond
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", us)
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(us)/1000)
	}
	return d.Round(10 * time.Millisecond).String()
}
