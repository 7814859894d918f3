package manager

import (
	"net/http"
	"strconv"

	"github.com/julienschmidt/httprouter"

	"github.com/picloud/picloud/shared"
)

func (a *API) listDomains(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	app, ok := a.appFromURL(w, r, ps)
	if !ok {
		return
	}
	ds, err := a.store.Domains(r.Context(), app.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"domains": ds})
}

func (a *API) addDomain(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	app, ok := a.appFromURL(w, r, ps)
	if !ok {
		return
	}
	var req shared.CreateDomainRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	pattern, shape, err := shared.NormalizeDomain(req.Pattern)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d, err := a.store.AddDomain(r.Context(), app.ID, pattern, shape)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, d)
}

func (a *API) deleteDomain(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	app, ok := a.appFromURL(w, r, ps)
	if !ok {
		return
	}
	id, ok := idParam(w, ps, "domain")
	if !ok {
		return
	}
	if err := a.store.DeleteDomain(r.Context(), app.ID, id); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// idParam reads the :id of the URL; anything but a positive integer names
// nothing that exists (404 not_found).
func idParam(w http.ResponseWriter, ps httprouter.Params, what string) (int64, bool) {
	raw := ps.ByName("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 1 {
		writeError(w, shared.NotFound(what, raw))
		return 0, false
	}
	return id, true
}
