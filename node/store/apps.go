package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/picloud/picloud/shared"
)

// appColumns selects an app with its counts; scanApp reads it.
const appColumns = `a.id, a.slug, a.name, a.description, a.created_at, a.updated_at,
	(SELECT count(*) FROM scripts WHERE app_id = a.id),
	(SELECT count(*) FROM routes WHERE app_id = a.id),
	(SELECT count(*) FROM app_domains WHERE app_id = a.id),
	ifnull((SELECT keys FROM kv_usage WHERE app_id = a.id), 0),
	ifnull((SELECT bytes FROM kv_usage WHERE app_id = a.id), 0)`

type scanner interface{ Scan(dest ...any) error }

func scanApp(sc scanner) (shared.App, error) {
	var a shared.App
	err := sc.Scan(&a.ID, &a.Slug, &a.Name, &a.Description, timeScan{&a.CreatedAt}, timeScan{&a.UpdatedAt},
		&a.ScriptCount, &a.RouteCount, &a.DomainCount, &a.KVKeys, &a.KVBytes)
	return a, err
}

// ListApps returns every app with its domains and counts, oldest first.
func (s *Store) ListApps(ctx context.Context) ([]shared.App, error) {
	var apps []shared.App
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		apps, _, err = listApps(ctx, tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list apps: %w", err)
	}
	return apps, nil
}

// listApps returns every app with Domains filled ([] when none), and all
// domains.
func listApps(ctx context.Context, q querier) ([]shared.App, []shared.Domain, error) {
	apps, err := queryAll(ctx, q, scanApp, `SELECT `+appColumns+` FROM apps a ORDER BY a.id`)
	if err != nil {
		return nil, nil, err
	}
	ds, err := queryDomains(ctx, q, ``)
	if err != nil {
		return nil, nil, err
	}
	byApp := make(map[int64][]shared.Domain, len(apps))
	for _, d := range ds {
		byApp[d.AppID] = append(byApp[d.AppID], d)
	}
	for i := range apps {
		apps[i].Domains = byApp[apps[i].ID]
		if apps[i].Domains == nil {
			apps[i].Domains = []shared.Domain{}
		}
	}
	return apps, ds, nil
}

// App returns one app, with its domains and counts, by ref: its decimal id
// or its current slug. Unknown refs are 404 not_found.
func (s *Store) App(ctx context.Context, ref string) (shared.App, error) {
	var a shared.App
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		if a, err = appByRef(ctx, tx, ref); err != nil {
			return err
		}
		a.Domains, err = domains(ctx, tx, a.ID)
		return err
	})
	return a, err
}

// appByRef finds an app by id, else by current slug: an all-digit slug is
// still reachable when no app has that id.
func appByRef(ctx context.Context, q querier, ref string) (shared.App, error) {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		a, err := appByID(ctx, q, id)
		if !shared.IsCode(err, shared.CodeNotFound) {
			return a, err
		}
	}
	a, err := scanApp(q.QueryRowContext(ctx, `SELECT `+appColumns+` FROM apps a WHERE a.slug = ?`, ref))
	if errors.Is(err, sql.ErrNoRows) {
		return a, shared.NotFound("app", ref)
	}
	if err != nil {
		return a, fmt.Errorf("app %q: %w", ref, err)
	}
	return a, nil
}

