package server

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picloud/picloud/shared"
)

// A node whose secrets.key went missing says so at start, naming the
// secrets it cannot open, and keeps them stored: putting the old key back
// brings them back.
func TestLostSecretsKeyIsReportedAtStart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	start := func() (*Node, string) {
		t.Helper()
		cfg := Defaults()
		cfg.DataDir, cfg.Bind, cfg.AdminBind, cfg.MDNS = dir, "127.0.0.1:0", "127.0.0.1:0", false
		var logs bytes.Buffer
		n, err := New(ctx, cfg, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		return n, logs.String()
	}
	n, logs := start()
	app, err := n.Store().CreateApp(ctx, shared.App{Slug: "shop", Name: "Shop"}, false)
	if err != nil {
		t.Fatal(err)
	}
	secret := true
	if _, err := n.Store().PutEnv(ctx, app.ID, "STRIPE_KEY", "sk_1", &secret); err != nil {
		t.Fatal(err)
	}
	n.Close()
	if strings.Contains(logs, "secrets") {
		t.Errorf("a healthy start reported secrets: %s", logs)
	}
	keyPath := filepath.Join(dir, "secrets.key")
	key, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(keyPath)

	n, logs = start()
	n.Close()
	for _, want := range []string{"level=ERROR", "1 secrets cannot be decrypted", keyPath, "was missing", "shop/STRIPE_KEY"} {
		if !strings.Contains(logs, want) {
			t.Errorf("start without the key does not say %q:\n%s", want, logs)
		}
	}

	if err := os.WriteFile(keyPath, key, 0o600); err != nil {
		t.Fatal(err)
	}
	n, logs = start()
	defer n.Close()
	if strings.Contains(logs, "cannot be decrypted") {
		t.Errorf("with the old key back: %s", logs)
	}
	snap, err := n.Store().Snapshot(ctx)
	if err != nil || len(snap.Env) != 1 || snap.Env[0].Value != "sk_1" {
		t.Errorf("secrets with the old key back: %+v, %v", snap, err)
	}
}

// A secrets.key that is not a key stops the node, naming the file, rather
// than being replaced.
func TestBrokenSecretsKeyStopsTheNode(t *testing.T) {
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "secrets.key")
	if err := os.WriteFile(keyPath, []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Defaults()
	cfg.DataDir, cfg.Bind, cfg.AdminBind, cfg.MDNS = dir, "127.0.0.1:0", "127.0.0.1:0", false
	n, err := New(context.Background(), cfg, nil)
	if err == nil {
		n.Close()
		t.Fatal("the node started with a broken secrets.key")
	}
	if !strings.Contains(err.Error(), keyPath) {
		t.Errorf("error %q does not name %s", err, keyPath)
	}
}
