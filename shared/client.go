package shared

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultClientTimeout bounds one call of a Client unless WithTimeout says
// otherwise. It is longer than the built-in sandbox ceiling (30 s), so an
// Execute of a slow script still gets its answer.
const DefaultClientTimeout = 60 * time.Second

// maxResponseBody bounds what the client reads of one answer; logs pages
// (64 KiB of output per entry) are the largest legitimate ones.
const maxResponseBody = 256 << 20

// Client is a typed client of a node's admin API (SPEC §3). It is the
// console's only way to talk to a node. Every error answer comes back as an
// *Error with Status set; transport failures are returned wrapped as they
// are (e.g. an *IdentityMismatchError from a pinned TLS config). Requests
// naming an old slug follow the node's 308 to the current one, bodies
// included. A Client is safe for concurrent use.
type Client struct {
	base    *url.URL
	token   string
	hc      *http.Client
	tls     *tls.Config
	timeout time.Duration
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithHTTPClient makes the client send its requests through hc.
func WithHTTPClient(hc *http.Client) ClientOption {
	return func(c *Client) { c.hc = hc }
}

// WithTLSConfig sets the TLS config of the client's transport, e.g.
// PinnedTLSConfig(nodeID). It is applied on top of WithHTTPClient's
// transport when that is an *http.Transport (or nil).
func WithTLSConfig(cfg *tls.Config) ClientOption {
	return func(c *Client) { c.tls = cfg }
}

// WithTimeout bounds each call; 0 means no bound beyond the context's.
func WithTimeout(d time.Duration) ClientOption {
	return func(c *Client) { c.timeout = d }
}

// NewClient returns a client of the node whose admin API is at baseURL
// ("https://pi.local:7070"; without a scheme https is assumed), sending
// token as the Bearer token.
func NewClient(baseURL, token string, opts ...ClientOption) *Client {
	if !strings.Contains(baseURL, "://") {
		baseURL = "https://" + baseURL
	}
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		// Keep the constructor total: every call then fails with this error.
		u = &url.URL{Scheme: "invalid", Opaque: baseURL}
	}
	c := &Client{base: u, token: token, timeout: DefaultClientTimeout}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		c.hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if c.tls != nil {
		t, ok := c.hc.Transport.(*http.Transport)
		if c.hc.Transport == nil || ok {
			if t == nil {
				t = http.DefaultTransport.(*http.Transport)
			}
			t = t.Clone()
			t.TLSClientConfig = c.tls
			hc := *c.hc
			hc.Transport = t
			c.hc = &hc
		}
	}
	return c
}

// BaseURL returns the admin API's base URL as the client uses it.
func (c *Client) BaseURL() string { return c.base.String() }

// ---- node endpoints (no auth needed, sent anyway) ----

// Health calls /healthz and returns nil when the node answers ok.
func (c *Client) Health(ctx context.Context) error {
	var out struct {
		Status string `json:"status"`
	}
	if err := c.do(ctx, http.MethodGet, PathHealth, nil, nil, &out); err != nil {
		return err
	}
	if out.Status != "ok" {
		return fmt.Errorf("healthz: status %q", out.Status)
	}
	return nil
}

// Version calls /version.
func (c *Client) Version(ctx context.Context) (Version, error) {
	var v Version
	err := c.do(ctx, http.MethodGet, PathVersion, nil, nil, &v)
	return v, err
}

// ---- apps ----

// ListApps lists every app with its counts.
func (c *Client) ListApps(ctx context.Context) ([]App, error) {
	var out struct {
		Apps []App `json:"apps"`
	}
	err := c.do(ctx, http.MethodGet, PathApps, nil, nil, &out)
	return out.Apps, err
}

// App returns one app, by id or slug, with its domains and counts.
func (c *Client) App(ctx context.Context, ref string) (App, error) {
	var a App
	err := c.do(ctx, http.MethodGet, Path(PathApp, ref), nil, nil, &a)
	return a, err
}

// CreateApp creates an app; without Slug the node derives it from Name.
func (c *Client) CreateApp(ctx context.Context, req CreateAppRequest) (App, error) {
	var a App
	err := c.do(ctx, http.MethodPost, PathApps, nil, req, &a)
	return a, err
}

// UpdateApp changes an app's name, description or slug. Taking a slug
// another app holds in its history needs the ConfirmToken of CheckSlug.
func (c *Client) UpdateApp(ctx context.Context, ref string, req UpdateAppRequest) (App, error) {
	var a App
	err := c.do(ctx, http.MethodPatch, Path(PathApp, ref), nil, req, &a)
	return a, err
}

// DeleteApp deletes an app with its domains, scripts, routes and logs.
func (c *Client) DeleteApp(ctx context.Context, ref string) error {
	return c.do(ctx, http.MethodDelete, Path(PathApp, ref), nil, nil, nil)
}

// CheckSlug asks whether the app could take slug; a "reserved" answer
// carries the ConfirmToken a takeover needs.
func (c *Client) CheckSlug(ctx context.Context, ref, slug string) (SlugCheck, error) {
	var out SlugCheck
	err := c.do(ctx, http.MethodPost, Path(PathSlugCheck, ref), nil, SlugCheckRequest{Slug: slug}, &out)
	return out, err
}

