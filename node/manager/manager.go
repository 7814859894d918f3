// Package manager is the node's admin API (SPEC §3): apps, slugs, domains,
// scripts, sandbox, routes, resolve, execute and logs, all behind one
// authentication seam. It validates with the rules of package shared and
// writes through the store; the store tells the data plane and the
// scheduler of every committed change, so no handler has to.
package manager

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/picloud/picloud/node/executor"
	"github.com/picloud/picloud/shared"
)

// AppStore is what the manager needs of the database for apps and slugs.
type AppStore interface {
	ListApps(ctx context.Context) ([]shared.App, error)
	App(ctx context.Context, ref string) (shared.App, error)
	AppByOldSlug(ctx context.Context, slug string) (shared.App, error)
	SlugStatus(ctx context.Context, appID int64, slug string) (status, heldBy string, err error)
	SlugHistory(ctx context.Context, appID int64) ([]shared.OldSlug, error)
	CreateApp(ctx context.Context, a shared.App, takeover bool) (shared.App, error)
	UpdateApp(ctx context.Context, id int64, u shared.UpdateAppRequest, takeover bool) (shared.App, error)
	DeleteApp(ctx context.Context, id int64) error
}

// DomainStore holds the apps' claims.
type DomainStore interface {
	Domains(ctx context.Context, appID int64) ([]shared.Domain, error)
	AddDomain(ctx context.Context, appID int64, pattern, shapeKey string) (shared.Domain, error)
	DeleteDomain(ctx context.Context, appID, domainID int64) error
}

// ScriptStore holds scripts.
type ScriptStore interface {
	Scripts(ctx context.Context, appID int64) ([]shared.Script, error)
	Script(ctx context.Context, id int64) (shared.Script, error)
	CreateScript(ctx context.Context, sc shared.Script) (shared.Script, error)
	UpdateScript(ctx context.Context, id int64, u shared.UpdateScriptRequest) (shared.Script, error)
	DeleteScript(ctx context.Context, id int64) error
}

// RouteStore holds routes and reads execution logs.
type RouteStore interface {
	Routes(ctx context.Context, appID int64) ([]shared.Route, error)
	CreateRoute(ctx context.Context, r shared.Route, check func(existing []shared.Route, domains []shared.Domain) error) (shared.Route, error)
	DeleteRoute(ctx context.Context, appID, routeID int64) error
	Logs(ctx context.Context, appID, scriptID int64, limit int, before int64) ([]shared.Log, error)
}

// Store is the database as the manager uses it (*store.Store). Lists it
// returns are never nil, so they reach the API as [], not null.
type Store interface {
	AppStore
	DomainStore
	ScriptStore
	RouteStore
	EgressStore
	ScheduleStore
	EnvStore
	VersionStore
	ImportStore
	KVStore
}

// Compiler checks a script at save time (the executor). Errors are
// *shared.Error: script_syntax, validation_failed, too_large.
type Compiler interface {
	Compile(scriptID, version int64, source string, limits shared.Limits) (*executor.Program, error)
}

// DataPlane is the orchestrator: it answers resolve through its own lookup
// and runs execute. It learns of changes from the store, not from here.
type DataPlane interface {
	Resolve(ctx context.Context, host, method, path string) (shared.Resolution, error)
	Execute(w http.ResponseWriter, r *http.Request, scriptID int64)
	// FlushLogs writes the execution logs of the runs that have ended,
	// so that a page read next holds them.
	FlushLogs(ctx context.Context) error
}

// Config configures the admin API. Store, Compiler, Data and Token are
// required.
type Config struct {
	Store    Store
	Compiler Compiler
	Data     DataPlane
	// Schedules is the scheduler: it runs a schedule on request.
	Schedules Scheduler
	// KV is the apps' key-value storage; nil answers its endpoints 404.
	KV KV
	// Tails opens live tails of execution logs (the orchestrator); nil
	// answers the tail endpoint 404.
	Tails Tailer
	// Members is cluster membership (node/clusternet); nil answers its
	// endpoints 404.
	Members ClusterMembers
	// Cluster answers GET /api/v1/admin/cluster; nil answers it 404.
	Cluster ClusterInfo
	// Token returns the admin token in force; it is asked on every request,
	// so a rotation takes effect at once. An empty token refuses everyone.
	Token func() string
	// Defaults are the limits of a script without overrides (already capped
	// by Ceiling); Ceiling is the most an override may ask for.
	Defaults, Ceiling shared.Limits
	Logger            *slog.Logger
	// Now is the clock of confirm-token expiry; nil means time.Now.
	Now func() time.Time
}

