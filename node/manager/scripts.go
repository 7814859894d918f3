package manager

import (
	"context"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/picloud/picloud/node/executor"
	"github.com/picloud/picloud/shared"
)

const (
	maxScriptNameLen = 128
	maxMemoryLimitMB = 1 << 20
)

// withEffective fills what the store leaves to the caller: the effective
// sandbox, and `{}` rather than null for no overrides.
func (a *API) withEffective(s shared.Script) shared.Script {
	if s.Sandbox == nil {
		s.Sandbox = shared.Overrides{}
	}
	s.EffectiveSandbox = shared.EffectiveLimits(a.defaults, a.ceiling, s.Sandbox)
	return s
}

// appByRef finds an app named in a body or query by id, current slug or old
// slug (renamed=true); an unknown one is 422 validation_failed on field.
func (a *API) appByRef(ctx context.Context, field, ref string) (app shared.App, renamed bool, err error) {
	if ref == "" {
		return app, false, shared.Validation(field, "%s is required: the id or slug of an app", field)
	}
	app, err = a.store.App(ctx, ref)
	if !shared.IsCode(err, shared.CodeNotFound) {
		return app, false, err
	}
	if cur, herr := a.store.AppByOldSlug(ctx, ref); herr == nil {
		return cur, true, nil
	}
	return app, false, shared.Validation(field, "there is no app %q", ref)
}

func (a *API) listScripts(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	var appID int64
	// ?app= (empty, as a form sends it) lists every app's scripts.
	if q := r.URL.Query(); q.Get("app") != "" {
		app, renamed, err := a.appByRef(r.Context(), "app", q.Get("app"))
		if err != nil {
			if shared.IsCode(err, shared.CodeValidationFailed) {
				err = shared.NotFound("app", q.Get("app"))
			}
			return err
		}
		if renamed {
			q.Set("app", app.Slug)
			return redirect(r.URL.Path, q)
		}
		appID = app.ID
	}
	scripts, err := a.store.Scripts(r.Context(), appID)
	if err != nil {
		return err
	}
	out := make([]shared.Script, len(scripts))
	for i, s := range scripts {
		out[i] = a.withEffective(s)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"scripts": out})
}

func (a *API) getScript(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	id, err := idParam(ps, "script")
	if err != nil {
		return err
	}
	s, err := a.store.Script(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.withEffective(s))
}

func (a *API) createScript(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	var req shared.CreateScriptRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	app, _, err := a.appByRef(r.Context(), "app_id", string(req.AppID))
	if err != nil {
		return err
	}
	if err := checkTexts(&req.Name, maxScriptNameLen, &req.Description); err != nil {
		return err
	}
	if err := checkMemory(req.MemoryLimitMB); err != nil {
		return err
	}
	if _, err := a.checkProgram(req.Source, req.Sandbox); err != nil {
		return err
	}
	s, err := writeAs[shared.Script](r.Context(), a, &Command{Op: OpCreateScript, Script: &shared.Script{
		AppID: app.ID, Name: req.Name, Description: req.Description, Source: req.Source,
		Sandbox: req.Sandbox, MemoryLimitMB: req.MemoryLimitMB,
	}})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, a.withEffective(s))
}

func (a *API) updateScript(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	id, err := idParam(ps, "script")
	if err != nil {
		return err
	}
	var req shared.UpdateScriptRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	a.scriptMu.Lock()
	defer a.scriptMu.Unlock()
	cur, err := a.store.Script(r.Context(), id)
	if err != nil {
		return err
	}
	if req.IfVersion != nil && *req.IfVersion != cur.Version { // before any check of a change that will not be made
		return shared.VersionConflict("script", id, cur.Version)
	}
	if err := checkTexts(req.Name, maxScriptNameLen, req.Description); err != nil {
		return err
	}
	if req.MemoryLimitMB != nil {
		if err := checkMemory(*req.MemoryLimitMB); err != nil {
			return err
		}
	}
	if req.Source != nil || req.Sandbox != nil {
		// Either change can break the script (a lower max_expr_depth
		// rejects source that passed before), so check the result.
		source, sandbox := cur.Source, cur.Sandbox
		if req.Source != nil {
			source = *req.Source
		}
		if req.Sandbox != nil {
			sandbox = *req.Sandbox
		}
		if err := a.checkNewContent(r.Context(), cur, source, sandbox); err != nil {
			return err
		}
	}
	s, err := writeAs[shared.Script](r.Context(), a, &Command{Op: OpUpdateScript, ID: id, ScriptUpdate: &req})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.withEffective(s))
}

func (a *API) deleteScript(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	id, err := idParam(ps, "script")
	if err != nil {
		return err
	}
	if _, err := a.write(r.Context(), &Command{Op: OpDeleteScript, ID: id}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) sandbox(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) error {
	return writeJSON(w, http.StatusOK, shared.SandboxInfo{Defaults: a.defaults, Ceiling: a.ceiling})
}

// checkProgram validates overrides against the ceiling and compiles source
// under the resulting limits, without caching (script id 0). Errors are
// the contract's: too_large, unknown_field, sandbox_exceeds_ceiling,
// validation_failed, script_syntax.
func (a *API) checkProgram(source string, sandbox shared.Overrides) (*executor.Program, error) {
	if len(source) > MaxSourceBytes {
		return nil, shared.TooLarge(MaxSourceBytes).With("field", "source")
	}
	if err := shared.ValidateOverrides(sandbox, a.ceiling); err != nil {
		return nil, err
	}
	return a.compiler.Compile(0, 0, source, shared.EffectiveLimits(a.defaults, a.ceiling, sandbox))
}

// checkNewContent checks source and sandbox as cur's next content: they
// compile under the ceiling, and the entries its routes and schedules call
// are still there.
func (a *API) checkNewContent(ctx context.Context, cur shared.Script, source string, sandbox shared.Overrides) error {
	p, err := a.checkProgram(source, sandbox)
	if err != nil {
		return err
	}
	if err := a.checkRoutedHandle(ctx, cur, p); err != nil {
		return err
	}
	return a.checkScheduledKept(ctx, cur, p)
}

// checkRoutedHandle refuses a new version without handle of a script that
// routes call.
func (a *API) checkRoutedHandle(ctx context.Context, cur shared.Script, p *executor.Program) error {
	if p.Has(executor.EntryHandle) {
		return nil
	}
	routes, err := a.store.Routes(ctx, cur.AppID)
	if err != nil {
		return err
	}
	for _, rt := range routes {
		if rt.ScriptID == cur.ID {
			return shared.Validation("source", "routes call this script: it must keep its handle(req) function (route %d)", rt.ID)
		}
	}
	return nil
}

func checkMemory(mb int64) error {
	if mb < 0 || mb > maxMemoryLimitMB {
		return shared.Validation("memory_limit_mb", "memory_limit_mb must be between 0 and %d", maxMemoryLimitMB)
	}
	return nil
}
