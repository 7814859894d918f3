package bench

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/picloud/picloud/node/kv"
	"github.com/picloud/picloud/node/store"
	"github.com/picloud/picloud/shared"
)

// The KV benchmark reads the writer's counts from the line it logs when it
// stops: that line and the pattern must agree.
func TestKVWriterStatsLineParses(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "picloud.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	app, err := st.CreateApp(ctx, shared.App{Slug: "a", Name: "A"}, false)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w := kv.NewWriter(kv.Config{Committer: st, Logger: slog.New(slog.NewTextHandler(&out, nil))})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.Run(runCtx); close(done) }()
	for _, k := range []string{"a", "b", "c"} {
		if err := w.Write(ctx, store.KVWrite{AppID: app.ID, Key: k, Value: []byte("v")}); err != nil {
			t.Fatal(err)
		}
	}
	stop()
	<-done
	m := writerStats.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no match in %q", out.String())
	}
	busy, err1 := time.ParseDuration(m[3])
	up, err2 := time.ParseDuration(m[4])
	if m[1] != "3" || m[2] != "3" || err1 != nil || err2 != nil || busy <= 0 || busy > up {
		t.Fatalf("parsed batches %s writes %s busy %q up %q from %q", m[1], m[2], m[3], m[4], out.String())
	}
}