// Limits of the admin API (SPEC §3).
const (
	MaxBodyBytes   = 1 << 20   // any request body
	MaxSourceBytes = 256 << 10 // a script's source
	ConfirmTTL     = 10 * time.Minute
	DefaultLogPage = 100
	MaxLogPage     = 1000
)

// Endpoint is one route of the admin API.
type Endpoint struct {
	Method, Path string
}

// API is the admin API handler.
type API struct {
	store    Store
	compiler Compiler
	data     DataPlane
	sched    Scheduler
	kv       KV
	tails    Tailer
	members  ClusterMembers
	cluster  ClusterInfo
	now      func() time.Time
	token    func() string
	defaults shared.Limits
	ceiling  shared.Limits
	log      *slog.Logger
	confirms *confirmTokens
	writer   atomic.Pointer[Writer] // takes every write (localWriter, or a cluster's)
	// scriptMu makes a script PATCH's read, check and write one step, so
	// two PATCHes (one of the source, one of the sandbox) cannot each pass
	// their check against the other's old half and store a pair that fails.
	scriptMu sync.Mutex

	router    *httprouter.Router
	endpoints []Endpoint
	handler   http.Handler
}

// New returns the admin API: every /api/v1/admin/... and /api/v1/execute/...
// route, all behind authentication.
func New(cfg Config) http.Handler { return NewAPI(cfg) }

// NewAPI is New returning the concrete type, for Endpoints.
func NewAPI(cfg Config) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &API{
		store:    cfg.Store,
		compiler: cfg.Compiler,
		data:     cfg.Data,
		sched:    cfg.Schedules,
		kv:       cfg.KV,
		tails:    cfg.Tails,
		members:  cfg.Members,
		cluster:  cfg.Cluster,
		now:      cfg.Now,
		token:    cfg.Token,
		defaults: cfg.Defaults,
		ceiling:  cfg.Ceiling,
		log:      cfg.Logger,
		confirms: newConfirmTokens(cfg.Now, ConfirmTTL),
	}
	a.SetWriter(localWriter{a})
	a.router = a.newRouter()
	a.routes()
	// Authentication wraps everything, not each route: a route added later
	// cannot forget it. Roles slot in here.
	a.handler = a.authenticate(a.withSync(a.withImport(a.withExecute(a.router))))
	return a
}

// newRouter is the router with the contract's answers for a path or a
// method it does not know and for a handler that panics.
func (a *API) newRouter() *httprouter.Router {
	r := httprouter.New()
	r.NotFound = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		writeError(w, shared.Errorf(shared.CodeNotFound, "no such endpoint: %s", req.URL.Path))
	})
	r.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		// "allow" is a list, as the data plane's 405 has it.
		allow := strings.Split(w.Header().Get("Allow"), ", ")
		writeError(w, shared.Errorf(shared.CodeMethodNotAllowed,
			"%s is not allowed on %s", req.Method, req.URL.Path).With("allow", allow))
	})
	r.PanicHandler = func(w http.ResponseWriter, req *http.Request, v any) {
		a.log.Error("admin handler panicked", "method", req.Method, "path", req.URL.Path, "panic", v)
		writeError(w, shared.Errorf(shared.CodeInternal, "internal error"))
	}
	return r
}

