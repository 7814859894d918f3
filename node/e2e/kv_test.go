package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/node/nodetest"
	"github.com/picloud/picloud/node/server"
	"github.com/picloud/picloud/shared"
)

// counterScript counts its requests in the app's KV.
const counterScript = `async function handle(req, env) {
  const n = Number(await env.KV.get("hits") || 0) + 1;
  await env.KV.put("hits", String(n));
  return String(n);
}`

// SPEC §7: a script's KV writes are there for the next request, and after
// a restart; each app has its own namespace.
func TestKVThroughTheDataPlane(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := wrap(t, nodetest.StartIn(t, dir))
	for _, app := range []string{"a", "b"} {
		e.createApp("App "+app, app)
		e.claim(app, app+".example")
		s := e.script(app, "counter", counterScript, nil)
		e.route(app, s.ID, "GET", "/", "")
	}
	for i := 1; i <= 3; i++ {
		if r := e.get("a.example", "/"); r.Status != 200 || r.String() != fmt.Sprint(i) {
			t.Fatalf("request %d: %d %s", i, r.Status, r.Body)
		}
	}
	if r := e.get("b.example", "/"); r.String() != "1" {
		t.Fatalf("app b counts from a's hits: %s", r.Body)
	}
	e.n.Stop(t)
	e = wrap(t, nodetest.StartIn(t, dir))
	if r := e.get("a.example", "/"); r.String() != "4" {
		t.Fatalf("after a restart: %d %s", r.Status, r.Body)
	}
}

// SPEC §7: the 1,001st KV call of a run answers 507 sandbox_limit with
// limit max_kv_operations, and the node serves the next request.
func TestKVCallLimitAnswers507(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.createApp("Loop", "loop")
	e.claim("loop", "loop.example")
	s := e.script("loop", "loop", `async function handle(req, env) {
		for (let i = 0; ; i++) { try { await env.KV.get("k" + i) } catch (e) {} }
	}`, nil)
	e.route("loop", s.ID, "GET", "/", "")
	ok := e.script("loop", "ok", counterScript, nil)
	e.route("loop", ok.ID, "GET", "/ok", "")
	if got := e.get("loop.example", "/").apiError(t, 507, "sandbox_limit")["limit"]; got != "max_kv_operations" {
		t.Fatalf("limit %v, want max_kv_operations", got)
	}
	if r := e.get("loop.example", "/ok"); r.Status != 200 || r.String() != "1" {
		t.Fatalf("the next request: %d %s", r.Status, r.Body)
	}
}

