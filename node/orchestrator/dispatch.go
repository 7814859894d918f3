package orchestrator

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/picloud/picloud/node/executor"
	"github.com/picloud/picloud/node/httpjson"
	"github.com/picloud/picloud/shared"
)

// InternalHost is the implicit claim of POST /api/v1/execute/{id}: a script
// run through it needs no domain or route.
const InternalHost = "__internal__"

// ServeHTTP is the data plane: host → app → route → script.
func (o *Orchestrator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	snap := o.current.Load()
	if snap == nil {
		writeError(w, errStarting())
		return
	}
	t, err := snap.resolve(r.Host, r.Method, r.URL.Path)
	if err != nil {
		if err.Status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", allowHeader(err.Details["allow"].([]string)))
		}
		writeError(w, err)
		return
	}
	// The executor only reads params and headers (it copies them into the
	// script's req), so the request's own header map is passed as is. The
	// snapshot is immutable, so the log may point at its route id.
	o.serve(w, r, invocation{
		trigger: shared.TriggerRoute,
		app:     t.app,
		script:  t.script,
		routeID: &t.route.ID,
		host:    t.host,
		path:    r.URL.Path,
	}, runParams(t.params), r.Header)
}

// Resolve answers what the data plane would run for a host, method and
// path, through the very lookup ServeHTTP uses. Errors are *shared.Error:
// 404 unknown_host, 404 no_route, 405 method_not_allowed.
func (o *Orchestrator) Resolve(ctx context.Context, host, method, path string) (shared.Resolution, error) {
	snap := o.current.Load()
	if snap == nil {
		return shared.Resolution{}, errStarting()
	}
	t, err := snap.resolve(host, method, path)
	if err != nil {
		return shared.Resolution{}, err
	}
	return shared.Resolution{
		App:    t.app.app,
		Route:  *t.route,
		Script: t.script.script,
		Params: paramMap(t.params),
	}, nil
}

// Execute runs a script for the admin API's /api/v1/execute/{id} (any
// method): the implicit __internal__ claim, with the request's method,
// headers, query and body, answered exactly as the data plane would. The
// script sees the path after /api/v1/execute/{id} ("/" when none) and the
// host __internal__; the Authorization header (the admin token) is not
// passed on, so it cannot end up in a script's output or logs.
func (o *Orchestrator) Execute(w http.ResponseWriter, r *http.Request, scriptID int64) {
	snap := o.current.Load()
	if snap == nil {
		writeError(w, errStarting())
		return
	}
	sc, a, err := snap.scriptOf(scriptID)
	if err != nil {
		writeError(w, err)
		return
	}
	header := r.Header.Clone()
	header.Del("Authorization")
	params, perr := executeParams(a, scriptID, header.Get(shared.ExecuteRouteHeader), executePath(r.URL.Path, scriptID))
	if perr != nil {
		writeError(w, perr)
		return
	}
	header.Del(shared.ExecuteRouteHeader)
	o.serve(w, r, invocation{
		trigger: shared.TriggerExecute,
		app:     a,
		script:  sc,
		host:    InternalHost,
		path:    executePath(r.URL.Path, scriptID),
	}, params, header)
}

// executeParams binds req.params for a test run that names one of the
// script's routes (X-PiCloud-Route: its id): the path is matched against
// that route's pattern by the router the data plane uses. No header, no
// params. A route of another script, or a path the pattern does not take,
// is 404 no_route.
func executeParams(a *appState, scriptID int64, routeID, path string) (map[string]string, *shared.Error) {
	if routeID == "" {
		return nil, nil
	}
	id, _ := strconv.ParseInt(routeID, 10, 64)
	for _, rt := range a.routes.routes {
		if rt.ID != id || rt.ScriptID != scriptID {
			continue
		}
		one := newRouteTable()
		rt.Host = nil // the route's host is not the run's
		if err := one.add(rt); err != nil {
			break
		}
		found, ps, _ := one.find("", rt.Method, path)
		if found == nil {
			return nil, shared.Errorf(shared.CodeNoRoute, "route %d (%s) does not match the path %s", id, rt.Path, path).
				With("path", path)
		}
		return runParams(ps), nil
	}
	return nil, shared.Errorf(shared.CodeNoRoute, "script %d has no route %q", scriptID, routeID)
}

