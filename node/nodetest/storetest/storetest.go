// Package storetest opens real stores for tests: a SQLite file in the
// test's temporary directory, closed when the test ends. It imports only
// node/store, so the tests of packages the node is built from (which
// package nodetest, importing the whole node, cannot serve) use it too.
package storetest

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/picloud/picloud/node/store"
)

// Open opens a store on a fresh file in t.TempDir.
func Open(t testing.TB) *store.Store {
	t.Helper()
	return OpenAt(t, filepath.Join(t.TempDir(), "picloud.db"))
}

// OpenAt opens the store at path, e.g. again after a restart. It is closed
// after everything the test registers later (an orchestrator using it,
// say) has been cleaned up.
func OpenAt(t testing.TB, path string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open store %s: %v", path, err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
