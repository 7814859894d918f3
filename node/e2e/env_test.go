package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/picloud/picloud/node/nodetest"
	"github.com/picloud/picloud/shared"
)

// envScript answers with the env names it is asked for, "-" for a missing
// one, and logs TOKEN: the secret test's console line.
const envScript = `function handle(req, env) {
  console.log("token is " + env.TOKEN);
  return (req.query.names || "").split(",").map(function (n) {
    return n + "=" + (typeof env[n] === "string" ? env[n] : "-");
  }).join(" ");
}`

func (e *env) putEnv(app, name, value string, secret bool) shared.EnvVar {
	e.t.Helper()
	v, err := e.c.PutEnv(e.ctx, app, name, shared.PutEnvRequest{Value: &value, Secret: &secret})
	if err != nil {
		e.t.Fatalf("put %s in %s: %v", name, app, err)
	}
	return v
}

// SPEC §8: every rule of the env endpoints, through raw HTTP.
func TestEnvAPIRules(t *testing.T) {
	e := start(t)
	e.createApp("Shop", "shop")
	const env = "/api/v1/admin/apps/shop/env/"
	for i := range shared.MaxEnvEntries - 1 {
		e.putEnv("shop", "V"+strings.Repeat("X", i%60)+string(rune('A'+i/60)), "x", false)
	}
	e.putEnv("shop", "LAST", "x", false) // the 128th
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code, field              string
	}{
		{"lower_case_name", "PUT", env + "token", `{"value":"x"}`, 422, shared.CodeValidationFailed, "name"},
		{"leading_digit", "PUT", env + "1TOKEN", `{"value":"x"}`, 422, shared.CodeValidationFailed, "name"},
		{"kv_reserved", "PUT", env + "KV", `{"value":"x"}`, 422, shared.CodeValidationFailed, "name"},
		{"name_too_long", "PUT", env + "A" + strings.Repeat("B", 64), `{"value":"x"}`, 422, shared.CodeValidationFailed, "name"},
		{"entry_129", "PUT", env + "ONE_MORE", `{"value":"x"}`, 422, shared.CodeValidationFailed, "name"},
		{"value_over_5KiB", "PUT", env + "LAST", `{"value":"` + strings.Repeat("x", 5<<10+1) + `"}`, 422, shared.CodeValidationFailed, "value"},
		{"value_missing", "PUT", env + "LAST", `{"secret":true}`, 422, shared.CodeValidationFailed, "value"},
		{"value_not_string", "PUT", env + "LAST", `{"value":5}`, 400, shared.CodeBadJSON, "value"},
		{"unknown_field", "PUT", env + "LAST", `{"value":"x","ttl":5}`, 422, shared.CodeUnknownField, "ttl"},
		{"not_json", "PUT", env + "LAST", `value=x`, 400, shared.CodeBadJSON, ""},
		{"unknown_app", "GET", "/api/v1/admin/apps/nope/env", ``, 404, shared.CodeNotFound, ""},
		{"delete_missing", "DELETE", env + "NOPE", ``, 404, shared.CodeNotFound, ""},
		{"delete_bad_name", "DELETE", env + "no-such", ``, 404, shared.CodeNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.adminJSON(tc.method, tc.path, tc.body)
			got := r.apiError(t, tc.status, tc.code)
			if tc.field != "" && got["field"] != tc.field {
				t.Errorf("field %v, want %s: %s", got["field"], tc.field, r.Body)
			}
		})
	}
	// Nothing above changed what is stored.
	list, err := e.c.Env(e.ctx, "shop")
	if err != nil || len(list) != shared.MaxEnvEntries {
		t.Fatalf("env after refused writes: %d entries, %v", len(list), err)
	}
	// Exactly 5 KiB is fine, and so is replacing the 128th.
	if r := e.adminJSON("PUT", env+"LAST", `{"value":"`+strings.Repeat("x", 5<<10)+`"}`); r.Status != 200 {
		t.Errorf("5 KiB value = %d %s", r.Status, r.Body)
	}
	if r := e.adminJSON("DELETE", env+"LAST", ""); r.Status != http.StatusNoContent {
		t.Errorf("delete = %d %s", r.Status, r.Body)
	}
	// An old slug redirects like every app URL.
	slug := "market"
	if _, err := e.c.UpdateApp(e.ctx, "shop", shared.UpdateAppRequest{Slug: &slug}); err != nil {
		t.Fatal(err)
	}
	if r := e.adminJSON("PUT", env+"LAST", `{"value":"x"}`); r.Status != http.StatusPermanentRedirect ||
		r.Header.Get("Location") != "/api/v1/admin/apps/market/env/LAST" {
		t.Errorf("old slug = %d %q", r.Status, r.Header.Get("Location"))
	}
}

