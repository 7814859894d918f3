package e2e

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/picloud/picloud/shared"
)

// An endpoint written in this test writes through the store and does
// nothing else; the data plane sees each change at the next request,
// because the store publishes committed changes, not the handlers.
func TestAWriteThroughTheStoreReachesTheDataPlane(t *testing.T) {
	e := start(t)
	st := e.n.Store()
	var app shared.App
	var script shared.Script
	writes := map[string]func(r *http.Request) error{
		"/app": func(r *http.Request) (err error) {
			app, err = st.CreateApp(r.Context(), shared.App{Slug: "direct", Name: "Direct"}, false)
			if err != nil {
				return err
			}
			norm, shape, err := shared.NormalizeDomain("direct.example.com")
			if err != nil {
				return err
			}
			_, err = st.AddDomain(r.Context(), app.ID, norm, shape)
			return err
		},
		"/script": func(r *http.Request) (err error) {
			script, err = st.CreateScript(r.Context(), shared.Script{AppID: app.ID, Name: "hello",
				Source: `function handle(req, env) { return "hello " + env.WHO; }`})
			if err != nil {
				return err
			}
			_, err = st.CreateRoute(r.Context(), shared.Route{AppID: app.ID, ScriptID: script.ID, Method: "GET", Path: "/"}, nil)
			return err
		},
		"/env": func(r *http.Request) error {
			_, err := st.PutEnv(r.Context(), app.ID, "WHO", "store", nil)
			return err
		},
	}
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := writes[r.URL.Path](r); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer endpoint.Close()
	call := func(path string) {
		t.Helper()
		resp, err := http.Post(endpoint.URL+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("POST %s: %d", path, resp.StatusCode)
		}
	}

	e.get("direct.example.com", "/").apiError(t, http.StatusNotFound, shared.CodeUnknownHost)
	call("/app")
	e.get("direct.example.com", "/").apiError(t, http.StatusNotFound, shared.CodeNoRoute)
	call("/script")
	if r := e.get("direct.example.com", "/"); r.Status != http.StatusOK || r.String() != "hello undefined" {
		t.Fatalf("after the route: %d %s", r.Status, r.Body)
	}
	call("/env")
	if r := e.get("direct.example.com", "/"); r.String() != "hello store" {
		t.Errorf("after the variable: %d %s", r.Status, r.Body)
	}
}
