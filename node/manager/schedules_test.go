package manager_test

import (
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/node/nodetest"
	"github.com/picloud/picloud/node/secrets"
	"github.com/picloud/picloud/shared"
)

const nightly = `async function scheduled(event, env) { await null; console.log("ran", event.cron, event.timezone) }`

func TestSchedules(t *testing.T) {
	n := start(t)
	mustApp(t, n, "Jobs", "jobs")
	mustApp(t, n, "Other", "other")
	job := mustScript(t, n, "jobs", "job", nightly)
	web := mustScript(t, n, "jobs", "web", hello)
	foreign := mustScript(t, n, "other", "job", nightly)

	s, err := n.c.CreateSchedule(n.ctx, "jobs", shared.CreateScheduleRequest{ScriptID: job.ID, Cron: "30 3 * * MON-FRI", Timezone: "Europe/Berlin"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Timezone != "Europe/Berlin" || s.Cron != "30 3 * * MON-FRI" || s.ScriptID != job.ID || s.LastRun != nil {
		t.Errorf("created %+v", s)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	if local := s.NextRun.In(berlin); local.Hour() != 3 || local.Minute() != 30 || local.Weekday() == time.Saturday ||
		local.Weekday() == time.Sunday || !s.NextRun.After(time.Now()) || s.NextRun.Location() != time.UTC {
		t.Errorf("next run %v (%v in Berlin), want the next weekday 03:30 Berlin time, in UTC", s.NextRun, local)
	}
	utc, err := n.c.CreateSchedule(n.ctx, "jobs", shared.CreateScheduleRequest{ScriptID: job.ID, Cron: "@hourly"})
	if err != nil || utc.Timezone != "UTC" {
		t.Fatalf("schedule without a zone: %+v, %v; want timezone UTC", utc, err)
	}

	t.Run("refused", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			body   string
			status int
			code   string
			field  string
		}{
			{"bad expression", `{"script_id": 1, "cron": "61 * * * *"}`, 422, shared.CodeInvalidSchedule, "cron"},
			{"six fields", `{"script_id": 1, "cron": "0 0 3 * * *"}`, 422, shared.CodeInvalidSchedule, "cron"},
			{"@every", `{"script_id": 1, "cron": "@every 1m"}`, 422, shared.CodeInvalidSchedule, "cron"},
			{"bad zone", `{"script_id": 1, "cron": "0 3 * * *", "timezone": "Mars/Olympus"}`, 422, shared.CodeInvalidSchedule, "timezone"},
			{"no scheduled function", `{"script_id": ` + itoa(web.ID) + `, "cron": "0 3 * * *"}`, 422, shared.CodeValidationFailed, "script_id"},
			{"another app's script", `{"script_id": ` + itoa(foreign.ID) + `, "cron": "0 3 * * *"}`, 422, shared.CodeValidationFailed, "script_id"},
			{"no script", `{"script_id": 999, "cron": "0 3 * * *"}`, 422, shared.CodeValidationFailed, "script_id"},
			{"unknown field", `{"script_id": 1, "cron": "0 3 * * *", "seconds": 5}`, 422, shared.CodeUnknownField, "seconds"},
			{"not json", `{"script_id": `, 400, shared.CodeBadJSON, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, _, body := n.raw(http.MethodPost, "/api/v1/admin/apps/jobs/schedules", tc.body)
				e := envelope(t, body)
				if status != tc.status || e.Code != tc.code || (tc.field != "" && e.Details["field"] != tc.field) {
					t.Errorf("= %d %s, want %d %s on %q", status, body, tc.status, tc.code, tc.field)
				}
			})
		}
		if list, _ := n.c.Schedules(n.ctx, "jobs"); len(list) != 2 {
			t.Errorf("%d schedules after refused requests, want 2", len(list))
		}
	})

	t.Run("list", func(t *testing.T) {
		list, err := n.c.Schedules(n.ctx, "jobs")
		if err != nil || len(list) != 2 || list[0].ID != s.ID || list[1].ID != utc.ID {
			t.Fatalf("schedules = %+v, %v", list, err)
		}
		if !list[1].NextRun.After(time.Now()) || list[1].NextRun.Minute() != 0 {
			t.Errorf("@hourly next run %v", list[1].NextRun)
		}
		if other, _ := n.c.Schedules(n.ctx, "other"); len(other) != 0 {
			t.Errorf("another app lists %+v", other)
		}
		_, err = n.c.Schedules(n.ctx, "nope")
		nodetest.WantError(t, err, 404, shared.CodeNotFound)
	})

	t.Run("run now", func(t *testing.T) {
		run, err := n.c.RunSchedule(n.ctx, "jobs", s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != 200 || run.Output != "ran 30 3 * * MON-FRI Europe/Berlin\n" || run.Error != "" || run.DurationUS <= 0 {
			t.Errorf("run now = %+v", run)
		}
		logs := nodetest.WaitLogs(t, n.c, "jobs", job.ID, 1)
		if len(logs) != 1 || logs[0].Trigger != shared.TriggerCron || logs[0].Output != run.Output || logs[0].Path != "" {
			t.Errorf("logged as %+v", logs)
		}
		list, _ := n.c.Schedules(n.ctx, "jobs")
		if list[0].LastStatus == nil || *list[0].LastStatus != 200 || list[0].LastRun == nil {
			t.Errorf("last run %v status %v after run now", list[0].LastRun, list[0].LastStatus)
		}
		// A failing run is still a 200 answer: its status is inside.
		fails := mustScript(t, n, "jobs", "fails", `function scheduled() { throw new Error("no backup disk") }`)
		f, err := n.c.CreateSchedule(n.ctx, "jobs", shared.CreateScheduleRequest{ScriptID: fails.ID, Cron: "0 3 * * *"})
		if err != nil {
			t.Fatal(err)
		}
		run, err = n.c.RunSchedule(n.ctx, "jobs", f.ID)
		if err != nil || run.Status != 500 || !strings.Contains(run.Error, "no backup disk") {
			t.Errorf("failing run now = %+v, %v", run, err)
		}
		_, err = n.c.RunSchedule(n.ctx, "other", s.ID)
		nodetest.WantError(t, err, 404, shared.CodeNotFound)
	})

	t.Run("env as for handle", func(t *testing.T) {
		// A secret too: its value is masked in the run's output.
		key, _, err := secrets.Load(filepath.Join(t.TempDir(), "secrets.key"))
		if err != nil {
			t.Fatal(err)
		}
		n.store.UseSecrets(key)
		for name, secret := range map[string]bool{"BACKUP_DIR": false, "TOKEN": true} {
			value := "/mnt/usb"
			if secret {
				value = "s3cr3t-token"
			}
			if _, err := n.c.PutEnv(n.ctx, "jobs", name, shared.PutEnvRequest{Value: &value, Secret: &secret}); err != nil {
				t.Fatal(err)
			}
		}
		uses := mustScript(t, n, "jobs", "uses-env", `function scheduled(event, env) { console.log(env.BACKUP_DIR, env.TOKEN) }`)
		sc, err := n.c.CreateSchedule(n.ctx, "jobs", shared.CreateScheduleRequest{ScriptID: uses.ID, Cron: "@daily"})
		if err != nil {
			t.Fatal(err)
		}
		run, err := n.c.RunSchedule(n.ctx, "jobs", sc.ID)
		if err != nil || run.Status != 200 || run.Output != "/mnt/usb [secret TOKEN]\n" {
			t.Errorf("run with env = %+v, %v", run, err)
		}
	})

	t.Run("the script keeps scheduled", func(t *testing.T) {
		_, err := n.c.UpdateScript(n.ctx, job.ID, shared.UpdateScriptRequest{Source: ptr(hello)})
		if e := nodetest.WantError(t, err, 422, shared.CodeValidationFailed); e.Details["field"] != "source" {
			t.Errorf("field %v, want source", e.Details["field"])
		}
		if sc, _ := n.c.Script(n.ctx, job.ID); sc.Source != nightly {
			t.Error("a refused update changed the source")
		}
	})

	t.Run("delete", func(t *testing.T) {
		if err := n.c.DeleteSchedule(n.ctx, "jobs", utc.ID); err != nil {
			t.Fatal(err)
		}
		nodetest.WantError(t, n.c.DeleteSchedule(n.ctx, "jobs", utc.ID), 404, shared.CodeNotFound)
		nodetest.WantError(t, n.c.DeleteSchedule(n.ctx, "other", s.ID), 404, shared.CodeNotFound)
		// Deleting the script deletes its schedules.
		if err := n.c.DeleteScript(n.ctx, job.ID); err != nil {
			t.Fatal(err)
		}
		for _, l := range mustSchedules(t, n, "jobs") {
			if l.ScriptID == job.ID {
				t.Errorf("schedule %d of the deleted script is left", l.ID)
			}
		}
		_, err := n.c.RunSchedule(n.ctx, "jobs", s.ID)
		nodetest.WantError(t, err, 404, shared.CodeNotFound)
	})
}

func mustSchedules(t *testing.T, n *node, app string) []shared.Schedule {
	t.Helper()
	list, err := n.c.Schedules(n.ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }
