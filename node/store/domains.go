package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/picloud/picloud/shared"
)

func scanDomain(sc scanner) (shared.Domain, error) {
	var d shared.Domain
	err := sc.Scan(&d.ID, &d.AppID, &d.Pattern, timeScan{&d.CreatedAt})
	return d, err
}

func queryDomains(ctx context.Context, q querier, where string, args ...any) ([]shared.Domain, error) {
	return queryAll(ctx, q, scanDomain, `SELECT id, app_id, pattern, created_at FROM app_domains `+where+` ORDER BY id`, args...)
}

func domains(ctx context.Context, q querier, appID int64) ([]shared.Domain, error) {
	ds, err := queryDomains(ctx, q, `WHERE app_id = ?`, appID)
	if err != nil {
		return nil, fmt.Errorf("domains of app %d: %w", appID, err)
	}
	return ds, nil
}

// Domains returns the claims of an app, oldest first.
func (s *Store) Domains(ctx context.Context, appID int64) ([]shared.Domain, error) {
	var ds []shared.Domain
	err := s.read(ctx, func(tx *sql.Tx) error {
		if _, err := appByID(ctx, tx, appID); err != nil {
			return err
		}
		var err error
		ds, err = domains(ctx, tx, appID)
		return err
	})
	return ds, err
}

// AddDomain claims pattern (normalised by the caller, with its shapeKey) for
// an app. A shape any app holds already is 409 domain_claimed with held_by.
func (s *Store) AddDomain(ctx context.Context, appID int64, pattern, shapeKey string) (shared.Domain, error) {
	var d shared.Domain
	err := s.change(ctx, &Change{Kind: ChangeDomain, AppID: appID}, func(tx *sql.Tx) error {
		if _, err := appByID(ctx, tx, appID); err != nil {
			return err
		}
		var holder int64
		var heldBy, held string
		err := tx.QueryRowContext(ctx, `SELECT a.id, a.slug, d.pattern FROM app_domains d JOIN apps a ON a.id = d.app_id
			WHERE d.shape_key = ?`, shapeKey).Scan(&holder, &heldBy, &held)
		switch {
		case err == nil:
			msg := "%q is already claimed by app %q as %q"
			if holder == appID {
				msg = "%q is already claimed by this app (%[2]q) as %[3]q"
			}
			return shared.Errorf(shared.CodeDomainClaimed, msg, pattern, heldBy, held).
				With("field", "pattern").With("held_by", heldBy)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("claim %q: %w", pattern, err)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO app_domains (app_id, pattern, shape_key, created_at) VALUES (?, ?, ?, ?)`,
			appID, pattern, shapeKey, s.nowText(ctx))
		if err != nil {
			return fmt.Errorf("claim %q: %w", pattern, err)
		}
		id, _ := res.LastInsertId()
		d, err = scanDomain(tx.QueryRowContext(ctx, `SELECT id, app_id, pattern, created_at FROM app_domains WHERE id = ?`, id))
		return err
	})
	return d, err
}

// DeleteDomain drops a claim of an app. While a route of the app names a
// host that only this claim covers it is 409 domain_in_use; the default
// app's localhost claim stays (409 default_app).
func (s *Store) DeleteDomain(ctx context.Context, appID, domainID int64) error {
	return s.change(ctx, &Change{Kind: ChangeDomain, AppID: appID}, func(tx *sql.Tx) error {
		app, err := appByID(ctx, tx, appID)
		if err != nil {
			return err
		}
		ds, err := domains(ctx, tx, appID)
		if err != nil {
			return err
		}
		var gone *shared.Domain
		var others []shared.Domain
		for i := range ds {
			if ds[i].ID == domainID {
				gone = &ds[i]
			} else {
				others = append(others, ds[i])
			}
		}
		if gone == nil {
			return shared.NotFound("domain", domainID)
		}
		if app.Slug == shared.DefaultAppSlug && gone.Pattern == defaultAppDomain {
			return shared.Errorf(shared.CodeDefaultApp,
				"the default app always claims %s", defaultAppDomain)
		}
		rs, err := routes(ctx, tx, appID)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if r.Host == nil || !shared.DomainCovers(gone.Pattern, *r.Host) {
				continue
			}
			covered := false
			for _, o := range others {
				if shared.DomainCovers(o.Pattern, *r.Host) {
					covered = true
					break
				}
			}
			if !covered {
				return shared.Errorf(shared.CodeDomainInUse,
					"route %s %s on host %q needs the claim %q; delete the route first", r.Method, r.Path, *r.Host, gone.Pattern).
					With("route_id", r.ID).With("host", *r.Host)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM app_domains WHERE id = ?`, domainID); err != nil {
			return fmt.Errorf("delete domain %d: %w", domainID, err)
		}
		return nil
	})
}
