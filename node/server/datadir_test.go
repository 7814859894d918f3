package server

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A data directory left open to other users (an unpacked backup, a
// mkdir with the default umask) is restricted to its owner at start, and
// the node says so; a fresh one is created owner-only.
func TestDataDirectoryIsRestrictedAtStart(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mode    os.FileMode // 0: the directory does not exist yet
		warning bool
	}{
		{"fresh", 0, false},
		{"open to the group and others", 0o755, true},
		{"writable by everyone", 0o777, true},
		{"already owner-only", 0o700, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if tc.mode != 0 {
				if err := os.Mkdir(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(dir, tc.mode); err != nil {
					t.Fatal(err)
				}
			}
			cfg := Defaults()
			cfg.DataDir, cfg.Bind, cfg.AdminBind, cfg.AdminTLS, cfg.MDNS = dir, "127.0.0.1:0", "127.0.0.1:0", false, false
			var log bytes.Buffer
			n, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(&log, nil)))
			if err != nil {
				t.Fatal(err)
			}
			n.dataLn.Close()
			n.adminLn.Close()
			n.shutdown()
			st, err := os.Stat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o700 {
				t.Errorf("data directory is %v, want drwx------", st.Mode().Perm())
			}
			if said := strings.Contains(log.String(), "restricted it to its owner"); said != tc.warning {
				t.Errorf("warning logged: %t, want %t\n%s", said, tc.warning, log.String())
			}
		})
	}
}
