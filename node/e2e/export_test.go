package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/picloud/picloud/node/nodetest"
	"github.com/picloud/picloud/node/server"
	"github.com/picloud/picloud/shared"
)

const exportScript = `async function handle(req, env) {
	const seen = await env.KV.get("greeting");
	return { status: 200, headers: { "content-type": "application/json" },
		body: { greeting: seen, plain: env.PLAIN, secret: env.TOKEN, path: req.path, id: req.params.id || null } };
}
function scheduled(event, env) {}`

// exportFixture builds an app holding every kind of object an app holds.
func exportFixture(t *testing.T, e *env) {
	e.createApp("Shop", "shop")
	e.claim("shop", "shop.test")
	e.claim("shop", "*.shop.test")
	api := e.script("shop", "api", exportScript, shared.Overrides{"max_operations": 200000})
	two := `function handle() { return "v2"; }`
	other := e.script("shop", "other", `function handle() { return "v1"; }`, nil)
	if _, err := e.c.UpdateScript(e.ctx, other.ID, shared.UpdateScriptRequest{Source: &two}); err != nil {
		t.Fatal(err)
	}
	e.route("shop", api.ID, "GET", "/items/:id", "")
	e.route("shop", other.ID, "ANY", "/other", "a.shop.test")
	if _, err := e.c.CreateSchedule(e.ctx, "shop", shared.CreateScheduleRequest{ScriptID: api.ID, Cron: "@hourly", Timezone: "Europe/Paris"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.SetEgress(e.ctx, "shop", []string{"api.example.com", "10.0.0.0/8"}); err != nil {
		t.Fatal(err)
	}
	e.putEnv("shop", "PLAIN", "plain value", false)
	e.putEnv("shop", "TOKEN", "s3cret", true)
	if err := e.c.KVPut(e.ctx, "shop", "greeting", []byte("hello"), shared.KVPutOptions{Metadata: json.RawMessage(`{"by":"test"}`)}); err != nil {
		t.Fatal(err)
	}
}

var exportRequests = []struct{ host, path string }{
	{"shop.test", "/items/7"}, {"a.shop.test", "/other"}, {"b.shop.test", "/other"}, {"shop.test", "/nope"},
}

func TestExportImportReproducesTheApp(t *testing.T) {
	src := start(t)
	exportFixture(t, src)
	doc, err := src.c.Export(src.ctx, "shop", true)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(doc)
	if strings.Contains(string(raw), "s3cret") {
		t.Fatalf("the export carries a secret's value: %s", raw)
	}
	if len(doc.KV) != 1 || doc.KV[0].Value != "hello" || string(doc.KV[0].Metadata) != `{"by":"test"}` {
		t.Errorf("kv = %+v", doc.KV)
	}
	if noKV, _ := src.c.Export(src.ctx, "shop", false); noKV.KV != nil {
		t.Errorf("export without kv has %d entries", len(noKV.KV))
	}

	dst := start(t)
	got, err := dst.c.Import(dst.ctx, shared.ImportRequest{Export: doc, Secrets: map[string]string{"TOKEN": "s3cret"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Slug != "shop" || len(got.MissingSecrets) != 0 || len(got.Domains) != 2 {
		t.Errorf("imported = %+v", got)
	}
	for _, rq := range exportRequests {
		a, b := src.get(rq.host, rq.path), dst.get(rq.host, rq.path)
		if a.Status != b.Status || string(a.Body) != string(b.Body) {
			t.Errorf("GET %s%s: source %d %s, imported %d %s", rq.host, rq.path, a.Status, a.Body, b.Status, b.Body)
		}
	}
	again, err := dst.c.Export(dst.ctx, "shop", true)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, doc) {
		t.Errorf("export of the import differs:\n%+v\nwant\n%+v", again, doc)
	}

	t.Run("without the secret's value, under another slug", func(t *testing.T) {
		third := start(t)
		slug := "shop2"
		got, err := third.c.Import(third.ctx, shared.ImportRequest{Export: doc, Slug: &slug})
		if err != nil {
			t.Fatal(err)
		}
		if got.Slug != "shop2" || !reflect.DeepEqual(got.MissingSecrets, []string{"TOKEN"}) {
			t.Errorf("imported = %+v", got)
		}
	})
}

func TestImportOfABrokenDocumentChangesNothing(t *testing.T) {
	src := start(t)
	exportFixture(t, src)
	doc, err := src.c.Export(src.ctx, "shop", true)
	if err != nil {
		t.Fatal(err)
	}
	const quota = 4096
	dst := wrap(t, nodetest.Start(t, func(c *server.Config) { c.KVMaxAppBytes = quota }))
	dst.createApp("Taken", "taken")
	dst.claim("taken", "taken.test")
	overQuota := func(m map[string]any) {
		for i := range 4 { // 4 × ~1 KiB + the fixture's entry
			m["kv"] = append(list(m, "kv"), map[string]any{"key": fmt.Sprint("big", i), "value": strings.Repeat("x", quota/4)})
		}
	}
	cases := []struct {
		name   string
		breakd func(m map[string]any)
		status int
		code   string
		field  string
	}{
		{"bad route path", func(m map[string]any) { route(m, 1)["path"] = "no-slash" }, 422, shared.CodeInvalidRoute, "routes[1].path"},
		{"route to an unknown script", func(m map[string]any) { route(m, 0)["script"] = "ghost" }, 422, shared.CodeValidationFailed, "routes[0].script"},
		{"clashing routes", func(m map[string]any) { list(m, "routes")[1] = list(m, "routes")[0] }, 409, shared.CodeRouteConflict, "routes[1]"},
		{"host not claimed", func(m map[string]any) { route(m, 1)["host"] = "elsewhere.test" }, 422, shared.CodeHostNotClaimed, "routes[1].host"},
		{"syntax error", func(m map[string]any) { script(m, 1)["source"] = "function handle( {" }, 422, shared.CodeScriptSyntax, "scripts[1].source"},
		{"sandbox over the ceiling", func(m map[string]any) { script(m, 0)["sandbox"] = map[string]any{"timeout_ms": 999999} }, 422, shared.CodeSandboxExceedsCeiling, "scripts[0].sandbox.timeout_ms"},
		{"unknown field deep", func(m map[string]any) { script(m, 1)["sorce"] = "x" }, 422, shared.CodeUnknownField, "scripts[1].sorce"},
		{"bad domain", func(m map[string]any) { list(m, "domains")[1] = "http://x" }, 422, shared.CodeInvalidDomain, "domains[1]"},
		{"domain claimed by another app", func(m map[string]any) { list(m, "domains")[0] = "taken.test" }, 409, shared.CodeDomainClaimed, "domains[0]"},
		{"bad cron", func(m map[string]any) { list(m, "schedules")[0].(map[string]any)["cron"] = "61 * * * *" }, 422, shared.CodeInvalidSchedule, "schedules[0]"},
		{"bad egress", func(m map[string]any) { list(m, "egress")[0] = "https://x" }, 422, shared.CodeValidationFailed, "egress"},
		{"bad env name", func(m map[string]any) { list(m, "env")[0].(map[string]any)["name"] = "lower" }, 422, shared.CodeValidationFailed, "env[0].name"},
		{"slug taken", func(m map[string]any) { m["slug"] = "taken" }, 409, shared.CodeSlugTaken, "slug"},
		{"bad slug", func(m map[string]any) { m["app"].(map[string]any)["slug"] = "Bad Slug" }, 422, shared.CodeInvalidSlug, "app.slug"},
		{"wrong format", func(m map[string]any) { m["picloud_export"] = 2 }, 422, shared.CodeValidationFailed, "picloud_export"},
		{"KV over the app's quota", overQuota, 409, shared.CodeKVQuotaExceeded, "kv"},
	}
	before := exportAll(t, dst)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var m map[string]any
			b, _ := json.Marshal(doc)
			json.Unmarshal(b, &m)
			tc.breakd(m)
			body, _ := json.Marshal(m)
			r := dst.adminJSON(http.MethodPost, shared.PathImport, string(body))
			var env struct{ Error map[string]any }
			json.Unmarshal(r.Body, &env)
			if r.Status != tc.status || env.Error["code"] != tc.code {
				t.Errorf("import = %d %s, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
			if f, _ := env.Error["field"].(string); !strings.HasPrefix(f, tc.field) {
				t.Errorf("field = %q, want %q", f, tc.field)
			}
			if after := exportAll(t, dst); !reflect.DeepEqual(after, before) {
				t.Errorf("a refused import changed the node:\n%s\nwas\n%s", after, before)
			}
		})
	}
}

func list(m map[string]any, k string) []any         { return m[k].([]any) }
func route(m map[string]any, i int) map[string]any  { return list(m, "routes")[i].(map[string]any) }
func script(m map[string]any, i int) map[string]any { return list(m, "scripts")[i].(map[string]any) }

// exportAll is every app of a node, exported with KV, as one text.
func exportAll(t *testing.T, e *env) string {
	t.Helper()
	apps, err := e.c.ListApps(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []shared.Export
	for _, a := range apps {
		d, err := e.c.Export(e.ctx, a.Slug, true)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func TestImportOntoAReservedSlugIsTwoSteps(t *testing.T) {
	src := start(t)
	exportFixture(t, src)
	doc, err := src.c.Export(src.ctx, "shop", false)
	if err != nil {
		t.Fatal(err)
	}
	dst := start(t)
	dst.createApp("Old", "shop")
	renamed := "shop-old"
	if _, err := dst.c.UpdateApp(dst.ctx, "shop", shared.UpdateAppRequest{Slug: &renamed}); err != nil {
		t.Fatal(err)
	}
	_, err = dst.c.Import(dst.ctx, shared.ImportRequest{Export: doc})
	e, ok := shared.AsError(err)
	if !ok || e.Code != shared.CodeSlugReserved || e.Detail("confirm_token") == "" {
		t.Fatalf("import onto a reserved slug = %v, want 409 slug_reserved with a confirm_token", err)
	}
	got, err := dst.c.Import(dst.ctx, shared.ImportRequest{Export: doc, ConfirmToken: e.Detail("confirm_token")})
	if err != nil || got.Slug != "shop" {
		t.Fatalf("confirmed import = %+v, %v", got, err)
	}
	if r := dst.get("shop.test", "/items/1"); r.Status != http.StatusOK {
		t.Errorf("imported app answers %d", r.Status)
	}
}
