package store

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/picloud/picloud/shared"
)

// openTest opens a fresh store in t.TempDir and closes it at the end.
func openTest(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "picloud.db")
	s, err := Open(context.Background(), path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestOpenSeedsDefaultApp(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a, err := s.App(ctx, shared.DefaultAppSlug)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Domains) != 1 || a.Domains[0].Pattern != "localhost" {
		t.Fatalf("default app domains = %+v, want localhost", a.Domains)
	}
	scripts, err := s.Scripts(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(scripts) != 1 || scripts[0].Name != "hello-world" || scripts[0].Version != 1 {
		t.Fatalf("scripts = %+v", scripts)
	}
	rs, err := s.Routes(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Method != "GET" || rs[0].Path != "/" || rs[0].Host != nil || rs[0].ScriptID != scripts[0].ID {
		t.Fatalf("routes = %+v", rs)
	}
	if s.SchemaVersion() != 2 {
		t.Fatalf("schema = %d", s.SchemaVersion())
	}
}
