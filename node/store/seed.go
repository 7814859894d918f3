package store

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"

	"github.com/picloud/picloud/shared"
)

// helloWorld is the seed script: a fresh node answers GET / on localhost with
// "Hello, World!" at once.
//
//go:embed seed/hello-world.js
var helloWorld string

const (
	defaultAppName   = "Default"
	defaultAppDesc   = "Answers on localhost. It always exists and keeps its slug."
	defaultAppDomain = "localhost" // the claim the default app always keeps
	seedScriptName   = "hello-world"

	// metaDefaultHadScript records that the default app has had a script,
	// so deleting the seeded script never brings it back.
	metaDefaultHadScript = "default_app_had_script"
)

// seed makes sure the default app exists and claims localhost, and seeds the
// hello-world script on a fresh install. It runs on every Open and is
// idempotent.
func (s *Store) seed(ctx context.Context) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		id, err := s.ensureDefaultApp(ctx, tx)
		if err != nil {
			return err
		}
		var had string
		err = tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, metaDefaultHadScript).Scan(&had)
		switch {
		case err == nil:
			return nil // seeded before, or the user has had scripts: never again
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("read seed flag: %w", err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM scripts WHERE app_id = ?`, id).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			now := s.nowText(ctx)
			res, err := tx.ExecContext(ctx, `INSERT INTO scripts (app_id, name, description, source, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?)`, id, seedScriptName, "Seeded on first start; edit or delete it freely.", helloWorld, now, now)
			if err != nil {
				return fmt.Errorf("seed %s: %w", seedScriptName, err)
			}
			scriptID, _ := res.LastInsertId()
			if err := keepVersion(ctx, tx, shared.Script{ID: scriptID, Version: 1, Source: helloWorld}, now); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO routes (app_id, script_id, method, path, host, created_at)
				VALUES (?, ?, 'GET', '/', NULL, ?)`, id, scriptID, now); err != nil {
				return fmt.Errorf("seed route GET /: %w", err)
			}
			s.log.Info("seeded script", "app", shared.DefaultAppSlug, "script", seedScriptName, "route", "GET /")
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)`, metaDefaultHadScript, s.nowText(ctx))
		return err
	})
}

// defaultAppClaims are the default app's claims on a fresh install
// (migration 0010 adds the loopback addresses on older databases).
var defaultAppClaims = []string{defaultAppDomain, "127.0.0.1", "::1"}

// ensureDefaultApp creates the default app, claiming localhost and the
// loopback addresses, if it is missing, and returns its id.
func (s *Store) ensureDefaultApp(ctx context.Context, tx *sql.Tx) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM apps WHERE slug = ?`, shared.DefaultAppSlug).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("find default app: %w", err)
	}
	// "default" could only be someone's old slug in a database edited by
	// hand; the default app wins it back.
	if _, err := tx.ExecContext(ctx, `DELETE FROM app_slug_history WHERE slug = ?`, shared.DefaultAppSlug); err != nil {
		return 0, err
	}
	now := s.nowText(ctx)
	res, err := tx.ExecContext(ctx, `INSERT INTO apps (slug, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		shared.DefaultAppSlug, defaultAppName, defaultAppDesc, now, now)
	if err != nil {
		return 0, fmt.Errorf("create default app: %w", err)
	}
	id, _ = res.LastInsertId()
	// A claim another app holds already stays with it.
	for _, claim := range defaultAppClaims {
		pattern, shapeKey, err := shared.NormalizeDomain(claim)
		if err != nil {
			return 0, fmt.Errorf("normalise %s: %w", claim, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO app_domains (app_id, pattern, shape_key, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (shape_key) DO NOTHING`, id, pattern, shapeKey, now); err != nil {
			return 0, fmt.Errorf("claim %s: %w", claim, err)
		}
	}
	s.log.Info("created default app", "slug", shared.DefaultAppSlug, "domains", defaultAppClaims)
	return id, nil
}
