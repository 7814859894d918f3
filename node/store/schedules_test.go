package store

import (
	"context"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/picloud/picloud/shared"
)

func mkSchedule(t testing.TB, s *Store, appID, scriptID int64, cron string) shared.Schedule {
	t.Helper()
	sc, err := s.CreateSchedule(context.Background(), shared.Schedule{AppID: appID, ScriptID: scriptID, Cron: cron, Timezone: "UTC"}, nil)
	if err != nil {
		t.Fatalf("create schedule %q: %v", cron, err)
	}
	return sc
}

func TestSchedulesLifecycle(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a, b := mkApp(t, s, "a"), mkApp(t, s, "b")
	scA, scB := mkScript(t, s, a.ID, "tick"), mkScript(t, s, b.ID, "tick")

	first, err := s.CreateSchedule(ctx, shared.Schedule{AppID: a.ID, ScriptID: scA.ID, Cron: "*/5 * * * *", Timezone: "Europe/Berlin"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.ID == 0 || first.AppID != a.ID || first.ScriptID != scA.ID || first.Cron != "*/5 * * * *" ||
		first.Timezone != "Europe/Berlin" || first.CreatedAt.IsZero() || first.LastRun != nil || first.LastStatus != nil {
		t.Fatalf("created %+v", first)
	}
	second := mkSchedule(t, s, a.ID, scA.ID, "@hourly")
	other := mkSchedule(t, s, b.ID, scB.ID, "@daily")

	got, err := s.AppSchedules(ctx, a.ID)
	if err != nil || !reflect.DeepEqual(got, []shared.Schedule{first, second}) {
		t.Fatalf("AppSchedules = %+v, %v", got, err)
	}
	all, err := s.Schedules(ctx)
	if err != nil || len(all) != 3 || all[2] != other {
		t.Fatalf("Schedules = %+v, %v", all, err)
	}

	tick := time.Date(2026, 12, 2, 10, 5, 0, 0, time.UTC)
	if err := s.RecordScheduleRun(ctx, first.ID, tick, 507); err != nil {
		t.Fatal(err)
	}
	one, err := s.Schedule(ctx, a.ID, first.ID)
	if err != nil || one.LastRun == nil || !one.LastRun.Equal(tick) || one.LastStatus == nil || *one.LastStatus != 507 {
		t.Fatalf("after a run: %+v, %v", one, err)
	}

	t.Run("another app's schedule is not found", func(t *testing.T) {
		_, err := s.Schedule(ctx, b.ID, first.ID)
		wantCode(t, err, http.StatusNotFound, shared.CodeNotFound)
		wantCode(t, s.DeleteSchedule(ctx, b.ID, first.ID), http.StatusNotFound, shared.CodeNotFound)
	})
	t.Run("delete", func(t *testing.T) {
		if err := s.DeleteSchedule(ctx, a.ID, second.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.DeleteSchedule(ctx, a.ID, second.ID), http.StatusNotFound, shared.CodeNotFound)
	})
	t.Run("deleting the script deletes its schedules", func(t *testing.T) {
		if err := s.DeleteScript(ctx, scA.ID); err != nil {
			t.Fatal(err)
		}
		if got, err := s.AppSchedules(ctx, a.ID); err != nil || len(got) != 0 {
			t.Fatalf("schedules of a deleted script: %+v, %v", got, err)
		}
		if got, err := s.AppSchedules(ctx, b.ID); err != nil || len(got) != 1 {
			t.Fatalf("another app's schedules: %+v, %v", got, err)
		}
	})
	t.Run("a run recorded after the delete is no error", func(t *testing.T) {
		if err := s.RecordScheduleRun(ctx, first.ID, tick, 200); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCreateScheduleRejects(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a, b := mkApp(t, s, "a"), mkApp(t, s, "b")
	scB := mkScript(t, s, b.ID, "theirs")
	scA := mkScript(t, s, a.ID, "mine")
	vetoed := shared.Validation("script_id", "no scheduled()")

	tests := []struct {
		name   string
		sc     shared.Schedule
		check  func(shared.Script) error
		status int
		code   string
	}{
		{"unknown app", shared.Schedule{AppID: 999, ScriptID: scA.ID, Cron: "@daily", Timezone: "UTC"}, nil, 404, shared.CodeNotFound},
		{"unknown script", shared.Schedule{AppID: a.ID, ScriptID: 999, Cron: "@daily", Timezone: "UTC"}, nil, 422, shared.CodeValidationFailed},
		{"another app's script", shared.Schedule{AppID: a.ID, ScriptID: scB.ID, Cron: "@daily", Timezone: "UTC"}, nil, 422, shared.CodeValidationFailed},
		{"vetoed by the check", shared.Schedule{AppID: a.ID, ScriptID: scA.ID, Cron: "@daily", Timezone: "UTC"},
			func(sc shared.Script) error {
				if sc.ID != scA.ID || sc.Source == "" {
					t.Errorf("check saw %+v", sc)
				}
				return vetoed
			}, 422, shared.CodeValidationFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateSchedule(ctx, tc.sc, tc.check)
			e := wantCode(t, err, tc.status, tc.code)
			if tc.code == shared.CodeValidationFailed && e.Detail("field") != "script_id" {
				t.Errorf("field = %q", e.Detail("field"))
			}
		})
	}
	if all, _ := s.Schedules(ctx); len(all) != 0 {
		t.Fatalf("a refused schedule was stored: %+v", all)
	}
}