// executePath is the path a script run through execute sees: what follows
// /api/v1/execute/{id}, or the path as given when the caller has already
// stripped that prefix.
func executePath(p string, scriptID int64) string {
	rest, ok := strings.CutPrefix(p, shared.PathExecute+strconv.FormatInt(scriptID, 10))
	switch {
	case ok && rest == "":
		return "/"
	case ok && rest[0] == '/':
		return rest
	case p == "":
		return "/"
	}
	return p
}

// serve is the HTTP adapter of execute: it reads r into inv's request,
// runs it and writes the script's answer, or the contract's error.
func (o *Orchestrator) serve(w http.ResponseWriter, r *http.Request, inv invocation, params map[string]string, header http.Header) {
	body, err := o.readBody(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	var query url.Values
	if r.URL.RawQuery != "" { // no empty map to build and sort for most requests
		query = r.URL.Query()
	}
	inv.method = r.Method
	inv.request = &executor.Request{
		Method: r.Method,
		Host:   inv.host,
		Path:   inv.path,
		App:    inv.app.app.Slug,
		Params: params,
		Query:  query,
		Header: header,
		Body:   body,
	}
	res, _, failed := o.execute(r.Context(), inv)
	if failed != nil {
		writeError(w, failed)
		return
	}
	writeResult(w, res)
}

// readBody reads the request body up to the node's limit. Most data-plane
// requests have none (net/http gives them http.NoBody), and skip the
// limiting reader and io.ReadAll's buffer.
func (o *Orchestrator) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *shared.Error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	// A declared length over the limit is refused before any of the body
	// is read: a client that sent Expect: 100-continue is told at once
	// and never sends it.
	if r.ContentLength > o.maxBody {
		return nil, shared.TooLarge(o.maxBody)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, o.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, shared.TooLarge(o.maxBody)
		}
		// the client went away or sent a broken body
		return nil, shared.Errorf(shared.CodeBadRequest, "reading the request body: %v", err)
	}
	return body, nil
}

// runFailed turns a failed run's error into the log's status and error and
// the public answer. It is a function of its own so that the targets of
// errors.As are allocated only when a run fails.
func runFailed(err error, sc shared.Script) (status int, logged string, public *shared.Error) {
	var limit *executor.LimitError
	var fault *executor.ScriptError
	switch {
	case errors.As(err, &limit):
		return http.StatusInsufficientStorage, limit.Error(),
			shared.Errorf(shared.CodeSandboxLimit,
				"script %q exceeded the sandbox limit %s", sc.Name, limit.Knob).With("limit", limit.Knob)
	case errors.As(err, &fault):
		logged = fault.Error()
		if fault.Stack != "" {
			logged += "\n" + fault.Stack
		}
		return http.StatusInternalServerError, logged, scriptFailed(sc)
	}
	return http.StatusInternalServerError, err.Error(), scriptFailed(sc)
}

// scriptFailed is the public answer to a script fault. It carries no
// message, line or stack of the script: those are in the execution log.
func scriptFailed(sc shared.Script) *shared.Error {
	return shared.Errorf(shared.CodeScriptError,
		"script %q failed; the execution log has the details", sc.Name).With("script_id", sc.ID)
}

// hopHeader reports whether a canonical response header name belongs to the
// connection, not to the script: net/http sets these, and a wrong value
// from a script would break the response.
func hopHeader(k string) bool {
	switch k {
	case "Connection", "Content-Length", "Keep-Alive", "Transfer-Encoding", "Trailer", "Upgrade":
		return true
	}
	return false
}

func writeResult(w http.ResponseWriter, res *executor.Result) {
	h := w.Header()
	for k, vs := range res.Header {
		k = http.CanonicalHeaderKey(k)
		if hopHeader(k) || len(vs) == 0 {
			continue
		}
		// A Result's header is read-only and net/http copies the header
		// map when the response is written, so value slices are taken
		// over instead of copied value by value.
		if prev := h[k]; len(prev) > 0 {
			h[k] = append(prev, vs...)
		} else {
			h[k] = vs
		}
	}
	w.WriteHeader(res.Status)
	w.Write(res.Body)
}

// writeError writes the contract's error envelope.
func writeError(w http.ResponseWriter, e *shared.Error) { httpjson.Error(w, e) }
