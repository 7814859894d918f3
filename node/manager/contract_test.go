package manager_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/picloud/picloud/node/nodetest"
	"github.com/picloud/picloud/shared"
)

// SPEC §3: a slug given explicitly is validated, even "" or one that a
// name would derive to; only an absent slug is derived from the name.
func TestExplicitSlugIsValidated(t *testing.T) {
	n := start(t)
	for _, tc := range []struct {
		name, body string
		status     int
		code, slug string
	}{
		{"empty slug", `{"name": "Shop", "slug": ""}`, 422, shared.CodeInvalidSlug, ""},
		{"blank slug", `{"name": "Shop", "slug": " "}`, 422, shared.CodeInvalidSlug, ""},
		{"reserved slug", `{"name": "Shop", "slug": "api"}`, 422, shared.CodeInvalidSlug, ""},
		{"null slug is absent", `{"name": "Null Shop", "slug": null}`, 201, "", "null-shop"},
		{"absent slug", `{"name": "My Shop"}`, 201, "", "my-shop"},
		{"explicit slug", `{"name": "My Shop", "slug": "other"}`, 201, "", "other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := n.raw(http.MethodPost, "/api/v1/admin/apps", tc.body)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if tc.code != "" {
				if e := envelope(t, body); e.Code != tc.code {
					t.Fatalf("code %s, want %s", e.Code, tc.code)
				}
				return
			}
			var a shared.App
			if err := json.Unmarshal(body, &a); err != nil || a.Slug != tc.slug {
				t.Fatalf("created %+v (%v), want slug %s", a, err, tc.slug)
			}
		})
	}
}

// SPEC §3: app and script names refuse control and bidirectional-override
// characters (text that displays in another order than it is stored).
func TestNamesRefuseControlAndBidiCharacters(t *testing.T) {
	n := start(t)
	mustApp(t, n, "Home", "home")
	for _, name := range []string{
		"a\x00b", "a\x1bb", "a\u0085b", "evil\u202Egnp.js", "a\u202Ab", "a\u2066b\u2069", "a\u200Fb", "a\u061Cb",
	} {
		t.Run(strings.ToValidUTF8(name, "?"), func(t *testing.T) {
			_, err := n.c.CreateApp(n.ctx, shared.CreateAppRequest{Name: name, Slug: "x"})
			if e := nodetest.WantError(t, err, 422, shared.CodeValidationFailed); e.Detail("field") != "name" {
				t.Errorf("app: field %q", e.Detail("field"))
			}
			_, err = n.c.CreateScript(n.ctx, shared.CreateScriptRequest{AppID: "home", Name: name, Source: `function handle(){ return "x" }`})
			if e := nodetest.WantError(t, err, 422, shared.CodeValidationFailed); e.Detail("field") != "name" {
				t.Errorf("script: field %q", e.Detail("field"))
			}
			_, err = n.c.UpdateApp(n.ctx, "home", shared.UpdateAppRequest{Name: &name})
			nodetest.WantError(t, err, 422, shared.CodeValidationFailed)
		})
	}
	// Scripts and words written right to left are fine.
	for _, name := range []string{"متجر", "שלום עולם", "日本語", "café"} {
		if _, err := n.c.CreateScript(n.ctx, shared.CreateScriptRequest{AppID: "home", Name: name, Source: `function handle(){ return "x" }`}); err != nil {
			t.Errorf("script %q: %v", name, err)
		}
	}
}

// SPEC §3: a route path that names one parameter twice is 422
// invalid_route: req.params could hold only one of them.
func TestRouteRepeatingAParameterIsRefused(t *testing.T) {
	n := start(t)
	mustApp(t, n, "Home", "home")
	s := mustScript(t, n, "home", "s", `function handle(){ return "x" }`)
	for _, p := range []string{"/a/:b/:b", "/:id/x/:id", "/:p/*p"} {
		_, err := n.c.CreateRoute(n.ctx, "home", shared.CreateRouteRequest{ScriptID: s.ID, Method: "GET", Path: p})
		if e := nodetest.WantError(t, err, 422, shared.CodeInvalidRoute); e.Detail("field") != "path" {
			t.Errorf("%s: field %q", p, e.Detail("field"))
		}
	}
	if _, err := n.c.CreateRoute(n.ctx, "home", shared.CreateRouteRequest{ScriptID: s.ID, Method: "GET", Path: "/a/:b/:c"}); err != nil {
		t.Errorf("/a/:b/:c: %v", err)
	}
}
