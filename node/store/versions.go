package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/picloud/picloud/shared"
)

// KeptVersions is how many contents of a script the store keeps, the
// current one included (SPEC §11).
const KeptVersions = 50

// keepVersion records sc's current content as a version and prunes the
// script's history to KeptVersions rows. It runs inside the write that
// gave sc that content.
func keepVersion(ctx context.Context, tx *sql.Tx, sc shared.Script, now string) error {
	sandbox, err := sandboxJSON(sc.Sandbox)
	if err != nil {
		return fmt.Errorf("keep version %d of script %d: sandbox: %w", sc.Version, sc.ID, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO script_versions (script_id, version, source, sandbox, created_at)
		VALUES (?, ?, ?, ?, ?)`, sc.ID, sc.Version, sc.Source, sandbox, now); err != nil {
		return fmt.Errorf("keep version %d of script %d: %w", sc.Version, sc.ID, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM script_versions WHERE script_id = ? AND version <=
		(SELECT version FROM script_versions WHERE script_id = ? ORDER BY version DESC LIMIT 1 OFFSET ?)`,
		sc.ID, sc.ID, KeptVersions); err != nil {
		return fmt.Errorf("prune versions of script %d: %w", sc.ID, err)
	}
	return nil
}

func scanVersion(sc scanner) (shared.ScriptVersion, error) {
	var v shared.ScriptVersion
	var sandbox string
	if err := sc.Scan(&v.Version, &v.Source, &sandbox, timeScan{&v.CreatedAt}); err != nil {
		return v, err
	}
	v.Sandbox = shared.Overrides{}
	if err := json.Unmarshal([]byte(sandbox), &v.Sandbox); err != nil {
		return v, fmt.Errorf("version %d: stored sandbox: %w", v.Version, err)
	}
	return v, nil
}

// ScriptVersions returns the kept contents of a script, the current one
// first (404 not_found for an unknown script).
func (s *Store) ScriptVersions(ctx context.Context, scriptID int64) ([]shared.ScriptVersion, error) {
	var out []shared.ScriptVersion
	err := s.read(ctx, func(tx *sql.Tx) error {
		if _, err := scriptByID(ctx, tx, scriptID); err != nil {
			return err
		}
		var err error
		out, err = queryAll(ctx, tx, scanVersion, `SELECT version, source, sandbox, created_at
			FROM script_versions WHERE script_id = ? ORDER BY version DESC`, scriptID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("versions of script %d: %w", scriptID, err)
	}
	return out, nil
}

// ScriptVersion returns one kept version of a script: 404 not_found for
// an unknown script or a version no longer (or never) kept.
func (s *Store) ScriptVersion(ctx context.Context, scriptID, version int64) (shared.ScriptVersion, error) {
	var v shared.ScriptVersion
	err := s.read(ctx, func(tx *sql.Tx) error {
		if _, err := scriptByID(ctx, tx, scriptID); err != nil {
			return err
		}
		var err error
		v, err = scanVersion(tx.QueryRowContext(ctx, `SELECT version, source, sandbox, created_at
			FROM script_versions WHERE script_id = ? AND version = ?`, scriptID, version))
		if errors.Is(err, sql.ErrNoRows) {
			return shared.Errorf(shared.CodeNotFound,
				"script %d has no kept version %d", scriptID, version).With("field", "version")
		}
		return err
	})
	return v, err
}
