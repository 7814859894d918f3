package manager

import (
	"context"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/picloud/picloud/shared"
)

// EnvStore holds the apps' variables and secrets (SPEC §8). Secrets come
// back without their values.
type EnvStore interface {
	Env(ctx context.Context, appID int64) ([]shared.EnvVar, error)
	PutEnv(ctx context.Context, appID int64, name, value string, secret *bool) (shared.EnvVar, error)
	DeleteEnv(ctx context.Context, appID int64, name string) error
}

func (a *API) listEnv(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	app, ok := a.appFromURL(w, r, ps)
	if !ok {
		return
	}
	env, err := a.store.Env(r.Context(), app.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"env": env})
}

func (a *API) putEnv(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	app, ok := a.appFromURL(w, r, ps)
	if !ok {
		return
	}
	name := ps.ByName("name")
	if err := shared.ValidateEnvName(name); err != nil {
		a.fail(w, r, err)
		return
	}
	var req shared.PutEnvRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := shared.ValidateEnvValue(req.Value); err != nil {
		a.fail(w, r, err)
		return
	}
	v, err := a.store.PutEnv(r.Context(), app.ID, name, *req.Value, req.Secret)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (a *API) deleteEnv(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	app, ok := a.appFromURL(w, r, ps)
	if !ok {
		return
	}
	name := ps.ByName("name")
	if shared.ValidateEnvName(name) != nil {
		a.fail(w, r, shared.NotFound("variable", name)) // no entry can have that name
		return
	}
	if err := a.store.DeleteEnv(r.Context(), app.ID, name); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
