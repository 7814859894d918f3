package manager

import (
	"net/http"
	"strconv"

	"github.com/julienschmidt/httprouter"

	"github.com/picloud/picloud/shared"
)

func (a *API) listDomains(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	app, err := a.appFromURL(r, ps)
	if err != nil {
		return err
	}
	ds, err := a.store.Domains(r.Context(), app.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"domains": ds})
}

// listSlugHistory answers the app's old slugs, newest first.
func (a *API) listSlugHistory(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	app, err := a.appFromURL(r, ps)
	if err != nil {
		return err
	}
	slugs, err := a.store.SlugHistory(r.Context(), app.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"slugs": slugs})
}

func (a *API) addDomain(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	app, err := a.appFromURL(r, ps)
	if err != nil {
		return err
	}
	var req shared.CreateDomainRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	pattern, shape, err := shared.NormalizeDomain(req.Pattern)
	if err != nil {
		return err
	}
	d, err := writeAs[shared.Domain](r.Context(), a, &Command{Op: OpAddDomain, AppID: app.ID, Pattern: pattern, Shape: shape})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, d)
}

func (a *API) deleteDomain(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	app, err := a.appFromURL(r, ps)
	if err != nil {
		return err
	}
	id, err := idParam(ps, "domain")
	if err != nil {
		return err
	}
	if _, err := a.write(r.Context(), &Command{Op: OpDeleteDomain, AppID: app.ID, ID: id}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// idParam reads the :id of the URL; anything but a positive integer names
// nothing that exists (404 not_found).
func idParam(ps httprouter.Params, what string) (int64, error) {
	raw := ps.ByName("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 1 {
		return 0, shared.NotFound(what, raw)
	}
	return id, nil
}
