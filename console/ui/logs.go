package ui

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
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

	filter *widget.Select
	auto   *widget.Check
	// wholeCluster merges every member's logs (cluster_logs.go)
	wholeCluster *widget.Check
	list         *fyne.Container
	more         *widget.Button
	count        *widget.Label // "12 of 100 loaded" while a filter hides some
	detail       *widget.Label
	output       *widget.Label
	errText      *widget.Label
	openAt       *widget.Button // opens the failing line in the editor
	copyAll      *widget.Button

	scripts  []shared.Script
	scriptID int64 // 0 = all
	logs     []shared.Log
	autoStop context.CancelFunc
	interval time.Duration // of auto-refresh
	live     *liveTail     // Live mode (livetail.go)
	// selected is the execution in the detail pane (0: none); it stays
	// selected across refreshes while it is still listed.
	selected int64
	shown    []shared.Log // t.logs through the filters, as listed
	listed   string       // what the list's widgets show (render skips an unchanged list)
	now      func() time.Time
}

func newLogsTab(v *appView) *logsTab {
	t := &logsTab{v: v, list: container.NewVBox(), detail: widget.NewLabel("Select an execution."),
		output: widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Monospace: true}), errText: widget.NewLabel(""),
		count: widget.NewLabel(""), interval: logAutoInterval, now: time.Now}
	t.errText.Importance = widget.DangerImportance
	t.errText.Wrapping = fyne.TextWrapWord
	t.detail.Wrapping = fyne.TextWrapWord
	t.output.Wrapping = fyne.TextWrapBreak
	for _, l := range []*widget.Label{t.detail, t.errText, t.output} {
		l.Selectable = true // select and copy any part of it
	}
	t.openAt = widget.NewButtonWithIcon("", theme.DocumentIcon(), nil)
	t.openAt.Hide()
	t.copyAll = widget.NewButtonWithIcon("Copy", theme.ContentCopyIcon(), t.copyDetail)
	t.copyAll.Importance = widget.LowImportance
	t.copyAll.Hide()
	t.filter = widget.NewSelect([]string{"All scripts"}, func(s string) { t.setFilter(s) })
	t.filter.SetSelectedIndex(0)
	t.auto = widget.NewCheck("Auto-refresh", t.setAuto)
	t.wholeCluster = clusterLogsCheck(t)
	refresh := widget.NewButtonWithIcon("Refresh", theme.ViewRefreshIcon(), t.reload)
	t.more = widget.NewButton("Older…", t.loadOlder)
	t.more.Hide()
	t.live = newLiveTail(t)
	bar := container.NewVBox(container.NewHBox(widget.NewLabel("Script"), t.filter, t.auto, t.wholeCluster, refresh), t.live.controls)
	left := container.NewBorder(logHeader(), container.NewHBox(t.more, t.count), nil, nil, container.NewVScroll(t.list))
	right := container.NewVScroll(container.NewVBox(container.NewBorder(nil, nil, bold("Execution"), t.copyAll), t.detail,
		t.errText, container.NewHBox(t.openAt), bold("Console output"), t.output))
	split := container.NewHSplit(left, right)
	split.Offset = 0.66
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
	if t.wholeCluster.Checked {
		return t.fetchCluster()
	}
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
	names := scriptNames(t.scripts)
	out := make([]string, 0, len(t.shown))
	for _, l := range t.shown {
		out = append(out, logLine(l, names))
	}
	return out
}

// filters are the Live controls' status and search, applied to the list
// in either mode (Live asks the node for the same; polling filters here).
func (t *logsTab) filters() shared.TailFilter {
	f := t.live.filter()
	f.ScriptID = 0 // the node already listed only the chosen script
	return f
}