// ---- domains ----

// Domains lists an app's claims.
func (c *Client) Domains(ctx context.Context, ref string) ([]Domain, error) {
	var out struct {
		Domains []Domain `json:"domains"`
	}
	err := c.do(ctx, http.MethodGet, Path(PathDomains, ref), nil, nil, &out)
	return out.Domains, err
}

// SlugHistory lists an app's old slugs, newest first.
func (c *Client) SlugHistory(ctx context.Context, ref string) ([]OldSlug, error) {
	var out struct {
		Slugs []OldSlug `json:"slugs"`
	}
	err := c.do(ctx, http.MethodGet, Path(PathSlugHistory, ref), nil, nil, &out)
	return out.Slugs, err
}

// AddDomain claims a host or *.suffix pattern for an app.
func (c *Client) AddDomain(ctx context.Context, ref, pattern string) (Domain, error) {
	var d Domain
	err := c.do(ctx, http.MethodPost, Path(PathDomains, ref), nil, CreateDomainRequest{Pattern: pattern}, &d)
	return d, err
}

// DeleteDomain drops a claim.
func (c *Client) DeleteDomain(ctx context.Context, ref string, id int64) error {
	return c.do(ctx, http.MethodDelete, Path(PathDomain, ref, id), nil, nil, nil)
}

// Egress returns an app's egress allowlist (SPEC §10); empty when the app
// has no network.
func (c *Client) Egress(ctx context.Context, ref string) ([]string, error) {
	var out Egress
	err := c.do(ctx, http.MethodGet, Path(PathEgress, ref), nil, nil, &out)
	return out.Allow, err
}

// SetEgress replaces an app's egress allowlist and returns it as stored
// (canonical spelling, duplicates dropped). An empty list closes the
// network.
func (c *Client) SetEgress(ctx context.Context, ref string, allow []string) ([]string, error) {
	if allow == nil {
		allow = []string{}
	}
	var out Egress
	err := c.do(ctx, http.MethodPut, Path(PathEgress, ref), nil, Egress{Allow: allow}, &out)
	return out.Allow, err
}

// ---- scripts ----

// Scripts lists the scripts of an app (id or slug), or of every app when
// appRef is "".
func (c *Client) Scripts(ctx context.Context, appRef string) ([]Script, error) {
	var q url.Values
	if appRef != "" {
		q = url.Values{"app": {appRef}}
	}
	var out struct {
		Scripts []Script `json:"scripts"`
	}
	err := c.do(ctx, http.MethodGet, PathScripts, q, nil, &out)
	return out.Scripts, err
}

// Script returns one script.
func (c *Client) Script(ctx context.Context, id int64) (Script, error) {
	var s Script
	err := c.do(ctx, http.MethodGet, Path(PathScript, id), nil, nil, &s)
	return s, err
}

// CreateScript stores a new script; the node checks its source and sandbox.
func (c *Client) CreateScript(ctx context.Context, req CreateScriptRequest) (Script, error) {
	var s Script
	err := c.do(ctx, http.MethodPost, PathScripts, nil, req, &s)
	return s, err
}

// UpdateScript changes a script; every change bumps its version.
func (c *Client) UpdateScript(ctx context.Context, id int64, req UpdateScriptRequest) (Script, error) {
	var s Script
	err := c.do(ctx, http.MethodPatch, Path(PathScript, id), nil, req, &s)
	return s, err
}

// DeleteScript deletes a script and its routes; its logs stay.
func (c *Client) DeleteScript(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, Path(PathScript, id), nil, nil, nil)
}

// Sandbox returns the node's default and ceiling sandbox limits.
func (c *Client) Sandbox(ctx context.Context) (SandboxInfo, error) {
	var s SandboxInfo
	err := c.do(ctx, http.MethodGet, PathSandbox, nil, nil, &s)
	return s, err
}

// ---- routes ----

// Routes lists an app's routes.
func (c *Client) Routes(ctx context.Context, ref string) ([]Route, error) {
	var out struct {
		Routes []Route `json:"routes"`
	}
	err := c.do(ctx, http.MethodGet, Path(PathRoutes, ref), nil, nil, &out)
	return out.Routes, err
}

// CreateRoute routes (host, method, path) of an app to a script.
func (c *Client) CreateRoute(ctx context.Context, ref string, req CreateRouteRequest) (Route, error) {
	var r Route
	err := c.do(ctx, http.MethodPost, Path(PathRoutes, ref), nil, req, &r)
	return r, err
}

// DeleteRoute deletes a route.
func (c *Client) DeleteRoute(ctx context.Context, ref string, id int64) error {
	return c.do(ctx, http.MethodDelete, Path(PathRoute, ref, id), nil, nil, nil)
}

// ---- resolve, execute, logs ----

