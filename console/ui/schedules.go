package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/shared"
)

// scheduleAdmin is what the Schedules tab needs of a node.
type scheduleAdmin interface {
	Schedules(ctx context.Context, ref string) ([]shared.Schedule, error)
	CreateSchedule(ctx context.Context, ref string, req shared.CreateScheduleRequest) (shared.Schedule, error)
	DeleteSchedule(ctx context.Context, ref string, id int64) error
	RunSchedule(ctx context.Context, ref string, id int64) (shared.ScheduleRun, error)
}

// commonZones are offered in the zone picker; any IANA name may be typed.
var commonZones = []string{
	"UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin", "Europe/Madrid",
	"Europe/Rome", "Europe/Amsterdam", "Europe/Zurich", "Europe/Vienna", "Europe/Stockholm", "Europe/Warsaw",
	"Europe/Athens", "Europe/Helsinki", "Europe/Moscow", "America/New_York", "America/Chicago", "America/Denver",
	"America/Los_Angeles", "America/Sao_Paulo", "America/Toronto", "Asia/Tokyo", "Asia/Shanghai", "Asia/Kolkata",
	"Asia/Singapore", "Australia/Sydney", "Pacific/Auckland", "Africa/Johannesburg",
}

// cronPresets fill the expression field with a common choice.
var cronPresets = []struct{ label, expr string }{
	{"Every 5 minutes", "*/5 * * * *"},
	{"Hourly", "@hourly"},
	{"Daily at 03:00", "0 3 * * *"},
	{"Weekdays at 07:30", "30 7 * * MON-FRI"},
	{"Mondays at 09:00", "0 9 * * MON"},
	{"Monthly, on the 1st", "@monthly"},
}

// schedulesTab lists the app's cron schedules, adds, runs and deletes them.
type schedulesTab struct {
	v       *appView
	view    fyne.CanvasObject
	script  *widget.Select
	cron    *widget.Entry
	zone    *widget.SelectEntry
	preview *widget.Label // the next five runs, or why the expression is wrong
	add     *widget.Button
	msg     *widget.Label // outcome of the last add, run or delete
	output  *widget.Entry // console output of the last Run now
	list    *fyne.Container

	scripts   []shared.Script
	schedules []shared.Schedule
	now       func() time.Time
}

func newSchedulesTab(v *appView) *schedulesTab {
	t := &schedulesTab{v: v, script: widget.NewSelect(nil, nil), cron: widget.NewEntry(),
		zone: widget.NewSelectEntry(commonZones), preview: widget.NewLabel(""), msg: newMsg(),
		output: widget.NewMultiLineEntry(), list: container.NewVBox(), now: time.Now}
	t.script.PlaceHolder = "(pick the script)"
	t.cron.SetPlaceHolder("*/5 * * * *   or   @daily")
	t.cron.OnChanged = func(string) { t.updatePreview() }
	t.cron.OnSubmitted = func(string) { t.submit() }
	t.zone.SetText(shared.DefaultTimezone)
	t.zone.OnChanged = func(string) { t.updatePreview() }
	t.zone.OnSubmitted = func(string) { t.submit() }
	t.preview.Wrapping = fyne.TextWrapWord
	t.output.Wrapping = fyne.TextWrapWord
	t.output.SetPlaceHolder("Run now shows the run's console output here.")
	t.output.Hide()
	presets := make([]string, len(cronPresets))
	for i, p := range cronPresets {
		presets[i] = p.label
	}
	preset := widget.NewSelect(presets, func(label string) {
		for _, p := range cronPresets {
			if p.label == label {
				t.cron.SetText(p.expr)
			}
		}
	})
	preset.PlaceHolder = "(common times)"
	t.add = widget.NewButtonWithIcon("Add schedule", theme.ContentAddIcon(), t.submit)
	form := widget.NewForm(
		widget.NewFormItem("Script", t.script),
		widget.NewFormItem("Cron", container.NewBorder(nil, nil, nil, preset, t.cron)),
		widget.NewFormItem("Time zone", t.zone),
		widget.NewFormItem("Next runs", t.preview),
	)
	help := widget.NewLabel("Five fields: minute hour day-of-month month day-of-week, with *, lists, ranges, " +
		"steps and names (JAN, MON), or @hourly, @daily, @weekly, @monthly, @yearly. The script needs a " +
		"scheduled(event, env) function. A run never overlaps the previous one; ticks missed while the node " +
		"was down are not replayed.")
	help.Wrapping = fyne.TextWrapWord
	top := container.NewVBox(form, container.NewHBox(t.add), t.msg, help, widget.NewSeparator())
	t.view = container.NewBorder(top, t.output, nil, nil, container.NewVScroll(t.list))
	t.updatePreview()
	return t
}

