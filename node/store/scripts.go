package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	"github.com/picloud/picloud/shared"
)

const scriptColumns = `s.id, s.app_id, a.slug, s.name, s.description, s.source, s.sandbox, s.memory_limit_mb,
	s.version, s.created_at, s.updated_at`

func scanScript(sc scanner) (shared.Script, error) {
	var s shared.Script
	var sandbox string
	err := sc.Scan(&s.ID, &s.AppID, &s.AppSlug, &s.Name, &s.Description, &s.Source, &sandbox, &s.MemoryLimitMB,
		&s.Version, timeScan{&s.CreatedAt}, timeScan{&s.UpdatedAt})
	if err != nil {
		return s, err
	}
	s.Sandbox = shared.Overrides{}
	if err := json.Unmarshal([]byte(sandbox), &s.Sandbox); err != nil {
		return s, fmt.Errorf("script %d: stored sandbox: %w", s.ID, err)
	}
	return s, nil
}

func queryScripts(ctx context.Context, q querier, where string, args ...any) ([]shared.Script, error) {
	return queryAll(ctx, q, scanScript, `SELECT `+scriptColumns+` FROM scripts s JOIN apps a ON a.id = s.app_id `+where+
		` ORDER BY s.id`, args...)
}

func scriptByID(ctx context.Context, q querier, id int64) (shared.Script, error) {
	sc, err := scanScript(q.QueryRowContext(ctx, `SELECT `+scriptColumns+` FROM scripts s JOIN apps a ON a.id = s.app_id
		WHERE s.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return sc, shared.NotFound("script", id)
	}
	if err != nil {
		return sc, fmt.Errorf("script %d: %w", id, err)
	}
	return sc, nil
}

// sandboxJSON is how overrides are stored: a JSON object, `{}` when empty.
func sandboxJSON(o shared.Overrides) (string, error) {
	if len(o) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(o)
	return string(b), err
}

// Scripts returns the scripts of an app (every app's for appID 0), oldest
// first. EffectiveSandbox is left zero: the caller knows the defaults.
func (s *Store) Scripts(ctx context.Context, appID int64) ([]shared.Script, error) {
	var out []shared.Script
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		if appID == 0 {
			out, err = queryScripts(ctx, tx, ``)
			return err
		}
		if _, err := appByID(ctx, tx, appID); err != nil {
			return err
		}
		out, err = queryScripts(ctx, tx, `WHERE s.app_id = ?`, appID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("scripts: %w", err)
	}
	return out, nil
}

// Script returns one script (404 not_found).
func (s *Store) Script(ctx context.Context, id int64) (shared.Script, error) {
	var sc shared.Script
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		sc, err = scriptByID(ctx, tx, id)
		return err
	})
	return sc, err
}

func nameTaken(name, appSlug string) error {
	return shared.Errorf(shared.CodeScriptNameTaken,
		"app %q already has a script called %q", appSlug, name).With("field", "name")
}

func scriptNameFree(ctx context.Context, tx *sql.Tx, appID int64, name string, self int64) (bool, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM scripts WHERE app_id = ? AND name = ?`, appID, name).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("script name %q: %w", name, err)
	}
	return id == self, nil
}

// CreateScript stores a new script of sc.AppID at version 1. The caller has
// validated name, source and sandbox. A name the app already uses is 409
// script_name_taken.
func (s *Store) CreateScript(ctx context.Context, sc shared.Script) (shared.Script, error) {
	var out shared.Script
	sandbox, err := sandboxJSON(sc.Sandbox)
	if err != nil {
		return out, fmt.Errorf("create script %q: sandbox: %w", sc.Name, err)
	}
	err = s.change(ctx, &Change{Kind: ChangeScript, AppID: sc.AppID}, func(tx *sql.Tx) error {
		app, err := appByID(ctx, tx, sc.AppID)
		if err != nil {
			return err
		}
		free, err := scriptNameFree(ctx, tx, sc.AppID, sc.Name, 0)
		if err != nil {
			return err
		}
		if !free {
			return nameTaken(sc.Name, app.Slug)
		}
		now := s.nowText(ctx)
		res, err := tx.ExecContext(ctx, `INSERT INTO scripts
			(app_id, name, description, source, sandbox, memory_limit_mb, version, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)`,
			sc.AppID, sc.Name, sc.Description, sc.Source, sandbox, sc.MemoryLimitMB, now, now)
		if err != nil {
			return fmt.Errorf("create script %q: %w", sc.Name, err)
		}
		id, _ := res.LastInsertId()
		if out, err = scriptByID(ctx, tx, id); err != nil {
			return err
		}
		return keepVersion(ctx, tx, out, now)
	})
	return out, err
}