// Resolve answers what the data plane would run for host, method and path;
// a miss is an *Error with code unknown_host or no_route (or
// method_not_allowed).
func (c *Client) Resolve(ctx context.Context, host, method, path string) (Resolution, error) {
	q := url.Values{"host": {host}, "method": {method}, "path": {path}}
	var r Resolution
	err := c.do(ctx, http.MethodGet, PathResolve, q, nil, &r)
	return r, err
}

// ExecuteRequest is the request a script sees through Execute. An empty
// Method is GET; Path is the path the script sees ("/" when empty).
type ExecuteRequest struct {
	Method string
	Path   string
	// RouteID, when set, names a route of the script: req.params are bound
	// from Path by its pattern, as the data plane would (ExecuteRouteHeader).
	RouteID int64
	Query   url.Values
	Header  http.Header
	Body    []byte
}

// ExecuteRouteHeader names, on POST|GET|... /api/v1/execute/{id}, the
// route of the script whose pattern binds req.params from the path; the
// script does not see it.
const ExecuteRouteHeader = "X-PiCloud-Route"

// ExecuteResponse is a script's response as the data plane would send it.
type ExecuteResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// Execute runs a script with req, as the data plane would
// (POST|GET|... /api/v1/execute/{id}). The response is returned whatever
// its status; when it is an error answer of the node (script_error,
// sandbox_limit, not_found, ...) err is also that *Error. A script that
// itself answers with the error envelope looks the same.
func (c *Client) Execute(ctx context.Context, scriptID int64, req ExecuteRequest) (ExecuteResponse, error) {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	path := PathExecute + itoa(scriptID)
	if p := strings.TrimPrefix(req.Path, "/"); p != "" {
		path += "/" + (&url.URL{Path: p}).EscapedPath()
	}
	header := req.Header
	if req.RouteID != 0 {
		header = header.Clone()
		if header == nil {
			header = http.Header{}
		}
		header.Set(ExecuteRouteHeader, itoa(req.RouteID))
	}
	hreq, err := c.newRequest(ctx, method, path, req.Query, req.Body, header)
	if err != nil {
		return ExecuteResponse{}, err
	}
	resp, err := c.hc.Do(hreq)
	if err != nil {
		return ExecuteResponse{}, fmt.Errorf("execute script %d: %w", scriptID, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	out := ExecuteResponse{Status: resp.StatusCode, Header: resp.Header, Body: body}
	if err != nil {
		return out, fmt.Errorf("execute script %d: read response: %w", scriptID, err)
	}
	if resp.StatusCode >= 400 {
		var e Error
		if json.Unmarshal(body, &e) == nil && e.Code != "" {
			e.Status = resp.StatusCode
			return out, &e
		}
	}
	return out, nil
}

// Logs returns an app's execution logs, newest first: of one script
// (scriptID 0 = all), at most limit (0 = the node's default), older than
// the log id before (0 = from the newest). For the next page pass the id of
// the last entry as before.
func (c *Client) Logs(ctx context.Context, ref string, scriptID int64, limit int, before int64) ([]Log, error) {
	q := url.Values{}
	if scriptID != 0 {
		q.Set("script", itoa(scriptID))
	}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if before != 0 {
		q.Set("before", itoa(before))
	}
	var out struct {
		Logs []Log `json:"logs"`
	}
	err := c.do(ctx, http.MethodGet, Path(PathLogs, ref), q, nil, &out)
	return out.Logs, err
}

// ---- plumbing ----

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.timeout > 0 {
		return context.WithTimeout(ctx, c.timeout)
	}
	return context.WithCancel(ctx)
}

// newRequest builds a request to path (already escaped) below the base URL.
// The body is a bytes.Reader, so http.NewRequest sets GetBody and a 308 to
// the current slug re-sends it.
func (c *Client) newRequest(ctx context.Context, method, path string, q url.Values, body []byte, h http.Header) (*http.Request, error) {
	if c.base.Scheme == "invalid" {
		return nil, fmt.Errorf("invalid node URL %q", c.base.Opaque)
	}
	target := c.base.String() + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	for k, vs := range h {
		req.Header[k] = append([]string(nil), vs...)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// do sends one JSON request and decodes a JSON answer into out (when not
// nil). Error answers become *Error with Status set.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any) error {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
	}
	req, err := c.newRequest(ctx, method, path, q, body, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return fmt.Errorf("%s %s: read response: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return responseError(resp.StatusCode, data)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", method, path, err)
	}
	return nil
}

// responseError decodes the contract's error envelope; an answer without
// one (a proxy's error page, a 3xx that was not followed) still becomes an
// *Error with the status and a code for it.
func responseError(status int, body []byte) *Error {
	var e Error
	if err := json.Unmarshal(body, &e); err == nil && e.Code != "" {
		e.Status = status
		return &e
	}
	code := CodeInternal
	switch status {
	case http.StatusBadRequest:
		code = CodeBadJSON
	case http.StatusUnauthorized:
		code = CodeUnauthorized
	case http.StatusNotFound:
		code = CodeNotFound
	case http.StatusRequestEntityTooLarge:
		code = CodeTooLarge
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &Error{Status: status, Code: code, Message: fmt.Sprintf("node answered %d: %s", status, msg)}
}
