package manager

import (
	"context"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/picloud/picloud/shared"
)

// EgressStore holds the apps' egress allowlists (SPEC §10).
type EgressStore interface {
	Egress(ctx context.Context, appID int64) ([]string, error)
	SetEgress(ctx context.Context, appID int64, allow []string) ([]string, error)
}

func (a *API) getEgress(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	app, err := a.appFromURL(r, ps)
	if err != nil {
		return err
	}
	allow, err := a.store.Egress(r.Context(), app.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, shared.Egress{Allow: allow})
}

// putEgress replaces the whole list: PUT {"allow": []} closes the network
// again. "allow" must be present, so an empty body never wipes a list.
func (a *API) putEgress(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	app, err := a.appFromURL(r, ps)
	if err != nil {
		return err
	}
	var req struct {
		Allow *[]string `json:"allow"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Allow == nil {
		return shared.Validation("allow", `"allow" is required: the list of hosts, addresses and ranges, [] for none`)
	}
	allow, err := shared.NormalizeEgress(*req.Allow)
	if err != nil {
		return err
	}
	stored, err := writeAs[[]string](r.Context(), a, &Command{Op: OpSetEgress, AppID: app.ID, Egress: allow})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, shared.Egress{Allow: stored})
}
