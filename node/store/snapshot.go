package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/picloud/picloud/shared"
)

// Snapshot is everything the data plane needs, read in one transaction so it
// never mixes states from before and after a change.
type Snapshot struct {
	Apps    []shared.App // with counts and Domains
	Domains []shared.Domain
	Scripts []shared.Script // with Source; EffectiveSandbox left zero
	Routes  []shared.Route
	// Egress holds the egress allowlists of the apps that have one, by
	// app id (SPEC §10).
	Egress map[int64][]string
	Env    []EnvValue // variables and secrets in clear, by app and name
	Schema int
}

// Snapshot reads a consistent copy of all apps, domains, scripts, routes
// (each ordered by id) and variables.
func (s *Store) Snapshot(ctx context.Context) (*Snapshot, error) {
	snap := &Snapshot{Schema: s.schema}
	err := s.read(ctx, func(tx *sql.Tx) error {
		var err error
		if snap.Apps, snap.Domains, err = listApps(ctx, tx); err != nil {
			return err
		}
		if snap.Scripts, err = queryScripts(ctx, tx, ``); err != nil {
			return err
		}
		if snap.Routes, err = queryRoutes(ctx, tx, ``); err != nil {
			return err
		}
		if snap.Egress, err = allEgress(ctx, tx); err != nil {
			return err
		}
		snap.Env, err = s.snapshotEnv(ctx, tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return snap, nil
}
