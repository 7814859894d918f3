package manager

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/picloud/picloud/node/executor"
	"github.com/picloud/picloud/shared"
)

func (a *API) listRoutes(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	app, err := a.appFromURL(r, ps)
	if err != nil {
		return err
	}
	rs, err := a.store.Routes(r.Context(), app.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"routes": rs})
}

func (a *API) createRoute(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	app, err := a.appFromURL(r, ps)
	if err != nil {
		return err
	}
	var req shared.CreateRouteRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	route, err := newRoute(app.ID, req)
	if err != nil {
		return err
	}
	if err := a.checkHandles(r.Context(), app.ID, route.ScriptID); err != nil {
		return err
	}
	// The check (routeCheck) runs inside the store's write transaction, so
	// no other writer can add a clashing route or drop the claim in between.
	created, err := writeAs[shared.Route](r.Context(), a, &Command{Op: OpCreateRoute, Route: &route, AppSlug: app.Slug})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, created)
}

// checkHandles refuses a route to a script of the app that defines no
// handle (a script may define only scheduled, SPEC §9). A script that is
// missing or another app's is left to the store's check, and one that no
// longer compiles to the data plane, which answers its routes 500.
func (a *API) checkHandles(ctx context.Context, appID, scriptID int64) error {
	sc, err := a.store.Script(ctx, scriptID)
	if err != nil || sc.AppID != appID {
		return nil
	}
	p, err := a.compiler.Compile(sc.ID, sc.Version, sc.Source, shared.EffectiveLimits(a.defaults, a.ceiling, sc.Sandbox))
	if err == nil && !p.Has(executor.EntryHandle) {
		return shared.Validation("script_id", "script %q defines no handle(req) function for a route to call", sc.Name)
	}
	return nil
}

// newRoute validates a route request: script_id, method, path and host.
func newRoute(appID int64, req shared.CreateRouteRequest) (shared.Route, error) {
	rt := shared.Route{AppID: appID, ScriptID: req.ScriptID, Path: req.Path}
	if req.ScriptID < 1 {
		return rt, shared.Validation("script_id", "script_id is required: the id of a script of this app")
	}
	m, err := shared.ValidateMethod(req.Method)
	if err != nil {
		return rt, err
	}
	rt.Method = m
	if err := shared.ValidateRoutePath(req.Path); err != nil {
		return rt, err
	}
	if req.Host != nil && *req.Host != "" {
		h, _, err := shared.NormalizeDomain(*req.Host)
		if err != nil {
			e, _ := shared.AsError(err)
			return rt, shared.Errorf(shared.CodeInvalidRoute, "%s", e.Message).With("field", "host")
		}
		if shared.IsWildcard(h) {
			return rt, shared.Errorf(shared.CodeInvalidRoute,
				"a route names one exact host, not %q; leave host out to answer on every host the app claims", h).
				With("field", "host")
		}
		rt.Host = &h
	}
	return rt, nil
}

func covered(domains []shared.Domain, host string) bool {
	for _, d := range domains {
		if shared.DomainCovers(d.Pattern, host) {
			return true
		}
	}
	return false
}

func (a *API) deleteRoute(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	app, err := a.appFromURL(r, ps)
	if err != nil {
		return err
	}
	id, err := idParam(ps, "route")
	if err != nil {
		return err
	}
	if _, err := a.write(r.Context(), &Command{Op: OpDeleteRoute, AppID: app.ID, ID: id}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- resolve, execute, logs ----

func (a *API) resolve(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	q := r.URL.Query()
	host, method, path := q.Get("host"), q.Get("method"), q.Get("path")
	if host == "" {
		return shared.Validation("host", "host is required")
	}
	if method == "" {
		method = http.MethodGet
	}
	m, err := shared.ValidateMethod(method)
	if err != nil || m == shared.MethodAny {
		return shared.Validation("method", "method %q is not an HTTP request method", method)
	}
	if path == "" {
		path = "/"
	}
	if !strings.HasPrefix(path, "/") {
		return shared.Validation("path", "path must start with '/'")
	}
	res, err := a.data.Resolve(r.Context(), host, m, path)
	if err != nil {
		return err
	}
	if res.Params == nil {
		res.Params = map[string]string{}
	}
	res.Script = a.withEffective(res.Script)
	return writeJSON(w, http.StatusOK, res)
}

// execute runs script rawID with this request, whatever its method.
func (a *API) execute(w http.ResponseWriter, r *http.Request, rawID string) error {
	id, err := strconv.ParseInt(rawID, 10, 64)
	if err != nil || id < 1 {
		return shared.NotFound("script", rawID)
	}
	a.data.Execute(w, r, id)
	return nil
}

func (a *API) logs(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	app, err := a.appFromURL(r, ps)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	script, err := queryInt(q.Get("script"), "script", 0)
	if err != nil {
		return err
	}
	limit, err := queryInt(q.Get("limit"), "limit", DefaultLogPage)
	if err != nil {
		return err
	}
	if limit < 1 || limit > MaxLogPage {
		return shared.Validation("limit", "limit must be between 1 and %d", MaxLogPage)
	}
	before, err := queryInt(q.Get("before"), "before", 0)
	if err != nil {
		return err
	}
	cluster := q.Get("cluster") == "true"
	if cluster && before != 0 {
		return shared.Validation("before", "before pages one node's logs (ids are per node); a cluster page is the newest logs of every member")
	}
	// A page read after a run holds its log, though the writer batches.
	if err := a.data.FlushLogs(r.Context()); err != nil {
		return err
	}
	logs, err := a.store.Logs(r.Context(), app.ID, script, int(limit), before)
	if err != nil {
		return err
	}
	if cluster {
		return a.clusterLogPage(w, r, app.ID, script, int(limit), logs)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"logs": logs})
}

// queryInt parses a non-negative integer query parameter (def when absent).
func queryInt(raw, field string, def int64) (int64, error) {
	if raw == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < 0 {
		return 0, shared.Validation(field, "%s must be a non-negative integer, got %q", field, raw)
	}
	return n, nil
}