// routes registers every endpoint of the API but execute: one line each.
func (a *API) routes() {
	a.handle(http.MethodGet, shared.PathApps, a.listApps)
	a.handle(http.MethodPost, shared.PathApps, a.createApp)
	a.handle(http.MethodGet, shared.PathApp, a.getApp)
	a.handle(http.MethodPatch, shared.PathApp, a.updateApp)
	a.handle(http.MethodDelete, shared.PathApp, a.deleteApp)
	a.handle(http.MethodPost, shared.PathSlugCheck, a.checkSlug)
	a.handle(http.MethodGet, shared.PathExport, a.exportApp)
	a.handle(http.MethodGet, shared.PathSlugHistory, a.listSlugHistory)

	a.handle(http.MethodGet, shared.PathDomains, a.listDomains)
	a.handle(http.MethodPost, shared.PathDomains, a.addDomain)
	a.handle(http.MethodDelete, shared.PathDomain, a.deleteDomain)

	a.handle(http.MethodGet, shared.PathScripts, a.listScripts)
	a.handle(http.MethodPost, shared.PathScripts, a.createScript)
	a.handle(http.MethodGet, shared.PathScript, a.getScript)
	a.handle(http.MethodPatch, shared.PathScript, a.updateScript)
	a.handle(http.MethodDelete, shared.PathScript, a.deleteScript)
	a.handle(http.MethodGet, shared.PathVersions, a.listVersions)
	a.handle(http.MethodPost, shared.PathRollback, a.rollback)
	a.handle(http.MethodGet, shared.PathSandbox, a.sandbox)

	a.handle(http.MethodGet, shared.PathRoutes, a.listRoutes)
	a.handle(http.MethodPost, shared.PathRoutes, a.createRoute)
	a.handle(http.MethodDelete, shared.PathRoute, a.deleteRoute)

	a.handle(http.MethodGet, shared.PathEgress, a.getEgress)
	a.handle(http.MethodPut, shared.PathEgress, a.putEgress)

	a.handle(http.MethodGet, shared.PathSchedules, a.listSchedules)
	a.handle(http.MethodPost, shared.PathSchedules, a.createSchedule)
	a.handle(http.MethodDelete, shared.PathSchedule, a.deleteSchedule)
	a.handle(http.MethodPost, shared.PathScheduleRun, a.runSchedule)

	a.handle(http.MethodGet, shared.PathEnv, a.listEnv)
	a.handle(http.MethodPut, shared.PathEnvVar, a.putEnv)
	a.handle(http.MethodDelete, shared.PathEnvVar, a.deleteEnv)

	a.handle(http.MethodGet, shared.PathKV, a.listKV)
	a.handle(http.MethodGet, shared.PathKVKey, a.getKV)
	a.handle(http.MethodPut, shared.PathKVKey, a.putKV)
	a.handle(http.MethodDelete, shared.PathKVKey, a.deleteKV)

	a.handle(http.MethodGet, shared.PathResolve, a.resolve)
	a.handle(http.MethodGet, shared.PathLogs, a.logs)
	a.handle(http.MethodGet, shared.PathTail, a.tailLogs)

	a.clusterMemberRoutes()
	a.clusterRoutes()
}

// withExecute dispatches execute before the router: it answers any method,
// custom ones included (SPEC §3), which httprouter cannot express.
func (a *API) withExecute(router http.Handler) http.Handler {
	a.endpoints = append(a.endpoints,
		Endpoint{Method: shared.MethodAny, Path: shared.PathExecute + ":id"},
		Endpoint{Method: shared.MethodAny, Path: shared.PathExecute + ":id/*path"})
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if rest, ok := strings.CutPrefix(req.URL.Path, shared.PathExecute); ok {
			id, _, _ := strings.Cut(rest, "/")
			if err := a.execute(w, req, id); err != nil {
				a.fail(w, req, err)
			}
			return
		}
		router.ServeHTTP(w, req)
	})
}

// handler is an admin endpoint, as Caddy's handlers are: it writes its
// answer, or returns the error that fail answers for it.
type handler func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error

func (a *API) handle(method, path string, h handler) {
	a.router.Handle(method, path, func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		if err := h(w, r, ps); err != nil {
			a.fail(w, r, err)
		}
	})
	a.endpoints = append(a.endpoints, Endpoint{Method: method, Path: path})
}

// Endpoints lists every route of the API, for tests and documentation.
func (a *API) Endpoints() []Endpoint { return append([]Endpoint(nil), a.endpoints...) }

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// authenticate lets a request through only with the admin token as Bearer
// token. Both sides are hashed first, so the comparison takes the same
// time whatever the lengths.
func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.authorized(r) {
			w.Header().Set("WWW-Authenticate", "Bearer")
			writeError(w, shared.Errorf(shared.CodeUnauthorized,
				"missing or wrong admin token; send Authorization: Bearer <token>"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a *API) authorized(r *http.Request) bool {
	scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	want := ""
	if a.token != nil {
		want = a.token()
	}
	if want == "" {
		return false
	}
	g, w := sha256.Sum256([]byte(strings.TrimSpace(got))), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
