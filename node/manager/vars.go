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

func (a *API) listEnv(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	app, err := a.appFromURL(r, ps)
	if err != nil {
		return err
	}
	env, err := a.store.Env(r.Context(), app.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"env": env})
}

func (a *API) putEnv(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	app, err := a.appFromURL(r, ps)
	if err != nil {
		return err
	}
	name := ps.ByName("name")
	if err := shared.ValidateEnvName(name); err != nil {
		return err
	}
	var req shared.PutEnvRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := shared.ValidateEnvValue(req.Value); err != nil {
		return err
	}
	v, err := writeAs[shared.EnvVar](r.Context(), a, &Command{Op: OpPutEnv, AppID: app.ID, Name: name, Value: *req.Value, Secret: req.Secret})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (a *API) deleteEnv(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	app, err := a.appFromURL(r, ps)
	if err != nil {
		return err
	}
	name := ps.ByName("name")
	if shared.ValidateEnvName(name) != nil {
		return shared.NotFound("variable", name) // no entry can have that name
	}
	if _, err := a.write(r.Context(), &Command{Op: OpDeleteEnv, AppID: app.ID, Name: name}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