func appByID(ctx context.Context, q querier, id int64) (shared.App, error) {
	a, err := scanApp(q.QueryRowContext(ctx, `SELECT `+appColumns+` FROM apps a WHERE a.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, shared.NotFound("app", id)
	}
	if err != nil {
		return a, fmt.Errorf("app %d: %w", id, err)
	}
	return a, nil
}

// appWithDomains is appByID with Domains filled, as writes return it.
func appWithDomains(ctx context.Context, q querier, id int64) (shared.App, error) {
	a, err := appByID(ctx, q, id)
	if err != nil {
		return a, err
	}
	a.Domains, err = domains(ctx, q, id)
	return a, err
}

// AppByOldSlug returns the app an old slug redirects to, as it is now; every
// slug of a rename chain leads to the same current app. 404 when slug is no
// app's old slug.
func (s *Store) AppByOldSlug(ctx context.Context, slug string) (shared.App, error) {
	var a shared.App
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		a, err = scanApp(tx.QueryRowContext(ctx, `SELECT `+appColumns+`
			FROM app_slug_history h JOIN apps a ON a.id = h.app_id WHERE h.slug = ?`, slug))
		if errors.Is(err, sql.ErrNoRows) {
			return shared.Errorf(shared.CodeNotFound, "no app was ever called %q", slug)
		}
		return err
	})
	return a, err
}

// SlugHistory lists an app's old slugs, newest first (404 for no app).
func (s *Store) SlugHistory(ctx context.Context, appID int64) ([]shared.OldSlug, error) {
	out := []shared.OldSlug{}
	err := s.read(ctx, func(tx *sql.Tx) error {
		if _, err := appByID(ctx, tx, appID); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT slug, created_at FROM app_slug_history WHERE app_id = ?
			ORDER BY created_at DESC, slug`, appID)
		if err != nil {
			return fmt.Errorf("slug history: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var o shared.OldSlug
			if err := rows.Scan(&o.Slug, timeScan{&o.CreatedAt}); err != nil {
				return fmt.Errorf("slug history: %w", err)
			}
			out = append(out, o)
		}
		return rows.Err()
	})
	return out, err
}

// SlugStatus says what slug is to app appID (0 for an app not created yet):
// shared.SlugCurrent, SlugAvailable, SlugOwnHistory, SlugReserved or
// SlugTaken, with heldBy naming the other app's current slug for the last
// two. The caller has validated slug.
func (s *Store) SlugStatus(ctx context.Context, appID int64, slug string) (status, heldBy string, err error) {
	err = s.read(ctx, func(tx *sql.Tx) error {
		if appID != 0 {
			if _, err := appByID(ctx, tx, appID); err != nil {
				return err
			}
		}
		status, heldBy, err = slugStatus(ctx, tx, appID, slug)
		return err
	})
	return status, heldBy, err
}

func slugStatus(ctx context.Context, q querier, appID int64, slug string) (status, heldBy string, err error) {
	var owner int64
	err = q.QueryRowContext(ctx, `SELECT id FROM apps WHERE slug = ?`, slug).Scan(&owner)
	switch {
	case err == nil && owner == appID:
		return shared.SlugCurrent, "", nil
	case err == nil:
		return shared.SlugTaken, slug, nil
	case !errors.Is(err, sql.ErrNoRows):
		return "", "", fmt.Errorf("slug %q: %w", slug, err)
	}
	err = q.QueryRowContext(ctx, `SELECT h.app_id, a.slug FROM app_slug_history h JOIN apps a ON a.id = h.app_id
		WHERE h.slug = ?`, slug).Scan(&owner, &heldBy)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return shared.SlugAvailable, "", nil
	case err != nil:
		return "", "", fmt.Errorf("slug %q: %w", slug, err)
	case owner == appID:
		return shared.SlugOwnHistory, "", nil
	}
	return shared.SlugReserved, heldBy, nil
}

// claimSlug makes slug free for app appID inside tx: 409 slug_taken when it
// is another app's current slug, 409 slug_reserved when it is another app's
// old slug and takeover is false. An own or (with takeover) another app's
// history entry is removed, so that old slug stops redirecting.
func claimSlug(ctx context.Context, tx *sql.Tx, appID int64, slug string, takeover bool) error {
	status, heldBy, err := slugStatus(ctx, tx, appID, slug)
	if err != nil {
		return err
	}
	switch status {
	case shared.SlugTaken:
		return shared.Errorf(shared.CodeSlugTaken,
			"slug %q is the current slug of another app", slug).With("field", "slug").With("held_by", heldBy)
	case shared.SlugReserved:
		if !takeover {
			return shared.Errorf(shared.CodeSlugReserved,
				"slug %q is an old slug of app %q and still redirects there; check it and confirm the takeover", slug, heldBy).
				With("field", "slug").With("held_by", heldBy)
		}
		fallthrough
	case shared.SlugOwnHistory:
		if _, err := tx.ExecContext(ctx, `DELETE FROM app_slug_history WHERE slug = ?`, slug); err != nil {
			return fmt.Errorf("release old slug %q: %w", slug, err)
		}
	}
	return nil
}

