package store

import (
	"context"
	"database/sql"
	"fmt"
)

// egress reads an app's allowlist in the order it was given; never nil.
func egress(ctx context.Context, q querier, appID int64) ([]string, error) {
	out, err := queryAll(ctx, q, func(sc scanner) (string, error) {
		var e string
		return e, sc.Scan(&e)
	}, `SELECT entry FROM app_egress WHERE app_id = ? ORDER BY position`, appID)
	if err != nil {
		return nil, fmt.Errorf("egress of app %d: %w", appID, err)
	}
	return out, nil
}

// Egress returns an app's egress allowlist (SPEC §10), empty when the app
// has no network; 404 not_found for an unknown app.
func (s *Store) Egress(ctx context.Context, appID int64) ([]string, error) {
	var out []string
	err := s.read(ctx, func(tx *sql.Tx) error {
		if _, err := appByID(ctx, tx, appID); err != nil {
			return err
		}
		var err error
		out, err = egress(ctx, tx, appID)
		return err
	})
	return out, err
}

// SetEgress replaces an app's allowlist with allow, already normalised and
// deduplicated by the caller (shared.NormalizeEgress), and returns it as
// stored.
func (s *Store) SetEgress(ctx context.Context, appID int64, allow []string) ([]string, error) {
	var out []string
	err := s.change(ctx, &Change{Kind: ChangeEgress, AppID: appID}, func(tx *sql.Tx) error {
		if _, err := appByID(ctx, tx, appID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM app_egress WHERE app_id = ?`, appID); err != nil {
			return fmt.Errorf("clear egress of app %d: %w", appID, err)
		}
		for i, e := range allow {
			if _, err := tx.ExecContext(ctx, `INSERT INTO app_egress (app_id, position, entry) VALUES (?, ?, ?)`, appID, i, e); err != nil {
				return fmt.Errorf("egress entry %q: %w", e, err)
			}
		}
		var err error
		out, err = egress(ctx, tx, appID)
		return err
	})
	return out, err
}

// allEgress reads every app's allowlist, for the snapshot: only apps with
// entries appear.
func allEgress(ctx context.Context, q querier) (map[int64][]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT app_id, entry FROM app_egress ORDER BY app_id, position`)
	if err != nil {
		return nil, fmt.Errorf("egress: %w", err)
	}
	defer rows.Close()
	out := map[int64][]string{}
	for rows.Next() {
		var app int64
		var e string
		if err := rows.Scan(&app, &e); err != nil {
			return nil, fmt.Errorf("egress: %w", err)
		}
		out[app] = append(out[app], e)
	}
	return out, rows.Err()
}
