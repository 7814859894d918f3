package manager

import (
	"context"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/picloud/picloud/node/executor"
	"github.com/picloud/picloud/shared"
)

// ScheduleStore holds the apps' cron schedules.
type ScheduleStore interface {
	AppSchedules(ctx context.Context, appID int64) ([]shared.Schedule, error)
	Schedule(ctx context.Context, appID, id int64) (shared.Schedule, error)
	CreateSchedule(ctx context.Context, sc shared.Schedule, check func(shared.Script) error) (shared.Schedule, error)
	DeleteSchedule(ctx context.Context, appID, id int64) error
}

// Scheduler fires the schedules (the node's scheduler): RunNow runs a
// schedule at once.
type Scheduler interface {
	RunNow(ctx context.Context, sc shared.Schedule) (shared.ScheduleRun, error)
}

func (a *API) listSchedules(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	app, err := a.appFromURL(r, ps)
	if err != nil {
		return err
	}
	list, err := a.store.AppSchedules(r.Context(), app.ID)
	if err != nil {
		return err
	}
	now := a.now()
	for i := range list {
		list[i].NextRun = nextRun(list[i], now)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"schedules": list})
}

func (a *API) createSchedule(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	app, err := a.appFromURL(r, ps)
	if err != nil {
		return err
	}
	var req shared.CreateScheduleRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Timezone == "" {
		req.Timezone = shared.DefaultTimezone
	}
	c, err := shared.ParseCron(req.Cron, req.Timezone)
	if err != nil {
		return err
	}
	sc := shared.Schedule{AppID: app.ID, ScriptID: req.ScriptID, Cron: c.String(), Timezone: req.Timezone}
	sc, err = writeAs[shared.Schedule](r.Context(), a, &Command{Op: OpCreateSchedule, Schedule: &sc})
	if err != nil {
		return err
	}
	sc.NextRun = c.Next(a.now())
	return writeJSON(w, http.StatusCreated, sc)
}

func (a *API) deleteSchedule(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	app, err := a.appFromURL(r, ps)
	if err != nil {
		return err
	}
	id, err := idParam(ps, "schedule")
	if err != nil {
		return err
	}
	if _, err := a.write(r.Context(), &Command{Op: OpDeleteSchedule, AppID: app.ID, ID: id}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// runSchedule runs a schedule now and answers its outcome, whatever it
// was: a failing script is a 200 with the run's status inside.
func (a *API) runSchedule(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	app, err := a.appFromURL(r, ps)
	if err != nil {
		return err
	}
	id, err := idParam(ps, "schedule")
	if err != nil {
		return err
	}
	sc, err := a.store.Schedule(r.Context(), app.ID, id)
	if err != nil {
		return err
	}
	if a.sched == nil {
		return shared.Errorf(shared.CodeInternal, "the node runs no scheduler").WithStatus(http.StatusServiceUnavailable)
	}
	run, err := a.sched.RunNow(r.Context(), sc)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, run)
}

// checkScheduledEntry refuses a schedule of a script without scheduled().
func (a *API) checkScheduledEntry(sc shared.Script) error {
	p, err := a.checkProgram(sc.Source, sc.Sandbox)
	if err != nil {
		return shared.Validation("script_id", "script %d does not compile: %v", sc.ID, err)
	}
	if !p.Has(executor.EntryScheduled) {
		return shared.Validation("script_id", "script %q has no scheduled(event, env) function", sc.Name)
	}
	return nil
}

// checkScheduledKept refuses a new version without scheduled() of a
// script that schedules run.
func (a *API) checkScheduledKept(ctx context.Context, cur shared.Script, p *executor.Program) error {
	if p.Has(executor.EntryScheduled) {
		return nil
	}
	list, err := a.store.AppSchedules(ctx, cur.AppID)
	if err != nil {
		return err
	}
	for _, s := range list {
		if s.ScriptID == cur.ID {
			return shared.Validation("source", "schedules run this script: it must keep its scheduled(event, env) function (schedule %d)", s.ID)
		}
	}
	return nil
}

// nextRun is when s fires next after now; zero for an expression that no
// longer parses (only a hand-edited database has one).
func nextRun(s shared.Schedule, now time.Time) time.Time {
	c, err := shared.ParseCron(s.Cron, s.Timezone)
	if err != nil {
		return time.Time{}
	}
	return c.Next(now)
}