// SPEC §7's admin API through the shared client: raw values, metadata in
// its header, TTLs, URL-escaped keys, pages, sizes, the App's usage, and
// the contract's errors; the data plane and the admin API see the same
// namespace.
func TestKVAdminAPI(t *testing.T) {
	t.Parallel()
	e := wrap(t, nodetest.Start(t, func(c *server.Config) { c.KVMaxValue = 1000; c.KVMaxAppBytes = 4000 }))
	e.createApp("Data", "data")
	e.claim("data", "data.example")
	s := e.script("data", "read", `async function handle(req, env) {
		if (req.method === "POST") { await env.KV.put(req.query.key, req.body); return "stored" }
		return JSON.stringify(await env.KV.getWithMetadata(req.query.key)) }`, nil)
	e.route("data", s.ID, "ANY", "/", "")
	ctx := e.ctx

	meta := json.RawMessage(`{"owner": "me"}`)
	if err := e.c.KVPut(ctx, "data", "greeting", []byte("hello"), shared.KVPutOptions{Metadata: meta, ExpirationTTL: 3600}); err != nil {
		t.Fatal(err)
	}
	v, err := e.c.KVGet(ctx, "data", "greeting")
	if err != nil || string(v.Value) != "hello" || string(v.Metadata) != `{"owner":"me"}` {
		t.Fatalf("KVGet = %q %s, %v", v.Value, v.Metadata, err)
	}
	if r := e.get("data.example", "/?key=greeting"); r.String() != `{"value":"hello","metadata":{"owner":"me"}}` {
		t.Fatalf("the script sees %s", r.Body)
	}
	if r := e.data(request{Method: "POST", Host: "data.example", Path: "/?key=from-script", Body: []byte("by script")}); r.String() != "stored" {
		t.Fatalf("script put: %d %s", r.Status, r.Body)
	}
	if v, err := e.c.KVGet(ctx, "data", "from-script"); err != nil || string(v.Value) != "by script" || v.Metadata != nil {
		t.Fatalf("admin get of the script's put = %q %s, %v", v.Value, v.Metadata, err)
	}

	list, err := e.c.KVList(ctx, "data", shared.KVListQuery{})
	if err != nil || len(list.Keys) != 2 || !list.ListComplete || list.Cursor != "" {
		t.Fatalf("KVList = %+v, %v", list, err)
	}
	g := list.Keys[1]
	if g.Name != "greeting" || g.Size != int64(len("greeting")+len("hello")+len(`{"owner":"me"}`)) ||
		g.Expiration < time.Now().Unix()+3590 || string(g.Metadata) != `{"owner":"me"}` || time.Since(g.UpdatedAt) > time.Minute {
		t.Errorf("listed %+v", g)
	}
	app, err := e.c.App(ctx, "data")
	if err != nil || app.KVKeys != 2 || app.KVBytes != list.Keys[0].Size+g.Size {
		t.Errorf("app usage %d keys, %d bytes; want 2, %d (%v)", app.KVKeys, app.KVBytes, list.Keys[0].Size+g.Size, err)
	}

	t.Run("escaped keys", func(t *testing.T) {
		keys := []string{"a/b", "a//b", "100%", "with space", "ключ?x=1#y", "..", ".", "/lead", "trail/", "a+b"}
		for _, k := range keys {
			if err := e.c.KVPut(ctx, "data", k, []byte("v:"+k), shared.KVPutOptions{}); err != nil {
				t.Fatalf("put %q: %v", k, err)
			}
		}
		for _, k := range keys {
			if v, err := e.c.KVGet(ctx, "data", k); err != nil || string(v.Value) != "v:"+k {
				t.Errorf("get %q = %q, %v", k, v.Value, err)
			}
		}
		var names []string
		for cursor := ""; ; {
			page, err := e.c.KVList(ctx, "data", shared.KVListQuery{Limit: 3, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range page.Keys {
				names = append(names, k.Name)
			}
			if page.ListComplete {
				break
			}
			cursor = page.Cursor
		}
		want := append(append([]string{}, keys...), "greeting", "from-script")
		slices.Sort(want)
		if !slices.Equal(names, want) {
			t.Errorf("listed %q\nwant %q", names, want)
		}
		for _, k := range keys {
			if err := e.c.KVDelete(ctx, "data", k); err != nil {
				t.Fatalf("delete %q: %v", k, err)
			}
			if _, err := e.c.KVGet(ctx, "data", k); !shared.IsCode(err, shared.CodeNotFound) {
				t.Errorf("get %q after delete: %v", k, err)
			}
		}
	})

	t.Run("prefix", func(t *testing.T) {
		page, err := e.c.KVList(ctx, "data", shared.KVListQuery{Prefix: "gr"})
		if err != nil || len(page.Keys) != 1 || page.Keys[0].Name != "greeting" {
			t.Fatalf("prefix gr: %+v, %v", page, err)
		}
	})

	for _, tc := range []struct {
		name   string
		call   func() error
		status int
		code   string
	}{
		{"value over the limit", func() error {
			return e.c.KVPut(ctx, "data", "big", make([]byte, 1001), shared.KVPutOptions{})
		}, 413, shared.CodeTooLarge},
		{"key over 512 bytes", func() error {
			return e.c.KVPut(ctx, "data", strings.Repeat("k", 513), []byte("v"), shared.KVPutOptions{})
		}, 422, shared.CodeValidationFailed},
		{"metadata over 1024 bytes", func() error {
			return e.c.KVPut(ctx, "data", "k", []byte("v"), shared.KVPutOptions{Metadata: json.RawMessage(`"` + strings.Repeat("m", 1100) + `"`)})
		}, 422, shared.CodeValidationFailed},
		{"ttl under 60 s", func() error {
			return e.c.KVPut(ctx, "data", "k", []byte("v"), shared.KVPutOptions{ExpirationTTL: 30})
		}, 422, shared.CodeValidationFailed},
		{"past the quota", func() error {
			for i := range 5 {
				if err := e.c.KVPut(ctx, "data", fmt.Sprint("fill", i), make([]byte, 900), shared.KVPutOptions{}); err != nil {
					return err
				}
			}
			return nil
		}, 409, shared.CodeKVQuotaExceeded},
		{"missing key", func() error { _, err := e.c.KVGet(ctx, "data", "never"); return err }, 404, shared.CodeNotFound},
		{"unknown app", func() error { _, err := e.c.KVList(ctx, "nope", shared.KVListQuery{}); return err }, 404, shared.CodeNotFound},
		{"list limit", func() error { _, err := e.c.KVList(ctx, "data", shared.KVListQuery{Limit: 1001}); return err }, 422, shared.CodeValidationFailed},
		{"bad cursor", func() error { _, err := e.c.KVList(ctx, "data", shared.KVListQuery{Cursor: "!!"}); return err }, 422, shared.CodeValidationFailed},
		{"delete a missing key", func() error { return e.c.KVDelete(ctx, "data", "never") }, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if tc.status == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var se *shared.Error
			if !errors.As(err, &se) || se.Status != tc.status || se.Code != tc.code {
				t.Fatalf("got %v, want %d %s", err, tc.status, tc.code)
			}
		})
	}
	// Raw: the metadata header, and bad metadata JSON.
	r := e.admin(request{Method: "GET", Path: "/api/v1/admin/apps/data/kv/greeting"})
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/octet-stream" || r.Header.Get(shared.KVMetadataHeader) != `{"owner":"me"}` {
		t.Errorf("raw get: %d %v %s", r.Status, r.Header, r.Body)
	}
	r = e.admin(request{Method: "PUT", Path: "/api/v1/admin/apps/data/kv/k", Body: []byte("v"),
		Header: http.Header{shared.KVMetadataHeader: {"not json"}}})
	r.apiError(t, 422, shared.CodeValidationFailed)
}

// SPEC §2, §7: deleting an app deletes its KV, and a new app with the
// same slug starts empty.
func TestKVDeletedWithItsApp(t *testing.T) {
	t.Parallel()
	e := start(t)
	old := e.createApp("Temp", "temp")
	for i := range 20 {
		if err := e.c.KVPut(e.ctx, "temp", fmt.Sprint("k", i), []byte("v"), shared.KVPutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.c.DeleteApp(e.ctx, "temp"); err != nil {
		t.Fatal(err)
	}
	if keys, bytes, err := e.n.Store().KVUsage(e.ctx, old.ID); err != nil || keys != 0 || bytes != 0 {
		t.Fatalf("the deleted app still holds %d keys, %d bytes (%v)", keys, bytes, err)
	}
	e.createApp("Temp", "temp")
	if list, err := e.c.KVList(e.ctx, "temp", shared.KVListQuery{}); err != nil || len(list.Keys) != 0 {
		t.Fatalf("the new app lists %+v, %v", list, err)
	}
}
