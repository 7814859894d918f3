package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/picloud/picloud/shared"
)

// Paging bounds of Logs.
const (
	DefaultLogLimit = 100
	MaxLogLimit     = 1000
)

// InsertLogs writes a batch of execution logs in one transaction: all of
// them or none. Logs of an app deleted since the execution are dropped
// (there is nobody left to read them), so one stale entry cannot sink the
// batch it travels in. ID is assigned by the store.
func (s *Store) InsertLogs(ctx context.Context, logs []shared.Log) error {
	if len(logs) == 0 {
		return nil
	}
	for i, l := range logs {
		if l.Trigger != shared.TriggerRoute && l.Trigger != shared.TriggerExecute {
			return fmt.Errorf("insert logs: entry %d: trigger %q is neither %q nor %q",
				i, l.Trigger, shared.TriggerRoute, shared.TriggerExecute)
		}
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO execution_logs
			(app_id, script_id, route_id, "trigger", host, method, path, status, duration_us, operations, error, output, started_at)
			SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM apps WHERE id = ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, l := range logs {
			if _, err := stmt.ExecContext(ctx, l.AppID, l.ScriptID, l.RouteID, l.Trigger, l.Host, l.Method, l.Path,
				l.Status, l.DurationUS, l.Operations, l.Error, l.Output, formatTime(l.StartedAt), l.AppID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("insert %d logs: %w", len(logs), err)
	}
	return nil
}

// PruneLogs deletes an app's logs except the newest keep (keep 0 deletes
// them all).
func (s *Store) PruneLogs(ctx context.Context, appID int64, keep int) error {
	if keep < 0 {
		return fmt.Errorf("prune logs of app %d: keep %d is negative", appID, keep)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM execution_logs WHERE app_id = ?1 AND id <= ifnull(
			(SELECT id FROM execution_logs WHERE app_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2), -1)`, appID, keep)
		return err
	})
	if err != nil {
		return fmt.Errorf("prune logs of app %d: %w", appID, err)
	}
	return nil
}

// Logs returns up to limit logs of an app, newest first, optionally of one
// script (scriptID 0: all). before > 0 returns only logs with an id below
// it: pass the last id of a page to get the next one. Ids only grow, so
// pages stay stable while new logs arrive. limit <= 0 means
// DefaultLogLimit; it is capped at MaxLogLimit.
func (s *Store) Logs(ctx context.Context, appID, scriptID int64, limit int, before int64) ([]shared.Log, error) {
	if limit <= 0 {
		limit = DefaultLogLimit
	}
	limit = min(limit, MaxLogLimit)
	var out []shared.Log
	err := s.read(ctx, func(tx *sql.Tx) error {
		if _, err := appByID(ctx, tx, appID); err != nil {
			return err
		}
		q := `SELECT id, app_id, script_id, route_id, "trigger", host, method, path, status, duration_us, operations,
			error, output, started_at FROM execution_logs WHERE app_id = ?`
		args := []any{appID}
		if scriptID != 0 {
			q += ` AND script_id = ?`
			args = append(args, scriptID)
		}
		if before > 0 {
			q += ` AND id < ?`
			args = append(args, before)
		}
		q += ` ORDER BY id DESC LIMIT ?`
		args = append(args, limit)
		var err error
		out, err = queryAll(ctx, tx, scanLog, q, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("logs of app %d: %w", appID, err)
	}
	return out, nil
}

func scanLog(sc scanner) (shared.Log, error) {
	var l shared.Log
	var route sql.NullInt64
	err := sc.Scan(&l.ID, &l.AppID, &l.ScriptID, &route, &l.Trigger, &l.Host, &l.Method, &l.Path,
		&l.Status, &l.DurationUS, &l.Operations, &l.Error, &l.Output, timeScan{&l.StartedAt})
	if route.Valid {
		l.RouteID = &route.Int64
	}
	return l, err
}
