// Package nodetest starts a whole PiCloud node in-process for tests: a real
// SQLite file in a temporary directory, both listeners on loopback, plain
// HTTP admin and mDNS off, and a ready admin client.
package nodetest

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/picloud/picloud/node/server"
	"github.com/picloud/picloud/shared"
)

// Node is a running in-process node.
type Node struct {
	*server.Node
	AdminURL string
	DataURL  string
	Token    string
	Client   *shared.Client

	stop func()
	done chan error
}

// Start starts a node in a fresh temporary data directory. Options adjust
// the configuration before the node starts. The node stops at the end of
// the test.
func Start(t testing.TB, opts ...func(*server.Config)) *Node {
	t.Helper()
	return StartIn(t, t.TempDir(), opts...)
}

// StartIn starts a node on an existing data directory, e.g. to test what
// survives a restart after Stop.
func StartIn(t testing.TB, dir string, opts ...func(*server.Config)) *Node {
	t.Helper()
	cfg := server.Defaults()
	cfg.DataDir = dir
	cfg.Bind = "127.0.0.1:0"
	cfg.AdminBind = "127.0.0.1:0"
	cfg.ClusterBind = "127.0.0.1:0"
	cfg.AdminTLS = false
	cfg.MDNS = false
	cfg.Name = "test-node"
	cfg.Version = "test"
	for _, o := range opts {
		o(&cfg)
	}
	level := slog.LevelWarn
	if os.Getenv("PICLOUD_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	n, err := server.New(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tn := &Node{
		Node:     n,
		AdminURL: n.AdminURL(),
		DataURL:  n.DataURL(),
		Token:    n.Token(),
		stop:     cancel,
		done:     make(chan error, 1),
	}
	tn.Client = shared.NewClient(tn.AdminURL, tn.Token)
	go func() { tn.done <- n.Serve(ctx) }()
	t.Cleanup(func() { tn.Stop(t) })
	return tn
}

// Stop shuts the node down gracefully and waits for it; calling it twice is
// harmless.
func (n *Node) Stop(t testing.TB) {
	t.Helper()
	if n.stop == nil {
		return
	}
	n.stop()
	n.stop = nil
	select {
	case err := <-n.done:
		if err != nil {
			t.Errorf("node shutdown: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Errorf("node did not shut down within 60s")
	}
}

// WaitLogs polls an app's execution logs (of scriptID, 0 for all) until at
// least n are there and returns them, newest first: the node writes logs
// off the request path, in batches up to a second apart. Fewer than n
// after 30 s fails the test.
func WaitLogs(t testing.TB, c *shared.Client, app string, scriptID int64, n int) []shared.Log {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		logs, err := c.Logs(t.Context(), app, scriptID, 1000, 0)
		if err != nil {
			t.Fatalf("logs of %s: %v", app, err)
		}
		if len(logs) >= n {
			return logs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d logs of %s after 30s, want %d", len(logs), app, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WantError fails the test unless err is (or wraps) a *shared.Error with
// status and code, and returns it for its details.
func WantError(t testing.TB, err error, status int, code string) *shared.Error {
	t.Helper()
	e, ok := shared.AsError(err)
	if !ok {
		t.Fatalf("error %v (%T), want *shared.Error %d %s", err, err, status, code)
	}
	if e.Status != status || e.Code != code {
		t.Fatalf("error %d %s (%s), want %d %s", e.Status, e.Code, e.Message, status, code)
	}
	return e
}
