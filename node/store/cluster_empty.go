package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/picloud/picloud/shared"
)

// HoldsOwnData reports whether the node holds anything but the seeded
// default app and its seeded script: another app, a script, a variable or
// secret, or a KV entry. Such a node may not join a cluster (SPEC §12):
// joining replaces its data with the cluster's.
func (s *Store) HoldsOwnData(ctx context.Context) (bool, error) {
	var n int
	err := s.read(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT
			(SELECT COUNT(*) FROM apps WHERE slug <> ?) +
			(SELECT COUNT(*) FROM scripts s JOIN apps a ON a.id = s.app_id
				WHERE NOT (a.slug = ? AND s.name = ?)) +
			(SELECT COUNT(*) FROM app_env) +
			(SELECT COUNT(*) FROM kv_entries)`,
			shared.DefaultAppSlug, shared.DefaultAppSlug, seedScriptName).Scan(&n)
	})
	if err != nil {
		return false, fmt.Errorf("check for data of its own: %w", err)
	}
	return n > 0, nil
}