func (t *logsTab) render() {
	names := scriptNames(t.scripts)
	f := t.filters()
	t.shown = t.shown[:0]
	for _, l := range t.logs {
		if f.Match(l) {
			t.shown = append(t.shown, l)
		}
	}
	now := t.now()
	// An auto-refresh that finds what is listed (same runs, same ages)
	// leaves the widgets alone: no repaint every few seconds.
	var key strings.Builder
	fmt.Fprintf(&key, "%d|%d|%d", t.selected, len(t.logs), t.live.gen)
	for _, l := range t.shown {
		fmt.Fprintf(&key, "|%d %s %s", l.ID, ago(l.StartedAt, now), names[l.ScriptID])
	}
	if key.String() == t.listed && t.list.Objects != nil {
		return
	}
	t.listed = key.String()
	objs := make([]fyne.CanvasObject, 0, len(t.shown))
	for _, l := range t.shown {
		objs = append(objs, t.row(l, names, now))
	}
	if len(objs) == 0 {
		msg := "No executions."
		if len(t.logs) > 0 {
			msg = "No execution of those loaded matches the filters."
		}
		objs = append(objs, widget.NewLabel(msg))
	}
	t.list.Objects = objs
	t.list.Refresh()
	if len(t.logs) > 0 && len(t.logs)%logPage == 0 && t.live.stop == nil && !t.wholeCluster.Checked {
		t.more.Show()
	} else {
		t.more.Hide()
	}
	count := ""
	if len(t.shown) != len(t.logs) {
		count = fmt.Sprintf("%d of %d loaded", len(t.shown), len(t.logs))
	}
	t.count.SetText(count)
}

// logColumns are the list's column widths in characters: date and time,
// age, status, duration, trigger, method; the path and the script take the
// rest.
var logColumns = []int{14, 8, 3, 6, 5, 6}

// logHeader names the columns over the list.
func logHeader() fyne.CanvasObject {
	return logRow(nil, []string{"started", "", "", "took", "via", "", "path", "script"})
}

