package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/picloud/picloud/shared"
)

const scheduleColumns = `id, app_id, script_id, cron, timezone, last_run, last_status, created_at`

// scanSchedule reads scheduleColumns. NextRun is the caller's to fill: it
// depends on the clock, not on the row.
func scanSchedule(sc scanner) (shared.Schedule, error) {
	var s shared.Schedule
	var lastRun sql.NullString
	var lastStatus sql.NullInt64
	err := sc.Scan(&s.ID, &s.AppID, &s.ScriptID, &s.Cron, &s.Timezone, &lastRun, &lastStatus, timeScan{&s.CreatedAt})
	if err != nil {
		return s, err
	}
	if lastRun.Valid {
		var t time.Time
		if err := (timeScan{&t}).parse(lastRun.String); err != nil {
			return s, err
		}
		s.LastRun = &t
	}
	if lastStatus.Valid {
		st := int(lastStatus.Int64)
		s.LastStatus = &st
	}
	return s, nil
}

func querySchedules(ctx context.Context, q querier, where string, args ...any) ([]shared.Schedule, error) {
	return queryAll(ctx, q, scanSchedule, `SELECT `+scheduleColumns+` FROM schedules `+where+` ORDER BY id`, args...)
}

// Schedules returns every schedule of the node, oldest first: what the
// scheduler loads.
func (s *Store) Schedules(ctx context.Context) ([]shared.Schedule, error) {
	var out []shared.Schedule
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = querySchedules(ctx, tx, ``)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("schedules: %w", err)
	}
	return out, nil
}

// AppSchedules returns the schedules of an app, oldest first (404
// not_found for an unknown app).
func (s *Store) AppSchedules(ctx context.Context, appID int64) ([]shared.Schedule, error) {
	var out []shared.Schedule
	err := s.read(ctx, func(tx *sql.Tx) error {
		if _, err := appByID(ctx, tx, appID); err != nil {
			return err
		}
		var err error
		out, err = querySchedules(ctx, tx, `WHERE app_id = ?`, appID)
		return err
	})
	return out, err
}

// Schedule returns one schedule of an app (404 not_found when the app has
// no such schedule).
func (s *Store) Schedule(ctx context.Context, appID, id int64) (shared.Schedule, error) {
	var out shared.Schedule
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scheduleByID(ctx, tx, appID, id)
		return err
	})
	return out, err
}

func scheduleByID(ctx context.Context, q querier, appID, id int64) (shared.Schedule, error) {
	sc, err := scanSchedule(q.QueryRowContext(ctx,
		`SELECT `+scheduleColumns+` FROM schedules WHERE id = ? AND app_id = ?`, id, appID))
	if errors.Is(err, sql.ErrNoRows) {
		return sc, shared.NotFound("schedule", id)
	}
	if err != nil {
		return sc, fmt.Errorf("schedule %d: %w", id, err)
	}
	return sc, nil
}

// CreateSchedule adds sc (cron and zone validated by the caller) to
// sc.AppID. check, when not nil, sees the schedule's script inside the
// write transaction and vetoes it by returning an error (e.g. a script
// without scheduled()), so the script cannot change in between. A
// script_id naming no script of the app is 422 validation_failed on
// script_id.
func (s *Store) CreateSchedule(ctx context.Context, sc shared.Schedule, check func(shared.Script) error) (shared.Schedule, error) {
	var out shared.Schedule
	err := s.change(ctx, &Change{Kind: ChangeSchedule, AppID: sc.AppID}, func(tx *sql.Tx) error {
		app, err := appByID(ctx, tx, sc.AppID)
		if err != nil {
			return err
		}
		script, err := scriptByID(ctx, tx, sc.ScriptID)
		switch {
		case shared.IsCode(err, shared.CodeNotFound):
			return shared.Validation("script_id", "there is no script %d", sc.ScriptID)
		case err != nil:
			return err
		case script.AppID != sc.AppID:
			return shared.Validation("script_id", "script %d belongs to app %q, not to %q", script.ID, script.AppSlug, app.Slug)
		}
		if check != nil {
			if err := check(script); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO schedules (app_id, script_id, cron, timezone, created_at)
			VALUES (?, ?, ?, ?, ?)`, sc.AppID, sc.ScriptID, sc.Cron, sc.Timezone, s.nowText(ctx))
		if err != nil {
			return fmt.Errorf("create schedule %q: %w", sc.Cron, err)
		}
		id, _ := res.LastInsertId()
		out, err = scheduleByID(ctx, tx, sc.AppID, id)
		return err
	})
	return out, err
}

// DeleteSchedule deletes a schedule of an app (404 not_found when the app
// has no such schedule).
func (s *Store) DeleteSchedule(ctx context.Context, appID, id int64) error {
	return s.change(ctx, &Change{Kind: ChangeSchedule, AppID: appID}, func(tx *sql.Tx) error {
		if _, err := appByID(ctx, tx, appID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM schedules WHERE id = ? AND app_id = ?`, id, appID)
		if err != nil {
			return fmt.Errorf("delete schedule %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return shared.NotFound("schedule", id)
		}
		return nil
	})
}

// RecordScheduleRun notes a schedule's latest run (or skip): its tick and
// status. A schedule deleted meanwhile is not an error: its run was real.
func (s *Store) RecordScheduleRun(ctx context.Context, id int64, tick time.Time, status int) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE schedules SET last_run = ?, last_status = ? WHERE id = ?`,
			formatTime(tick), status, id)
		if err != nil {
			return fmt.Errorf("record run of schedule %d: %w", id, err)
		}
		return nil
	})
}
