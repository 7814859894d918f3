package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/picloud/picloud/shared"
)

// ImportPlan is an app to create in one transaction, validated by the
// caller (the manager's import). Routes and schedules name scripts by
// their index in Scripts.
type ImportPlan struct {
	App       shared.App
	SlugField string // the document's path of the slug, for errors
	Takeover  bool
	Domains   []ImportDomain
	Scripts   []shared.Script
	Routes    []ImportRoute
	Schedules []ImportSchedule
	Egress    []string
	Env       []ImportEnv
	KV        []shared.ExportKV
}

type ImportDomain struct{ Pattern, Shape string }

type ImportRoute struct {
	Script       int
	Method, Path string
	Host         *string
}

type ImportSchedule struct {
	Script         int
	Cron, Timezone string
}

type ImportEnv struct {
	Name, Value string
	Secret      bool
}

// ImportApp creates the app of p with everything it holds, or nothing: the
// conflicts only the database can see (slug, domains claimed by other
// apps) fail the whole import with field naming the document's path.
func (s *Store) ImportApp(ctx context.Context, p ImportPlan) (shared.App, error) {
	var out shared.App
	ch := Change{Kind: ChangeApp}
	err := s.change(ctx, &ch, func(tx *sql.Tx) error {
		if err := claimSlug(ctx, tx, 0, p.App.Slug, p.Takeover); err != nil {
			if e, ok := shared.AsError(err); ok {
				return e.With("field", p.SlugField)
			}
			return err
		}
		now := s.nowText(ctx)
		res, err := tx.ExecContext(ctx, `INSERT INTO apps (slug, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			p.App.Slug, p.App.Name, p.App.Description, now, now)
		if err != nil {
			return fmt.Errorf("import app %q: %w", p.App.Slug, err)
		}
		appID, _ := res.LastInsertId()
		ch.AppID = appID
		if err := importDomains(ctx, tx, appID, p.Domains, now); err != nil {
			return err
		}
		ids, err := s.importScripts(ctx, tx, appID, p.Scripts, now)
		if err != nil {
			return err
		}
		if err := importRest(ctx, tx, appID, ids, p, now); err != nil {
			return err
		}
		if err := s.importEnv(ctx, tx, appID, p.Env, now); err != nil {
			return err
		}
		out, err = appWithDomains(ctx, tx, appID)
		return err
	})
	if err == nil {
		s.kvCache.forgetApp(out.ID) // its entries were written here, not by ApplyKV
	}
	return out, err
}

func importDomains(ctx context.Context, tx *sql.Tx, appID int64, ds []ImportDomain, now string) error {
	for i, d := range ds {
		var heldBy string
		err := tx.QueryRowContext(ctx, `SELECT a.slug FROM app_domains d JOIN apps a ON a.id = d.app_id
			WHERE d.shape_key = ?`, d.Shape).Scan(&heldBy)
		switch {
		case err == nil:
			return shared.Errorf(shared.CodeDomainClaimed, "%q is already claimed by app %q", d.Pattern, heldBy).
				With("field", fmt.Sprintf("domains[%d]", i)).With("held_by", heldBy)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("claim %q: %w", d.Pattern, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO app_domains (app_id, pattern, shape_key, created_at) VALUES (?, ?, ?, ?)`,
			appID, d.Pattern, d.Shape, now); err != nil {
			return fmt.Errorf("claim %q: %w", d.Pattern, err)
		}
	}
	return nil
}

func (s *Store) importScripts(ctx context.Context, tx *sql.Tx, appID int64, scripts []shared.Script, now string) ([]int64, error) {
	ids := make([]int64, len(scripts))
	for i, sc := range scripts {
		sandbox, err := sandboxJSON(sc.Sandbox)
		if err != nil {
			return nil, fmt.Errorf("import script %q: %w", sc.Name, err)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO scripts
			(app_id, name, description, source, sandbox, memory_limit_mb, version, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, 0, 1, ?, ?)`, appID, sc.Name, sc.Description, sc.Source, sandbox, now, now)
		if err != nil {
			return nil, fmt.Errorf("import script %q: %w", sc.Name, err)
		}
		ids[i], _ = res.LastInsertId()
		sc.ID, sc.Version = ids[i], 1
		if err := keepVersion(ctx, tx, sc, now); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// importRest writes routes, schedules, egress and KV entries.
func importRest(ctx context.Context, tx *sql.Tx, appID int64, ids []int64, p ImportPlan, now string) error {
	for _, r := range p.Routes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO routes (app_id, script_id, method, path, host, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, appID, ids[r.Script], r.Method, r.Path, r.Host, now); err != nil {
			return fmt.Errorf("import route %s %s: %w", r.Method, r.Path, err)
		}
	}
	for _, sc := range p.Schedules {
		if _, err := tx.ExecContext(ctx, `INSERT INTO schedules (app_id, script_id, cron, timezone, created_at)
			VALUES (?, ?, ?, ?, ?)`, appID, ids[sc.Script], sc.Cron, sc.Timezone, now); err != nil {
			return fmt.Errorf("import schedule %q: %w", sc.Cron, err)
		}
	}
	for i, e := range p.Egress {
		if _, err := tx.ExecContext(ctx, `INSERT INTO app_egress (app_id, position, entry) VALUES (?, ?, ?)`, appID, i, e); err != nil {
			return fmt.Errorf("import egress entry %q: %w", e, err)
		}
	}
	for _, kv := range p.KV {
		var meta, exp any
		if len(kv.Metadata) > 0 {
			meta = string(kv.Metadata)
		}
		if kv.Expiration > 0 {
			exp = kv.Expiration
		}
		size := len(kv.Key) + len(kv.Value) + len(kv.Metadata)
		if _, err := tx.ExecContext(ctx, `INSERT INTO kv_entries (app_id, key, value, metadata, expiration, size, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, appID, kv.Key, []byte(kv.Value), meta, exp, size, now); err != nil {
			return fmt.Errorf("import kv %q: %w", kv.Key, err)
		}
	}
	return nil
}

func (s *Store) importEnv(ctx context.Context, tx *sql.Tx, appID int64, env []ImportEnv, now string) error {
	for _, e := range env {
		row := envRow{appID: appID}
		row.Name, row.Secret = e.Name, e.Secret
		if e.Secret {
			if s.secrets == nil {
				return errors.New("import secret: the node has no secrets key")
			}
			var err error
			if row.sealed, err = s.secrets.Seal([]byte(e.Value), envAD(appID, e.Name)); err != nil {
				return err
			}
		} else {
			row.value = sql.NullString{String: e.Value, Valid: true}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO app_env (`+envColumns+`) VALUES (?, ?, ?, ?, ?)`,
			appID, e.Name, row.value, row.sealed, now); err != nil {
			return fmt.Errorf("import %s: %w", e.Name, err)
		}
	}
	return nil
}