// logRow lays cells out in logColumns (monospace, so they align), over a
// button that takes the tap; the path and the script share what is left.
func logRow(tap *widget.Button, cells []string) fyne.CanvasObject {
	objs := make([]fyne.CanvasObject, 0, len(cells))
	for _, c := range cells {
		l := widget.NewLabelWithStyle(c, fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
		l.Truncation = fyne.TextTruncateEllipsis
		objs = append(objs, l)
	}
	cols := container.New(&columnsLayout{chars: logColumns}, objs...)
	if tap == nil {
		return cols
	}
	return container.NewStack(tap, cols)
}

func (t *logsTab) row(l shared.Log, names map[int64]string, now time.Time) fyne.CanvasObject {
	b := widget.NewButton("", func() { t.show(l) })
	b.Importance = widget.LowImportance
	if l.ID == t.selected {
		b.Importance = widget.HighImportance
	}
	return logListRow(b, l, names, now)
}

// logListRow is one execution in columns over tap; a failed run's status
// is red.
func logListRow(tap *widget.Button, l shared.Log, names map[int64]string, now time.Time) fyne.CanvasObject {
	b := tap
	name := names[l.ScriptID]
	if name == "" {
		name = "#" + strconv.FormatInt(l.ScriptID, 10)
	}
	method, path := l.Method, l.Path
	if l.Trigger == shared.TriggerCron {
		method, path = "", "scheduled()"
		if l.Error == shared.SkippedStillRunning {
			path = l.Error
		}
	}
	row := logRow(b, []string{l.StartedAt.Local().Format("01-02 15:04:05"), ago(l.StartedAt, now),
		strconv.Itoa(l.Status), formatDuration(l.DurationUS), triggerText(l.Trigger), method, path, name})
	if failed(l) {
		status := row.(*fyne.Container).Objects[1].(*fyne.Container).Objects[2].(*widget.Label)
		status.Importance = widget.DangerImportance
	}
	return row
}

// triggerText says how a run started: a request on a route, Run in the
// console (execute), or a schedule.
func triggerText(trigger string) string {
	switch trigger {
	case shared.TriggerExecute:
		return "run"
	case shared.TriggerCron:
		return "cron"
	}
	return "route"
}

// ago is how long before now t was, in the largest unit that fits.
func ago(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 5*time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// columnsLayout places objects side by side: the first len(chars) as wide
// as that many monospace characters, the rest sharing what is left, the
// last of them getting twice the share of the others (the path).
type columnsLayout struct{ chars []int }

func (c *columnsLayout) widths(objs []fyne.CanvasObject, total float32) []float32 {
	ch := fyne.MeasureText("0", theme.TextSize(), fyne.TextStyle{Monospace: true}).Width
	pad := theme.InnerPadding()*2 + ch // a label's own, and a character's slack before it truncates
	out := make([]float32, len(objs))
	fixed := float32(0)
	for i := range objs {
		if i < len(c.chars) {
			out[i] = float32(c.chars[i])*ch + pad
			fixed += out[i]
		}
	}
	if rest := len(objs) - len(c.chars); rest > 0 {
		share := max(total-fixed, 0) / float32(rest+1)
		for i := len(c.chars); i < len(objs); i++ {
			out[i] = share
		}
		out[len(c.chars)] = share * 2 // the path
	}
	return out
}

func (c *columnsLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	x := float32(0)
	for i, w := range c.widths(objs, size.Width) {
		objs[i].Move(fyne.NewPos(x, 0))
		objs[i].Resize(fyne.NewSize(w, size.Height))
		x += w
	}
}

func (c *columnsLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	h := float32(0)
	for _, o := range objs {
		h = max(h, o.MinSize().Height)
	}
	// As narrow as the date and age: the rest truncates rather than
	// pushing the list under the detail pane.
	w := float32(0)
	for _, cw := range c.widths(objs, 0)[:min(2, len(objs))] {
		w += cw
	}
	return fyne.NewSize(w, h)
}

// show fills the detail pane with one execution and marks its row.
func (t *logsTab) show(l shared.Log) {
	if t.selected != l.ID {
		t.selected = l.ID
		t.render()
	}
	name := scriptNames(t.scripts)[l.ScriptID]
	if name == "" {
		name = "#" + strconv.FormatInt(l.ScriptID, 10)
	}
	route := "—"
	if l.RouteID != nil {
		route = "#" + strconv.FormatInt(*l.RouteID, 10)
	}
	request := l.Method + " " + l.Host + l.Path
	switch l.Trigger {
	case shared.TriggerExecute: // the host is the internal claim, not a name anyone typed
		request = "Run in the console (execute): " + l.Method + " " + l.Path
	case shared.TriggerCron:
		request = "Scheduled run"
	}
	t.detail.SetText(logNode(l) + fmt.Sprintf("%s\nstatus %d · %s · %s · %s\nscript %s · trigger %s · route %s\n%s (%s)",
		request, l.Status, formatDuration(l.DurationUS), plural(int(l.Operations), "operation"),
		pluralWord(int(l.Subrequests), "fetch", "fetches"), name, l.Trigger, route,
		l.StartedAt.Local().Format("2006-01-02 15:04:05.000"), ago(l.StartedAt, t.now())))
	t.errText.SetText(l.Error)
	t.copyAll.Show()
	if line, col := errorPlace(l.Error); line > 0 {
		id := l.ScriptID
		t.openAt.SetText(fmt.Sprintf("Open %s at line %d, column %d", name, line, col))
		t.openAt.OnTapped = func() { t.v.openScriptAt(id, line, col) }
		t.openAt.Show()
	} else {
		t.openAt.Hide()
	}
	out := l.Output
	if out == "" {
		out = "(none)"
	}
	t.output.SetText(out)
}

// clearDetail empties the detail pane and the selection.
func (t *logsTab) clearDetail() {
	t.selected = 0
	t.detail.SetText("Select an execution.")
	t.errText.SetText("")
	t.output.SetText("")
	t.openAt.Hide()
	t.copyAll.Hide()
}

// errorPlace finds "(line N, column M)" in a run's error: where the
// script failed. 0, 0 when the error names no place.
func errorPlace(msg string) (line, col int) {
	m := errorPlaceRE.FindStringSubmatch(msg)
	if m == nil {
		return 0, 0
	}
	line, _ = strconv.Atoi(m[1])
	col, _ = strconv.Atoi(m[2])
	return line, col
}

var errorPlaceRE = regexp.MustCompile(`\(line (\d+), column (\d+)\)`)

// copyDetail copies the execution's detail, error and output.
func (t *logsTab) copyDetail() {
	text := t.detail.Text
	if t.errText.Text != "" {
		text += "\n\n" + t.errText.Text
	}
	text += "\n\nConsole output:\n" + t.output.Text
	fyne.CurrentApp().Clipboard().SetContent(text)
	t.v.info("copied the execution's detail")
}
