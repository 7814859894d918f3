package manager_test

import (
	"net/http"
	"testing"

	"github.com/picloud/picloud/node/nodetest"
	"github.com/picloud/picloud/shared"
)

func TestVersionsAndRollback(t *testing.T) {
	n := start(t)
	mustApp(t, n, "Shop", "shop")
	if _, err := n.c.AddDomain(n.ctx, "shop", "shop.test"); err != nil {
		t.Fatal(err)
	}
	sc := mustScript(t, n, "shop", "api", `function handle() { return "one"; }`)
	if _, err := n.c.CreateRoute(n.ctx, "shop", shared.CreateRouteRequest{ScriptID: sc.ID, Method: "GET", Path: "/"}); err != nil {
		t.Fatal(err)
	}
	two := `function handle() { return "two"; }`
	if _, err := n.c.UpdateScript(n.ctx, sc.ID, shared.UpdateScriptRequest{Source: &two}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.c.UpdateScript(n.ctx, sc.ID, shared.UpdateScriptRequest{Sandbox: &shared.Overrides{"max_operations": 5000}}); err != nil {
		t.Fatal(err)
	}
	if _, body := n.get("shop.test", "/"); body != "two" {
		t.Fatalf("before rollback GET / = %q", body)
	}

	vs, err := n.c.ScriptVersions(n.ctx, sc.ID)
	if err != nil || len(vs) != 3 || vs[0].Version != 3 || vs[1].Source != two || vs[2].Version != 1 ||
		vs[0].Sandbox["max_operations"] != 5000 || len(vs[2].Sandbox) != 0 {
		t.Fatalf("versions = %+v, %v", vs, err)
	}

	t.Run("rollback is a new version and takes effect at once", func(t *testing.T) {
		three := int64(3)
		got, err := n.c.Rollback(n.ctx, sc.ID, shared.RollbackRequest{Version: 1, IfVersion: &three})
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 4 || got.Source != `function handle() { return "one"; }` || len(got.Sandbox) != 0 ||
			got.EffectiveSandbox.MaxOperations != shared.DefaultLimits().MaxOperations {
			t.Errorf("rolled back script = %+v", got)
		}
		if _, body := n.get("shop.test", "/"); body != "one" {
			t.Errorf("after rollback GET / = %q, want one", body)
		}
		vs, _ := n.c.ScriptVersions(n.ctx, sc.ID)
		if len(vs) != 4 || vs[0].Version != 4 || vs[1].Version != 3 {
			t.Errorf("history after rollback = %+v; want 4 versions, none rewritten", vs)
		}
	})
	t.Run("a rollback against a stale version is a conflict naming the current one", func(t *testing.T) {
		stale := int64(2)
		_, err := n.c.Rollback(n.ctx, sc.ID, shared.RollbackRequest{Version: 2, IfVersion: &stale})
		nodetest.WantError(t, err, http.StatusConflict, shared.CodeVersionConflict)
		if cur, ok := shared.ConflictVersion(err); !ok || cur != 4 {
			t.Errorf("current_version = %d, %v; want 4", cur, ok)
		}
		if got, _ := n.c.Script(n.ctx, sc.ID); got.Version != 4 {
			t.Errorf("the refused rollback changed the script: now v%d", got.Version)
		}
		if _, body := n.get("shop.test", "/"); body != "one" {
			t.Errorf("GET / = %q after the refused rollback", body)
		}
	})
	t.Run("refusals change nothing", func(t *testing.T) {
		noHandle := mustScript(t, n, "shop", "cron-only", `function scheduled() {}`)
		withHandle := `function handle() { return "h"; } function scheduled() {}`
		if _, err := n.c.UpdateScript(n.ctx, noHandle.ID, shared.UpdateScriptRequest{Source: &withHandle}); err != nil {
			t.Fatal(err)
		}
		if _, err := n.c.CreateRoute(n.ctx, "shop", shared.CreateRouteRequest{ScriptID: noHandle.ID, Method: "GET", Path: "/h"}); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name   string
			script int64
			body   string
			status int
			code   string
		}{
			{"unknown version", sc.ID, `{"version": 99}`, http.StatusNotFound, shared.CodeNotFound},
			// The conflict is told first: the caller's view is stale, whatever it asked.
			{"stale if_version", sc.ID, `{"version": 99, "if_version": 1}`, http.StatusConflict, shared.CodeVersionConflict},
			{"no version", sc.ID, `{}`, http.StatusUnprocessableEntity, shared.CodeValidationFailed},
			{"unknown field", sc.ID, `{"version": 1, "force": true}`, http.StatusUnprocessableEntity, shared.CodeUnknownField},
			{"not json", sc.ID, `1`, http.StatusBadRequest, shared.CodeBadJSON},
			{"unknown script", sc.ID + 100, `{"version": 1}`, http.StatusNotFound, shared.CodeNotFound},
			// Version 1 had no handle, and a route now calls the script.
			{"routed script needs its handle", noHandle.ID, `{"version": 1}`, http.StatusUnprocessableEntity, shared.CodeValidationFailed},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before, _ := n.c.ScriptVersions(n.ctx, tc.script)
				status, _, body := n.raw(http.MethodPost, "/api/v1/admin/scripts/"+itoa(tc.script)+"/rollback", tc.body)
				if e := envelope(t, body); status != tc.status || e.Code != tc.code {
					t.Errorf("rollback %s = %d %s, want %d %s", tc.body, status, body, tc.status, tc.code)
				}
				if after, _ := n.c.ScriptVersions(n.ctx, tc.script); len(after) != len(before) {
					t.Errorf("a refused rollback changed the history: %d → %d versions", len(before), len(after))
				}
			})
		}
		if _, body := n.get("shop.test", "/h"); body != "h" {
			t.Errorf("GET /h = %q after the refused rollback", body)
		}
	})
	t.Run("versions of an unknown script", func(t *testing.T) {
		_, err := n.c.ScriptVersions(n.ctx, sc.ID+100)
		nodetest.WantError(t, err, http.StatusNotFound, shared.CodeNotFound)
	})
}
