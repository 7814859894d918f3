package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/picloud/picloud/shared"
)

// The database and its -wal and -shm files are readable by their owner
// only: on a fresh install, and on a node whose files an older version or
// a copy left open to others.
func TestDatabaseFilesAreOwnerOnly(t *testing.T) {
	for _, tc := range []struct {
		name string
		prep func(t *testing.T, path string)
	}{
		{"fresh install", func(*testing.T, string) {}},
		{"files left world-readable", func(t *testing.T, path string) {
			s := openAt(t, path)
			if _, err := s.CreateApp(context.Background(), shared.App{Slug: "a", Name: "a"}, false); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				if err := os.Chmod(p, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			s.Close()
			if err := os.Chmod(path, 0o666); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "picloud.db")
			tc.prep(t, path)
			s := openAt(t, path)
			defer s.Close()
			if _, err := s.CreateApp(context.Background(), shared.App{Slug: "b", Name: "b"}, false); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				st, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if st.Mode().Perm() != 0o600 {
					t.Errorf("%s is %v, want -rw-------", filepath.Base(p), st.Mode().Perm())
				}
			}
		})
	}
}