// CreateApp creates an app with a.Slug, a.Name and a.Description (validated
// by the caller). takeover allows taking another app's old slug.
func (s *Store) CreateApp(ctx context.Context, a shared.App, takeover bool) (shared.App, error) {
	var out shared.App
	ch := Change{Kind: ChangeApp}
	err := s.change(ctx, &ch, func(tx *sql.Tx) error {
		if err := claimSlug(ctx, tx, 0, a.Slug, takeover); err != nil {
			return err
		}
		now := s.nowText(ctx)
		res, err := tx.ExecContext(ctx, `INSERT INTO apps (slug, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			a.Slug, a.Name, a.Description, now, now)
		if err != nil {
			return fmt.Errorf("create app %q: %w", a.Slug, err)
		}
		id, _ := res.LastInsertId()
		ch.AppID = id
		out, err = appWithDomains(ctx, tx, id)
		return err
	})
	return out, err
}

// UpdateApp changes the fields set in u. A new slug moves the old one into the
// slug history (pointing at this app); takeover allows taking another app's
// old slug. The default app's slug never changes (409 default_app).
func (s *Store) UpdateApp(ctx context.Context, id int64, u shared.UpdateAppRequest, takeover bool) (shared.App, error) {
	var out shared.App
	err := s.change(ctx, &Change{Kind: ChangeApp, AppID: id}, func(tx *sql.Tx) error {
		cur, err := appByID(ctx, tx, id)
		if err != nil {
			return err
		}
		next := cur
		if u.Name != nil {
			next.Name = *u.Name
		}
		if u.Description != nil {
			next.Description = *u.Description
		}
		if u.Slug != nil && *u.Slug != cur.Slug {
			if cur.Slug == shared.DefaultAppSlug {
				return shared.Errorf(shared.CodeDefaultApp,
					"the default app keeps its slug %q", cur.Slug).With("field", "slug")
			}
			if err := claimSlug(ctx, tx, id, *u.Slug, takeover); err != nil {
				return err
			}
			next.Slug = *u.Slug
			if _, err := tx.ExecContext(ctx, `INSERT INTO app_slug_history (slug, app_id, created_at) VALUES (?, ?, ?)
				ON CONFLICT (slug) DO UPDATE SET app_id = excluded.app_id, created_at = excluded.created_at`,
				cur.Slug, id, s.nowText(ctx)); err != nil {
				return fmt.Errorf("keep old slug %q: %w", cur.Slug, err)
			}
		}
		if next.Slug != cur.Slug || next.Name != cur.Name || next.Description != cur.Description {
			if _, err := tx.ExecContext(ctx, `UPDATE apps SET slug = ?, name = ?, description = ?, updated_at = ? WHERE id = ?`,
				next.Slug, next.Name, next.Description, s.nowText(ctx), id); err != nil {
				return fmt.Errorf("update app %d: %w", id, err)
			}
		}
		out, err = appWithDomains(ctx, tx, id)
		return err
	})
	return out, err
}

// DeleteApp deletes an app with its domains, slug history, scripts, routes
// and logs. The default app cannot be deleted (409 default_app).
func (s *Store) DeleteApp(ctx context.Context, id int64) error {
	defer s.kvCache.forgetApp(id) // its entries went with it
	return s.change(ctx, &Change{Kind: ChangeApp, AppID: id}, func(tx *sql.Tx) error {
		a, err := appByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if a.Slug == shared.DefaultAppSlug {
			return shared.Errorf(shared.CodeDefaultApp, "the default app cannot be deleted")
		}
		// Logs have no foreign key on their app (migration 0004): a key
		// made every logged request look the app up.
		if _, err := tx.ExecContext(ctx, deleteAppLogsSQL, id); err != nil {
			return fmt.Errorf("delete logs of app %d: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM apps WHERE id = ?`, id); err != nil {
			return fmt.Errorf("delete app %d: %w", id, err)
		}
		return nil
	})
}