// SPEC §5, §8: handle(req, env) sees the app's variables and secrets as
// strings, only its own app's, and a change takes effect on the next run.
func TestEnvReachesScriptsOnTheNextRun(t *testing.T) {
	e := start(t)
	for _, app := range []string{"a", "b"} {
		e.createApp("App "+app, app)
		e.claim(app, app+".example")
		s := e.script(app, "env", envScript, nil)
		e.route(app, s.ID, "GET", "/", "")
	}
	ask := func(host string) string {
		t.Helper()
		r := e.get(host, "/?names=GREETING,TOKEN,KV,OTHER")
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", host, r.Status, r.Body)
		}
		return r.String()
	}
	if got := ask("a.example"); got != "GREETING=- TOKEN=- KV=- OTHER=-" {
		t.Errorf("before any variable: %q", got)
	}
	e.putEnv("a", "GREETING", "hello", false)
	e.putEnv("a", "TOKEN", "s3cr3t-of-a", true)
	e.putEnv("b", "OTHER", "b's", false)
	if got := ask("a.example"); got != "GREETING=hello TOKEN=s3cr3t-of-a KV=- OTHER=-" {
		t.Errorf("after PUT: %q", got)
	}
	if got := ask("b.example"); got != "GREETING=- TOKEN=- KV=- OTHER=b's" {
		t.Errorf("app b: %q", got)
	}
	e.putEnv("a", "GREETING", "bonjour", false)
	if err := e.c.DeleteEnv(e.ctx, "a", "TOKEN"); err != nil {
		t.Fatal(err)
	}
	if got := ask("a.example"); got != "GREETING=bonjour TOKEN=- KV=- OTHER=-" {
		t.Errorf("after update and delete: %q", got)
	}
}

// SPEC §8: a secret's value never leaves the node: not through the API,
// and not through the logs, where a run's console output and error show
// it as [secret NAME].
func TestSecretsNeverLeave(t *testing.T) {
	e := start(t)
	e.createApp("Hooks", "hooks")
	e.claim("hooks", "hooks.example")
	const secret = "whsec_2f0c1e9a8b7d6c5e4f3a"
	got := e.putEnv("hooks", "TOKEN", secret, true)
	if got.Value != nil || !got.Secret {
		t.Errorf("PUT answer = %+v, want no value", got)
	}
	e.putEnv("hooks", "MODE", "live", false)
	s := e.script("hooks", "leak", `function handle(req, env) {
  console.log("token is " + env.TOKEN, "mode " + env.MODE);
  console.log({t: env.TOKEN});
  if (req.query.fail) throw new Error("bad token " + env.TOKEN);
  return "ok";
}`, nil)
	e.route("hooks", s.ID, "GET", "/", "")
	if r := e.get("hooks.example", "/"); r.String() != "ok" {
		t.Fatalf("run: %d %s", r.Status, r.Body)
	}
	e.get("hooks.example", "/?fail=1").apiError(t, 500, shared.CodeScriptError)

	for _, path := range []string{"/api/v1/admin/apps/hooks/env", "/api/v1/admin/apps/hooks", "/api/v1/admin/scripts?app=hooks"} {
		if r := e.adminJSON("GET", path, ""); strings.Contains(r.String(), secret) {
			t.Errorf("GET %s shows the secret: %s", path, r.Body)
		}
	}
	if r := e.adminJSON("GET", "/api/v1/admin/apps/hooks/env", ""); !strings.Contains(r.String(), `"value":"live"`) {
		t.Errorf("the plain variable's value is missing: %s", r.Body)
	}
	logs := nodetest.WaitLogs(t, e.c, "hooks", s.ID, 2)
	for _, l := range logs {
		if strings.Contains(l.Output, secret) || strings.Contains(l.Error, secret) {
			t.Errorf("log %d holds the secret: output %q error %q", l.ID, l.Output, l.Error)
		}
		if !strings.Contains(l.Output, "token is [secret TOKEN] mode live") {
			t.Errorf("log %d output = %q, want the secret's name in its place", l.ID, l.Output)
		}
	}
	if !strings.Contains(logs[0].Error, "bad token [secret TOKEN]") {
		t.Errorf("error = %q", logs[0].Error)
	}
}

// SPEC §8: secrets.key is made 0600 on first start and kept, so secrets
// survive a restart (or an upgrade, which is a restart on the same data).
func TestSecretsSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	e := wrap(t, nodetest.StartIn(t, dir))
	e.createApp("Shop", "shop")
	e.claim("shop", "shop.example")
	s := e.script("shop", "env", envScript, nil)
	e.route("shop", s.ID, "GET", "/", "")
	e.putEnv("shop", "TOKEN", "kept-across-restarts", true)
	st, err := os.Stat(filepath.Join(dir, "secrets.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secrets.key: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
	key, _ := os.ReadFile(filepath.Join(dir, "secrets.key"))
	e.n.Stop(t)

	e = wrap(t, nodetest.StartIn(t, dir))
	if r := e.get("shop.example", "/?names=TOKEN"); r.String() != "TOKEN=kept-across-restarts" {
		t.Errorf("after restart: %d %q", r.Status, r.Body)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "secrets.key")); string(again) != string(key) {
		t.Error("the restart rewrote secrets.key")
	}
}
