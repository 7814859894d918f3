package orchestrator

import (
	"github.com/julienschmidt/httprouter"

	"github.com/picloud/picloud/node/executor"
	"github.com/picloud/picloud/node/store"
	"github.com/picloud/picloud/shared"
)

// snapshot is an immutable view of every app, claim, route and compiled
// script. Requests only read it; Rebuild replaces it as a whole.
type snapshot struct {
	domains domainTable
	apps    map[int64]*appState
	scripts map[int64]*scriptState
}

type appState struct {
	app    shared.App
	routes *routeTable
	// bindings are what the app's runs see as env and behind host APIs;
	// one value serves every run (the executor only reads it).
	bindings *executor.Bindings
	// redactor hides the app's secrets in its logs; nil when it has none.
	redactor *redactor
}

type scriptState struct {
	script  shared.Script // EffectiveSandbox filled
	program *executor.Program
	err     error // why it does not compile; its routes answer 500 script_error
}

// build turns what the store holds into a snapshot. Inconsistencies that
// the manager prevents (a clashing route, a route of a missing script) are
// logged and cost only the entry concerned.
func (o *Orchestrator) build(data *store.Snapshot) *snapshot {
	s := &snapshot{
		domains: newDomainTable(),
		apps:    make(map[int64]*appState, len(data.Apps)),
		scripts: make(map[int64]*scriptState, len(data.Scripts)),
	}
	for _, a := range data.Apps {
		s.apps[a.ID] = &appState{app: a, routes: newRouteTable(), bindings: o.bindings(a, data),
			redactor: newRedactor(appEnv(data.Env, a.ID))}
	}
	for _, d := range data.Domains {
		if _, ok := s.apps[d.AppID]; ok {
			s.domains.add(d.Pattern, d.AppID)
		}
	}
	for _, sc := range data.Scripts {
		sc.EffectiveSandbox = shared.EffectiveLimits(o.defaults, o.ceiling, sc.Sandbox)
		st := &scriptState{script: sc}
		st.program, st.err = o.exec.Compile(sc.ID, sc.Version, sc.Source, sc.EffectiveSandbox)
		if st.err != nil {
			o.log.Error("script does not compile; its routes answer 500 script_error",
				"app", sc.AppSlug, "script", sc.ID, "name", sc.Name, "version", sc.Version, "err", st.err)
		}
		s.scripts[sc.ID] = st
	}
	for _, r := range data.Routes {
		a, ok := s.apps[r.AppID]
		if !ok {
			continue
		}
		if sc, ok := s.scripts[r.ScriptID]; !ok || sc.script.AppID != r.AppID {
			o.log.Error("route skipped: its script is not in the app", "app", a.app.Slug, "route", r.ID, "script", r.ScriptID)
			continue
		}
		if err := a.routes.add(r); err != nil {
			o.log.Error("route skipped: it clashes with another route", "app", a.app.Slug, "err", err)
		}
	}
	return s
}

// target is what a request resolves to.
type target struct {
	host   string // normalised
	app    *appState
	route  *shared.Route
	script *scriptState
	params httprouter.Params
}

// resolve is the one lookup of the data plane, used by both ServeHTTP and
// Resolve: host → app → route → script. Failures are the contract's 404
// unknown_host, 404 no_route and 405 method_not_allowed (with "allow").
func (s *snapshot) resolve(rawHost, method, path string) (target, *shared.Error) {
	host, err := shared.NormalizeHost(rawHost)
	if err != nil {
		return target{}, unknownHost(rawHost)
	}
	appID, ok := s.domains.match(host)
	if !ok {
		return target{}, unknownHost(host)
	}
	a := s.apps[appID]
	route, params, allow := a.routes.lookup(host, method, path)
	if route == nil {
		if len(allow) > 0 {
			return target{}, shared.Errorf(shared.CodeMethodNotAllowed,
				"%s is not allowed for %s; allowed: %s", method, path, allowHeader(allow)).
				With("allow", allow)
		}
		return target{}, shared.Errorf(shared.CodeNoRoute,
			"app %q has no route for %s %s on %s", a.app.Slug, method, path, host).
			With("host", host).With("method", method).With("path", path)
	}
	return target{host: host, app: a, route: route, script: s.scripts[route.ScriptID], params: params}, nil
}

func unknownHost(host string) *shared.Error {
	return shared.Errorf(shared.CodeUnknownHost, "no app claims the host %q", host).With("host", host)
}

// runParams is paramMap for a run: nil when the route has no parameters,
// which the executor shows the script as the same empty object.
func runParams(ps httprouter.Params) map[string]string {
	if len(ps) == 0 {
		return nil
	}
	return paramMap(ps)
}

// paramMap converts httprouter's params for the script and for resolve;
// never nil, so the script always sees an object.
func paramMap(ps httprouter.Params) map[string]string {
	m := make(map[string]string, len(ps))
	for _, p := range ps {
		m[p.Key] = p.Value
	}
	return m
}
