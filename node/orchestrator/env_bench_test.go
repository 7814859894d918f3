package orchestrator

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/node/executor"
	"github.com/picloud/picloud/node/nodetest/storetest"
	"github.com/picloud/picloud/node/store"
	"github.com/picloud/picloud/shared"
)

// webhookSrc checks a GitHub-style signature over the body with the app's
// secret, as docs/scripts.md shows it.
const webhookSrc = `async function handle(req, env) {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", enc.encode(env.WEBHOOK_SECRET), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  const hex = (req.headers["x-hub-signature-256"] || "").replace(/^sha256=/, "");
  const sig = new Uint8Array((hex.match(/../g) || []).map((h) => parseInt(h, 16)));
  if (!(await crypto.subtle.verify("HMAC", key, sig, enc.encode(req.body)))) return { status: 401, body: "bad signature" };
  return "ok";
}`

// BenchmarkWebhook is a hello world beside a script that verifies an
// HMAC-SHA256 over a 1 KiB body with a secret from env, through the whole
// data plane (lookup, run, log), on every core: req/s of the two in one
// run is what to compare.
func BenchmarkWebhook(b *testing.B) {
	const secret = "whsec_0123456789abcdef"
	body := bytes.Repeat([]byte("x"), 1024)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	sig := "sha256=" + hex.EncodeToString(m.Sum(nil))
	for _, bc := range []struct{ name, src, method string }{
		{"hello", `function handle(req) { return "Hello, World!" }`, "GET"},
		{"hmac-1KiB", webhookSrc, "POST"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			o := New(Config{Store: storetest.Open(b), Executor: executor.New(executor.Options{}), Defaults: shared.DefaultLimits(),
				LogQueue: 1 << 16, Logger: slog.New(slog.DiscardHandler)})
			b.Cleanup(func() { o.Close(ctx) })
			o.current.Store(o.build(&store.Snapshot{
				Apps:    []shared.App{{ID: 1, Slug: "hooks"}},
				Domains: []shared.Domain{{ID: 1, AppID: 1, Pattern: "hooks.test"}},
				Scripts: []shared.Script{{ID: 1, AppID: 1, Name: "s", Version: 1, Source: bc.src}},
				Routes:  []shared.Route{{ID: 1, AppID: 1, ScriptID: 1, Method: bc.method, Path: "/"}},
				Env:     []store.EnvValue{{AppID: 1, Name: "WEBHOOK_SECRET", Value: secret, Secret: true}},
			}))
			start := time.Now()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(bc.method, "/", bytes.NewReader(body))
					req.Host = "hooks.test"
					req.Header.Set("X-Hub-Signature-256", sig)
					w := httptest.NewRecorder()
					o.ServeHTTP(w, req)
					if w.Code != 200 || !strings.HasPrefix(w.Body.String(), "Hello") && w.Body.String() != "ok" {
						b.Fatalf("%d %q", w.Code, w.Body)
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}