// updatePreview shows the next five runs of what is typed, in its zone,
// or what is wrong with it.
func (t *schedulesTab) updatePreview() {
	expr := strings.TrimSpace(t.cron.Text)
	if expr == "" {
		showPreview(t.preview, "Type an expression to see its next runs.", widget.MediumImportance)
		return
	}
	runs, err := nextRuns(expr, t.zone.Text, t.now(), 5)
	if err != nil {
		showPreview(t.preview, Message(err), widget.DangerImportance)
		return
	}
	showPreview(t.preview, strings.Join(runs, "\n"), widget.MediumImportance)
}

func showPreview(l *widget.Label, text string, imp widget.Importance) {
	l.Text, l.Importance = text, imp
	l.Refresh()
}

// nextRuns formats the next n runs of expr in zone, as the node will fire
// them (the same parser).
func nextRuns(expr, zone string, now time.Time, n int) ([]string, error) {
	zone = strings.TrimSpace(zone)
	if zone == "" {
		zone = shared.DefaultTimezone
	}
	c, err := shared.ParseCron(expr, zone)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, at := range c.NextN(now, n) {
		out = append(out, at.In(c.Location()).Format("Mon 2 Jan 2006 15:04 MST"))
	}
	if len(out) == 0 {
		return []string{"never: no date matches"}, nil
	}
	return out, nil
}

func (t *schedulesTab) reload() {
	v := t.v
	type data struct {
		scripts   []shared.Script
		schedules []shared.Schedule
	}
	call(v.tasks, "load schedules", func(ctx context.Context) (data, error) {
		scripts, err := v.client.Scripts(ctx, v.ref)
		if err != nil {
			return data{}, err
		}
		schedules, err := v.client.Schedules(ctx, v.ref)
		return data{scripts, schedules}, err
	}, func(d data) {
		t.scripts = d.scripts
		names := make([]string, len(d.scripts))
		for i, s := range d.scripts {
			names[i] = s.Name
		}
		t.script.Options = names
		if t.script.Selected == "" && len(names) == 1 {
			t.script.SetSelected(names[0])
		}
		t.script.Refresh()
		t.render(d.schedules)
	}, nil)
}

func (t *schedulesTab) render(list []shared.Schedule) {
	t.schedules = list
	names := scriptNames(t.scripts)
	objs := []fyne.CanvasObject{}
	for _, s := range list {
		s := s
		run := widget.NewButtonWithIcon("Run now", theme.MediaPlayIcon(), func() { t.runNow(s) })
		del := widget.NewButtonWithIcon("Delete", theme.DeleteIcon(), func() { t.confirmDelete(s) })
		del.Importance = widget.LowImportance
		title := widget.NewLabelWithStyle(s.Cron+"  ("+s.Timezone+")", fyne.TextAlignLeading, fyne.TextStyle{Monospace: true})
		detail := widget.NewLabel(scheduleLine(s, names[s.ScriptID], t.now()))
		buttons := container.NewCenter(container.NewHBox(run, del))
		objs = append(objs, container.NewBorder(nil, widget.NewSeparator(), nil, buttons, container.NewVBox(title, detail)))
	}
	if len(objs) == 0 {
		objs = append(objs, widget.NewLabel("No schedules yet: pick a script with a scheduled(event, env) function and a time above."))
	}
	t.list.Objects = objs
	t.list.Refresh()
}

// scheduleLine says what runs, when next, and how the last run went.
func scheduleLine(s shared.Schedule, script string, now time.Time) string {
	if script == "" {
		script = fmt.Sprintf("#%d", s.ScriptID)
	}
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		loc = time.UTC
	}
	line := "runs " + script
	if !s.NextRun.IsZero() {
		line += " · next " + s.NextRun.In(loc).Format("Mon 2 Jan 15:04 MST")
	}
	if s.LastRun == nil {
		return line + " · never ran"
	}
	status := "?"
	if s.LastStatus != nil {
		status = fmt.Sprint(*s.LastStatus)
		if *s.LastStatus == 200 {
			status += " OK"
		}
	}
	return line + fmt.Sprintf(" · last %s (%s ago): %s", s.LastRun.In(loc).Format("Mon 2 Jan 15:04"),
		max(now.Sub(*s.LastRun), 0).Round(time.Second), status)
}

