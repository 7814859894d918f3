package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/shared"
)

func TestSchedulesTab(t *testing.T) {
	h := paired(t)
	h.createApp("Jobs", "jobs")
	h.createScript("jobs", "backup", `function scheduled(event) { console.log("backed up at", event.scheduledTime) }`)
	h.createScript("jobs", "web", `function handle() { return "hi" }`)
	v := h.openApp("jobs")
	v.Select("Schedules")
	h.wait()
	tab := v.sched
	tab.now = func() time.Time { return time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC) }

	t.Run("next runs as you type", func(t *testing.T) {
		tab.zone.SetText("Europe/Berlin")
		typeInto(tab.cron, "0 3 * * *")
		lines := strings.Split(tab.preview.Text, "\n")
		if len(lines) != 5 || lines[0] != "Thu 3 Dec 2026 03:00 CET" || lines[4] != "Mon 7 Dec 2026 03:00 CET" {
			t.Errorf("preview %q, want the next five 03:00 in Berlin", tab.preview.Text)
		}
		typeInto(tab.cron, "61 * * * *")
		if tab.preview.Importance != widget.DangerImportance || !strings.Contains(tab.preview.Text, "61") {
			t.Errorf("preview of a bad minute: %q (importance %v)", tab.preview.Text, tab.preview.Importance)
		}
		typeInto(tab.cron, "0 3 * * *")
		tab.zone.SetText("Mars/Olympus")
		if tab.preview.Importance != widget.DangerImportance || !strings.Contains(tab.preview.Text, "Mars/Olympus") {
			t.Errorf("preview of a bad zone: %q", tab.preview.Text)
		}
		tab.zone.SetText("Europe/Berlin")
		tab.now = time.Now
	})

	t.Run("a script without scheduled is explained", func(t *testing.T) {
		tab.script.SetSelected("web")
		test.Tap(h.button("Add schedule"))
		h.wait()
		if tab.msg.Importance != widget.DangerImportance || !strings.Contains(tab.msg.Text, "scheduled(event, env)") {
			t.Errorf("message %q", tab.msg.Text)
		}
		if list, _ := h.node.Client.Schedules(h.ctx(), "jobs"); len(list) != 0 {
			t.Errorf("a refused add made %+v", list)
		}
	})

	t.Run("add", func(t *testing.T) {
		tab.script.SetSelected("backup")
		test.Tap(h.button("Add schedule"))
		h.wait()
		list, err := h.node.Client.Schedules(h.ctx(), "jobs")
		if err != nil || len(list) != 1 || list[0].Cron != "0 3 * * *" || list[0].Timezone != "Europe/Berlin" {
			t.Fatalf("schedules on the node: %+v, %v", list, err)
		}
		if tab.msg.Importance != widget.SuccessImportance || tab.cron.Text != "" {
			t.Errorf("after add: message %q, cron field %q", tab.msg.Text, tab.cron.Text)
		}
		if len(tab.schedules) != 1 || !strings.Contains(labelsOf(tab), "runs backup · next ") || !strings.Contains(labelsOf(tab), "never ran") {
			t.Errorf("list shows %q", labelsOf(tab))
		}
	})

	t.Run("run now", func(t *testing.T) {
		test.Tap(h.button("Run now"))
		h.wait()
		if !strings.Contains(tab.msg.Text, "status 200") || !strings.HasPrefix(tab.output.Text, "backed up at ") || tab.output.Hidden {
			t.Errorf("after Run now: message %q, output %q", tab.msg.Text, tab.output.Text)
		}
		if !strings.Contains(labelsOf(tab), ": 200 OK") {
			t.Errorf("last run not shown: %q", labelsOf(tab))
		}
	})

	t.Run("delete asks first", func(t *testing.T) {
		test.Tap(h.button("Delete"))
		h.wait()
		if list, _ := h.node.Client.Schedules(h.ctx(), "jobs"); len(list) != 1 {
			t.Fatal("deleted before the confirmation")
		}
		confirm := h.dialogButton("Delete")
		if confirm.Importance != widget.DangerImportance {
			t.Errorf("the dialog's Delete is not red (importance %v)", confirm.Importance)
		}
		test.Tap(confirm)
		h.wait()
		if list, _ := h.node.Client.Schedules(h.ctx(), "jobs"); len(list) != 0 {
			t.Errorf("still there after confirming: %+v", list)
		}
		if !strings.Contains(labelsOf(tab), "No schedules yet") {
			t.Errorf("list shows %q", labelsOf(tab))
		}
	})
}

// dialogButton finds a button by its text in the dialogs on screen.
func (h *harness) dialogButton(text string) *widget.Button {
	h.t.Helper()
	for _, o := range h.win.Canvas().Overlays().List() {
		for _, w := range test.LaidOutObjects(o) {
			if b, ok := w.(*widget.Button); ok && b.Text == text {
				return b
			}
		}
	}
	h.t.Fatalf("no dialog with a button %q", text)
	return nil
}

// labelsOf is the text of the schedule list.
func labelsOf(tab *schedulesTab) string {
	var out []string
	for _, o := range test.LaidOutObjects(tab.list) {
		if l, ok := o.(*widget.Label); ok {
			out = append(out, l.Text)
		}
	}
	return strings.Join(out, " | ")
}

func TestLogLineOfScheduledRuns(t *testing.T) {
	at := time.Date(2026, 12, 2, 3, 0, 0, 0, time.Local)
	names := map[int64]string{7: "backup"}
	for _, tc := range []struct {
		name string
		log  shared.Log
		want string
	}{
		{"run", shared.Log{ScriptID: 7, Trigger: shared.TriggerCron, Status: 200, DurationUS: 1500, StartedAt: at},
			"  03:00:00 200    1.5ms  cron   scheduled()  [backup]"},
		{"skipped", shared.Log{ScriptID: 7, Trigger: shared.TriggerCron, Error: shared.SkippedStillRunning, StartedAt: at},
			"! 03:00:00   0      0µs  cron   skipped: still running  [backup]"},
		{"route", shared.Log{ScriptID: 7, Trigger: shared.TriggerRoute, Method: "GET", Path: "/x", Status: 200, StartedAt: at},
			"  03:00:00 200      0µs  GET    /x  [backup]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := logLine(tc.log, names); got != tc.want {
				t.Errorf("logLine = %q, want %q", got, tc.want)
			}
		})
	}
}
