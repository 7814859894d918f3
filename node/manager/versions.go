package manager

import (
	"context"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/picloud/picloud/shared"
)

// VersionStore holds the kept contents of scripts (SPEC §11).
type VersionStore interface {
	ScriptVersions(ctx context.Context, scriptID int64) ([]shared.ScriptVersion, error)
	ScriptVersion(ctx context.Context, scriptID, version int64) (shared.ScriptVersion, error)
}

func (a *API) listVersions(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	id, err := idParam(ps, "script")
	if err != nil {
		return err
	}
	versions, err := a.store.ScriptVersions(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"versions": versions})
}

// rollback gives the script a kept version's source and sandbox as a new
// version, checked as a PATCH of both would be: the ceiling may have been
// lowered, or a route added, since that version was current. With
// if_version it is conditional as a save is, so a rollback chosen from a
// stale history never undoes someone else's newer save.
func (a *API) rollback(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	id, err := idParam(ps, "script")
	if err != nil {
		return err
	}
	var req shared.RollbackRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Version < 1 {
		return shared.Validation("version", "version is required: the number of a kept version")
	}
	a.scriptMu.Lock()
	defer a.scriptMu.Unlock()
	cur, err := a.store.Script(r.Context(), id)
	if err != nil {
		return err
	}
	if req.IfVersion != nil && *req.IfVersion != cur.Version {
		return shared.VersionConflict("script", id, cur.Version)
	}
	v, err := a.store.ScriptVersion(r.Context(), id, req.Version)
	if err != nil {
		return err
	}
	if err := a.checkNewContent(r.Context(), cur, v.Source, v.Sandbox); err != nil {
		return err
	}
	s, err := writeAs[shared.Script](r.Context(), a, &Command{Op: OpUpdateScript, ID: id, ScriptUpdate: &shared.UpdateScriptRequest{
		Source: &v.Source, Sandbox: &v.Sandbox, IfVersion: req.IfVersion}})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.withEffective(s))
}