func (t *schedulesTab) scriptID(name string) (int64, bool) {
	for _, s := range t.scripts {
		if s.Name == name {
			return s.ID, true
		}
	}
	return 0, false
}

func (t *schedulesTab) submit() {
	id, ok := t.scriptID(t.script.Selected)
	if !ok {
		showMsg(t.msg, "Pick the script to run.", widget.DangerImportance)
		return
	}
	req := shared.CreateScheduleRequest{ScriptID: id, Cron: strings.TrimSpace(t.cron.Text), Timezone: strings.TrimSpace(t.zone.Text)}
	if req.Cron == "" {
		showMsg(t.msg, "Type a cron expression.", widget.DangerImportance)
		return
	}
	v := t.v
	call(v.tasks, "add schedule", func(ctx context.Context) (shared.Schedule, error) {
		return v.client.CreateSchedule(ctx, v.ref, req)
	}, func(s shared.Schedule) {
		t.cron.SetText("")
		showMsg(t.msg, fmt.Sprintf("Added %s: %s runs next at %s.", s.Cron, t.script.Selected,
			s.NextRun.Local().Format("Mon 2 Jan 15:04")), widget.SuccessImportance)
		t.reload()
	}, func(err error) bool {
		showMsg(t.msg, scheduleError(err), widget.DangerImportance)
		return true
	})
}

// scheduleError explains a refusal in the user's terms.
func scheduleError(err error) string {
	e, ok := shared.AsError(err)
	if !ok {
		return Message(err)
	}
	switch {
	case e.Code == shared.CodeValidationFailed && e.Detail("field") == "script_id":
		return "This script cannot be scheduled: " + e.Message + ". Give it a scheduled(event, env) function first."
	case e.Code == shared.CodeInvalidSchedule:
		return "Not a valid schedule: " + e.Message
	}
	return Message(err)
}

func (t *schedulesTab) runNow(s shared.Schedule) {
	v := t.v
	showMsg(t.msg, "Running "+s.Cron+"…", widget.MediumImportance)
	// A run may take the script's whole timeout_ms (up to 30 s).
	callWithin(v.tasks, 45*time.Second, "run schedule", func(ctx context.Context) (shared.ScheduleRun, error) {
		return v.client.RunSchedule(ctx, v.ref, s.ID)
	}, func(run shared.ScheduleRun) {
		text := fmt.Sprintf("Ran %s: status %d in %s.", s.Cron, run.Status, formatDuration(run.DurationUS))
		imp := widget.SuccessImportance
		if run.Error != "" {
			text += " " + run.Error
			imp = widget.DangerImportance
		}
		showMsg(t.msg, text, imp)
		out := run.Output
		if out == "" {
			out = "(no console output)"
		}
		t.output.SetText(out)
		t.output.Show()
		t.reload()
	}, func(err error) bool {
		showMsg(t.msg, Message(err), widget.DangerImportance)
		return true
	})
}

func (t *schedulesTab) confirmDelete(s shared.Schedule) {
	d := dialog.NewConfirm("Delete schedule?", fmt.Sprintf("%s (%s) will not run any more.", s.Cron, s.Timezone),
		func(ok bool) {
			if ok {
				t.remove(s)
			}
		}, t.v.win)
	d.SetConfirmText("Delete")
	d.SetConfirmImportance(widget.DangerImportance)
	d.Show()
}

func (t *schedulesTab) remove(s shared.Schedule) {
	v := t.v
	call(v.tasks, "delete schedule", func(ctx context.Context) (struct{}, error) {
		return struct{}{}, v.client.DeleteSchedule(ctx, v.ref, s.ID)
	}, func(struct{}) {
		showMsg(t.msg, "Deleted "+s.Cron+".", widget.SuccessImportance)
		t.reload()
	}, func(err error) bool {
		showMsg(t.msg, Message(err), widget.DangerImportance)
		return true
	})
}