// UpdateScript changes the fields set in u; when anything changes, version
// goes up by one (the executor's compile cache is keyed on it). With
// u.IfVersion, the version is compared inside the write transaction, so of
// two saves made against one version exactly one wins.
func (s *Store) UpdateScript(ctx context.Context, id int64, u shared.UpdateScriptRequest) (shared.Script, error) {
	var out shared.Script
	ch := Change{Kind: ChangeScript}
	err := s.change(ctx, &ch, func(tx *sql.Tx) error {
		cur, err := scriptByID(ctx, tx, id)
		if err != nil {
			return err
		}
		ch.AppID = cur.AppID
		if u.IfVersion != nil && *u.IfVersion != cur.Version {
			return shared.VersionConflict("script", id, cur.Version)
		}
		next := cur
		if u.Name != nil && *u.Name != cur.Name {
			free, err := scriptNameFree(ctx, tx, cur.AppID, *u.Name, id)
			if err != nil {
				return err
			}
			if !free {
				return nameTaken(*u.Name, cur.AppSlug)
			}
			next.Name = *u.Name
		}
		if u.Source != nil {
			next.Source = *u.Source
		}
		if u.Description != nil {
			next.Description = *u.Description
		}
		if u.MemoryLimitMB != nil {
			next.MemoryLimitMB = *u.MemoryLimitMB
		}
		if u.Sandbox != nil {
			next.Sandbox = maps.Clone(*u.Sandbox)
			if next.Sandbox == nil {
				next.Sandbox = shared.Overrides{}
			}
		}
		if next.Name == cur.Name && next.Source == cur.Source && next.Description == cur.Description &&
			next.MemoryLimitMB == cur.MemoryLimitMB && maps.Equal(next.Sandbox, cur.Sandbox) {
			out = cur
			return nil
		}
		sandbox, err := sandboxJSON(next.Sandbox)
		if err != nil {
			return fmt.Errorf("update script %d: sandbox: %w", id, err)
		}
		now := s.nowText(ctx)
		if _, err := tx.ExecContext(ctx, `UPDATE scripts SET name = ?, description = ?, source = ?, sandbox = ?,
			memory_limit_mb = ?, version = version + 1, updated_at = ? WHERE id = ?`,
			next.Name, next.Description, next.Source, sandbox, next.MemoryLimitMB, now, id); err != nil {
			return fmt.Errorf("update script %d: %w", id, err)
		}
		if out, err = scriptByID(ctx, tx, id); err != nil {
			return err
		}
		if next.Source == cur.Source && maps.Equal(next.Sandbox, cur.Sandbox) {
			return nil // a rename or a new description is no new content
		}
		return keepVersion(ctx, tx, out, now)
	})
	return out, err
}

// DeleteScript deletes a script and its routes. Its execution logs stay.
func (s *Store) DeleteScript(ctx context.Context, id int64) error {
	ch := Change{Kind: ChangeScript}
	return s.change(ctx, &ch, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `DELETE FROM scripts WHERE id = ? RETURNING app_id`, id).Scan(&ch.AppID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return shared.NotFound("script", id)
		case err != nil:
			return fmt.Errorf("delete script %d: %w", id, err)
		}
		return nil
	})
}
