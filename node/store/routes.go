package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/picloud/picloud/shared"
)

func scanRoute(sc scanner) (shared.Route, error) {
	var r shared.Route
	var host sql.NullString
	err := sc.Scan(&r.ID, &r.AppID, &r.ScriptID, &r.Method, &r.Path, &host, timeScan{&r.CreatedAt})
	if host.Valid {
		r.Host = &host.String
	}
	return r, err
}

func queryRoutes(ctx context.Context, q querier, where string, args ...any) ([]shared.Route, error) {
	return queryAll(ctx, q, scanRoute, `SELECT id, app_id, script_id, method, path, host, created_at FROM routes `+where+
		` ORDER BY id`, args...)
}

func routes(ctx context.Context, q querier, appID int64) ([]shared.Route, error) {
	rs, err := queryRoutes(ctx, q, `WHERE app_id = ?`, appID)
	if err != nil {
		return nil, fmt.Errorf("routes of app %d: %w", appID, err)
	}
	return rs, nil
}

// Routes returns the routes of an app, oldest first.
func (s *Store) Routes(ctx context.Context, appID int64) ([]shared.Route, error) {
	var rs []shared.Route
	err := s.read(ctx, func(tx *sql.Tx) error {
		if _, err := appByID(ctx, tx, appID); err != nil {
			return err
		}
		var err error
		rs, err = routes(ctx, tx, appID)
		return err
	})
	return rs, err
}

// CreateRoute adds r (method, path and host validated by the caller) to
// r.AppID. check, when not nil, sees the app's current routes and domains
// inside the write transaction and vetoes r by returning an error (e.g.
// host_not_claimed, route_conflict); no other writer can change either in
// between. The same (host, method, path) twice is always 409 route_conflict.
// A script_id naming no script of the app (another app's, or none) is 422
// validation_failed on script_id.
func (s *Store) CreateRoute(ctx context.Context, r shared.Route,
	check func(existing []shared.Route, domains []shared.Domain) error) (shared.Route, error) {
	var out shared.Route
	err := s.change(ctx, &Change{Kind: ChangeRoute, AppID: r.AppID}, func(tx *sql.Tx) error {
		app, err := appByID(ctx, tx, r.AppID)
		if err != nil {
			return err
		}
		// A script_id naming no script of this app is one mistake in the
		// body, whether the script is another app's or does not exist.
		sc, err := scriptByID(ctx, tx, r.ScriptID)
		switch {
		case shared.IsCode(err, shared.CodeNotFound):
			return shared.Validation("script_id", "there is no script %d", r.ScriptID)
		case err != nil:
			return err
		case sc.AppID != r.AppID:
			return shared.Validation("script_id", "script %d belongs to app %q, not to %q", sc.ID, sc.AppSlug, app.Slug)
		}
		rs, err := routes(ctx, tx, r.AppID)
		if err != nil {
			return err
		}
		ds, err := domains(ctx, tx, r.AppID)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(rs, ds); err != nil {
				return err
			}
		}
		for _, e := range rs {
			if e.Method == r.Method && e.Path == r.Path && sameHost(e.Host, r.Host) {
				return shared.RouteConflictError(e)
			}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO routes (app_id, script_id, method, path, host, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, r.AppID, r.ScriptID, r.Method, r.Path, r.Host, s.nowText(ctx))
		if err != nil {
			return fmt.Errorf("create route %s %s: %w", r.Method, r.Path, err)
		}
		id, _ := res.LastInsertId()
		out, err = scanRoute(tx.QueryRowContext(ctx,
			`SELECT id, app_id, script_id, method, path, host, created_at FROM routes WHERE id = ?`, id))
		return err
	})
	return out, err
}

func sameHost(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// DeleteRoute deletes a route of an app (404 not_found when the app has no
// such route).
func (s *Store) DeleteRoute(ctx context.Context, appID, routeID int64) error {
	return s.change(ctx, &Change{Kind: ChangeRoute, AppID: appID}, func(tx *sql.Tx) error {
		if _, err := appByID(ctx, tx, appID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM routes WHERE id = ? AND app_id = ?`, routeID, appID)
		if err != nil {
			return fmt.Errorf("delete route %d: %w", routeID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return shared.NotFound("route", routeID)
		}
		return nil
	})
}
