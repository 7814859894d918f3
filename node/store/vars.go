package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/picloud/picloud/shared"
)

// Sealer encrypts the apps' secrets at rest (node/secrets): what Seal
// makes for ad opens only with the same ad.
type Sealer interface {
	Seal(plain, ad []byte) ([]byte, error)
	Open(sealed, ad []byte) ([]byte, error)
}

// UseSecrets sets the key secrets are sealed under. Call it once, before
// the store is used; without it, setting a secret fails and reads leave
// every secret out, as unreadable.
func (s *Store) UseSecrets(k Sealer) { s.secrets = k }

// EnvValue is one variable or secret with its value in clear, as runs see
// it (Snapshot.Env).
type EnvValue struct {
	AppID  int64
	Name   string
	Value  string
	Secret bool
}

// envAD binds a sealed value to its app and name, so that a row copied
// over another does not open.
func envAD(appID int64, name string) []byte {
	return []byte("picloud/env\x00" + strconv.FormatInt(appID, 10) + "\x00" + name)
}

// envRow is one row of app_env as stored.
type envRow struct {
	shared.EnvVar
	appID  int64
	value  sql.NullString
	sealed []byte
}

func scanEnvRow(sc scanner) (envRow, error) {
	var r envRow
	err := sc.Scan(&r.appID, &r.Name, &r.value, &r.sealed, timeScan{&r.UpdatedAt})
	r.Secret = r.sealed != nil
	return r, err
}

const envColumns = `app_id, name, value, sealed, updated_at`

func queryEnv(ctx context.Context, q querier, where string, args ...any) ([]envRow, error) {
	return queryAll(ctx, q, scanEnvRow, `SELECT `+envColumns+` FROM app_env `+where+` ORDER BY app_id, name`, args...)
}

// open returns the row's value in clear; ok is false for a secret that
// does not open under the store's key.
func (s *Store) open(r envRow) (value string, ok bool) {
	if !r.Secret {
		return r.value.String, true
	}
	if s.secrets == nil {
		return "", false
	}
	plain, err := s.secrets.Open(r.sealed, envAD(r.appID, r.Name))
	return string(plain), err == nil
}

// public is the row as the admin API shows it: a secret without its value.
func (s *Store) public(r envRow) shared.EnvVar {
	v := r.EnvVar
	if r.Secret {
		_, ok := s.open(r)
		v.Unreadable = !ok
		return v
	}
	value := r.value.String
	v.Value = &value
	return v
}

// Env lists the variables and secrets of an app by name (404 not_found
// for an unknown app). Secrets come without their values.
func (s *Store) Env(ctx context.Context, appID int64) ([]shared.EnvVar, error) {
	out := []shared.EnvVar{}
	err := s.read(ctx, func(tx *sql.Tx) error {
		if _, err := appByID(ctx, tx, appID); err != nil {
			return err
		}
		rows, err := queryEnv(ctx, tx, `WHERE app_id = ?`, appID)
		for _, r := range rows {
			out = append(out, s.public(r))
		}
		return err
	})
	return out, err
}

// PutEnv sets variable or secret name of an app (name and value validated
// by the caller) and returns it as Env lists it. secret nil keeps an
// existing entry's kind and makes a new one plain. A new entry beyond
// shared.MaxEnvEntries is 422 validation_failed on name.
func (s *Store) PutEnv(ctx context.Context, appID int64, name, value string, secret *bool) (shared.EnvVar, error) {
	var out shared.EnvVar
	err := s.change(ctx, &Change{Kind: ChangeEnv, AppID: appID}, func(tx *sql.Tx) error {
		if _, err := appByID(ctx, tx, appID); err != nil {
			return err
		}
		old, err := queryEnv(ctx, tx, `WHERE app_id = ? AND name = ?`, appID, name)
		if err != nil {
			return err
		}
		if len(old) == 0 {
			if err := checkEnvRoom(ctx, tx, appID); err != nil {
				return err
			}
		}
		isSecret := len(old) == 1 && old[0].Secret
		if secret != nil {
			isSecret = *secret
		}
		row := envRow{appID: appID}
		row.Name, row.Secret = name, isSecret
		if isSecret {
			if s.secrets == nil {
				return errors.New("set secret: the node has no secrets key")
			}
			if row.sealed, err = s.secrets.Seal([]byte(value), envAD(appID, name)); err != nil {
				return err
			}
		} else {
			row.value = sql.NullString{String: value, Valid: true}
		}
		now := s.nowText(ctx)
		_, err = tx.ExecContext(ctx, `INSERT INTO app_env (`+envColumns+`) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (app_id, name) DO UPDATE SET value = excluded.value, sealed = excluded.sealed, updated_at = excluded.updated_at`,
			appID, name, row.value, row.sealed, now)
		if err != nil {
			return fmt.Errorf("set %s of app %d: %w", name, appID, err)
		}
		rows, err := queryEnv(ctx, tx, `WHERE app_id = ? AND name = ?`, appID, name)
		if err == nil && len(rows) == 1 {
			out = s.public(rows[0])
		}
		return err
	})
	return out, err
}

func checkEnvRoom(ctx context.Context, q querier, appID int64) error {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM app_env WHERE app_id = ?`, appID).Scan(&n); err != nil {
		return fmt.Errorf("count variables of app %d: %w", appID, err)
	}
	if n >= shared.MaxEnvEntries {
		return shared.Validation("name", "an app has at most %d variables and secrets; delete one first", shared.MaxEnvEntries).
			With("limit", shared.MaxEnvEntries)
	}
	return nil
}

// DeleteEnv removes variable or secret name of an app (404 not_found when
// the app has none of that name).
func (s *Store) DeleteEnv(ctx context.Context, appID int64, name string) error {
	return s.change(ctx, &Change{Kind: ChangeEnv, AppID: appID}, func(tx *sql.Tx) error {
		if _, err := appByID(ctx, tx, appID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM app_env WHERE app_id = ? AND name = ?`, appID, name)
		if err != nil {
			return fmt.Errorf("delete %s of app %d: %w", name, appID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return shared.NotFound("variable", name)
		}
		return nil
	})
}

// snapshotEnv reads every variable and secret in clear for runs, by app
// and name; secrets that do not open are left out.
func (s *Store) snapshotEnv(ctx context.Context, q querier) ([]EnvValue, error) {
	rows, err := queryEnv(ctx, q, ``)
	if err != nil {
		return nil, err
	}
	out := make([]EnvValue, 0, len(rows))
	for _, r := range rows {
		if v, ok := s.open(r); ok {
			out = append(out, EnvValue{AppID: r.appID, Name: r.Name, Value: v, Secret: r.Secret})
		}
	}
	return out, nil
}

// UnreadableSecret names a stored secret that the store's key does not
// open.
type UnreadableSecret struct {
	App, Name string // app slug and the secret's name
}

// UnreadableSecrets lists the secrets the store's key does not open: the
// node reports them at start, since they mean secrets.key was replaced or
// lost.
func (s *Store) UnreadableSecrets(ctx context.Context) ([]UnreadableSecret, error) {
	var out []UnreadableSecret
	err := s.read(ctx, func(tx *sql.Tx) error {
		rows, err := queryEnv(ctx, tx, `WHERE sealed IS NOT NULL`)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if _, ok := s.open(r); ok {
				continue
			}
			app, err := appByID(ctx, tx, r.appID)
			if err != nil {
				return err
			}
			out = append(out, UnreadableSecret{App: app.Slug, Name: r.Name})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("check secrets: %w", err)
	}
	return out, nil
}
