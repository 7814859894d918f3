package ui

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/shared"
)

const (
	logPage         = 100
	logAutoInterval = 3 * time.Second
)

// logsTab shows the app's executions newest first, filtered by script,
// optionally refreshing itself, with a detail pane for one execution.
type logsTab struct {
	v    *appView
	view fyne.CanvasObject

	filter  *widget.Select
	auto    *widget.Check
	list    *fyne.Container
	more    *widget.Button
	detail  *widget.Label
	output  *widget.Label
	errText *widget.Label

	scripts  []shared.Script
	scriptID int64 // 0 = all
	logs     []shared.Log
	autoStop context.CancelFunc
	interval time.Duration // of auto-refresh
	live     *liveTail     // Live mode (livetail.go)
}

func newLogsTab(v *appView) *logsTab {
	t := &logsTab{v: v, list: container.NewVBox(), detail: widget.NewLabel("Select an execution."),
		output: widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Monospace: true}), errText: widget.NewLabel(""), interval: logAutoInterval}
	t.errText.Importance = widget.DangerImportance
	t.errText.Wrapping = fyne.TextWrapWord
	t.detail.Wrapping = fyne.TextWrapWord
	t.filter = widget.NewSelect([]string{"All scripts"}, func(s string) { t.setFilter(s) })
	t.filter.SetSelectedIndex(0)
	t.auto = widget.NewCheck("Auto-refresh", t.setAuto)
	refresh := widget.NewButtonWithIcon("Refresh", theme.ViewRefreshIcon(), t.reload)
	t.more = widget.NewButton("Older…", t.loadOlder)
	t.more.Hide()
	t.live = newLiveTail(t)
	bar := container.NewVBox(container.NewHBox(widget.NewLabel("Script"), t.filter, t.auto, refresh), t.live.controls)
	left := container.NewBorder(nil, t.more, nil, nil, container.NewVScroll(t.list))
	right := container.NewVScroll(container.NewVBox(bold("Execution"), t.detail, t.errText, bold("Console output"), t.output))
	split := container.NewHSplit(left, right)
	split.Offset = 0.55
	t.view = container.NewBorder(bar, nil, nil, nil, split)
	return t
}

func (t *logsTab) setFilter(name string) {
	t.scriptID = 0
	for _, s := range t.scripts {
		if s.Name == name {
			t.scriptID = s.ID
		}
	}
	if t.live != nil && t.live.stop != nil {
		t.live.restart()
		return
	}
	if t.v.tabs != nil {
		t.reload()
	}
}

// FilterScript restricts the list to one script ("" = all scripts).
func (t *logsTab) FilterScript(name string) {
	if name == "" {
		t.filter.SetSelectedIndex(0)
		return
	}
	t.filter.SetSelected(name)
}

func (t *logsTab) setAuto(on bool) {
	if t.autoStop != nil {
		t.autoStop()
		t.autoStop = nil
	}
	if !on {
		return
	}
	if t.live.stop != nil {
		t.live.on.SetChecked(false) // polling replaces Live
	}
	ctx, cancel := context.WithCancel(t.v.ctx)
	t.autoStop = cancel
	go func() {
		tick := time.NewTicker(t.interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				t.v.post(func() {
					if ctx.Err() == nil {
						t.reload()
					}
				})
			}
		}
	}()
}

type logsPage struct {
	scripts []shared.Script
	logs    []shared.Log
}

func (t *logsTab) fetch(before int64) func(ctx context.Context) (logsPage, error) {
	v, id := t.v, t.scriptID
	return func(ctx context.Context) (logsPage, error) {
		scripts, err := v.client.Scripts(ctx, v.ref)
		if err != nil {
			return logsPage{}, err
		}
		logs, err := v.client.Logs(ctx, v.ref, id, logPage, before)
		return logsPage{scripts, logs}, err
	}
}

func (t *logsTab) reload() {
	call(t.v.tasks, "load logs", t.fetch(0), func(p logsPage) {
		t.setScripts(p.scripts)
		if t.live.stop != nil {
			return // Live mode owns the list
		}
		t.logs = p.logs
		t.render()
	}, nil)
}

func (t *logsTab) loadOlder() {
	if len(t.logs) == 0 {
		return
	}
	call(t.v.tasks, "load older logs", t.fetch(t.logs[len(t.logs)-1].ID), func(p logsPage) {
		t.logs = append(t.logs, p.logs...)
		t.render()
	}, nil)
}

func (t *logsTab) setScripts(s []shared.Script) {
	t.scripts = s
	opts := []string{"All scripts"}
	for _, sc := range s {
		opts = append(opts, sc.Name)
	}
	t.filter.Options = opts
	t.filter.Refresh()
}

// Rows returns the log lines as shown, newest first.
func (t *logsTab) Rows() []string {
	var out []string
	for _, o := range t.list.Objects {
		if b, ok := o.(*widget.Button); ok {
			out = append(out, b.Text)
		}
	}
	return out
}

func (t *logsTab) render() {
	names := scriptNames(t.scripts)
	objs := make([]fyne.CanvasObject, 0, len(t.logs))
	for _, l := range t.logs {
		l := l
		icon := theme.ConfirmIcon()
		if failed(l) {
			icon = theme.NewErrorThemedResource(theme.ErrorIcon())
		}
		b := widget.NewButtonWithIcon(logLine(l, names), icon, func() { t.show(l) })
		b.Alignment = widget.ButtonAlignLeading
		b.Importance = widget.LowImportance
		objs = append(objs, b)
	}
	if len(objs) == 0 {
		objs = append(objs, widget.NewLabel("No executions."))
	}
	t.list.Objects = objs
	t.list.Refresh()
	if len(t.logs) > 0 && len(t.logs)%logPage == 0 {
		t.more.Show()
	} else {
		t.more.Hide()
	}
}

// show fills the detail pane with one execution.
func (t *logsTab) show(l shared.Log) {
	name := scriptNames(t.scripts)[l.ScriptID]
	if name == "" {
		name = "#" + strconv.FormatInt(l.ScriptID, 10)
	}
	route := "—"
	if l.RouteID != nil {
		route = "#" + strconv.FormatInt(*l.RouteID, 10)
	}
	t.detail.SetText(fmt.Sprintf("%s %s%s\nstatus %d · %s · %s · %s\nscript %s · trigger %s · route %s\n%s",
		l.Method, l.Host, l.Path, l.Status, formatDuration(l.DurationUS), plural(int(l.Operations), "operation"),
		pluralWord(int(l.Subrequests), "fetch", "fetches"), name, l.Trigger, route,
		l.StartedAt.Local().Format("2006-01-02 15:04:05.000")))
	t.errText.SetText(l.Error)
	out := l.Output
	if out == "" {
		out = "(none)"
	}
	t.output.SetText(out)
}
