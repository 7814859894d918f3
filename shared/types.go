package shared

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// Product is the product name reported by /version and mDNS.
const Product = "picloud"

// DefaultAppSlug is the app that always exists and claims localhost.
const DefaultAppSlug = "default"

// App is an app as the admin API returns it, always with its domains
// ([] when none) and counts.
type App struct {
	ID          int64     `json:"id"`
	Slug        string    `json:"slug"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	Domains     []Domain  `json:"domains"`
	ScriptCount int       `json:"script_count"`
	RouteCount  int       `json:"route_count"`
	DomainCount int       `json:"domain_count"`
	// KV usage (SPEC §7): keys held, and the bytes they count against the
	// app's quota.
	KVKeys  int64 `json:"kv_keys"`
	KVBytes int64 `json:"kv_bytes"`
}

// Domain is one claim of an app: an exact host or a *.suffix wildcard.
type Domain struct {
	ID        int64     `json:"id"`
	AppID     int64     `json:"app_id"`
	Pattern   string    `json:"pattern"`
	CreatedAt time.Time `json:"created_at"`
}

// Script is a stored script. Sandbox holds the stored overrides;
// EffectiveSandbox the defaults merged with them.
type Script struct {
	ID               int64     `json:"id"`
	AppID            int64     `json:"app_id"`
	AppSlug          string    `json:"app_slug"`
	Name             string    `json:"name"`
	Description      string    `json:"description"`
	Source           string    `json:"source"`
	Sandbox          Overrides `json:"sandbox"`
	EffectiveSandbox Limits    `json:"effective_sandbox"`
	MemoryLimitMB    int64     `json:"memory_limit_mb"`
	Version          int64     `json:"version"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// Route sends requests for (host, method, path) of an app to a script.
// Host is nil when the route answers on every host the app claims.
type Route struct {
	ID        int64     `json:"id"`
	AppID     int64     `json:"app_id"`
	ScriptID  int64     `json:"script_id"`
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	Host      *string   `json:"host"`
	CreatedAt time.Time `json:"created_at"`
}

// Log triggers.
const (
	TriggerRoute   = "route"
	TriggerExecute = "execute"
)

// Log is one execution of a script.
type Log struct {
	ID         int64  `json:"id"`
	AppID      int64  `json:"app_id"`
	ScriptID   int64  `json:"script_id"`
	RouteID    *int64 `json:"route_id"`
	Trigger    string `json:"trigger"`
	Host       string `json:"host"`
	Method     string `json:"method"`
	Path       string `json:"path"`
	Status     int    `json:"status"`
	DurationUS int64  `json:"duration_us"`
	Operations int64  `json:"operations"`
	// Subrequests counts the run's fetches (SPEC §10).
	Subrequests int       `json:"subrequests"`
	Error       string    `json:"error"`
	Output      string    `json:"output"`
	StartedAt   time.Time `json:"started_at"`
	// NodeID is the member that ran the script, in a cluster page
	// (?cluster=true, SPEC §12); empty in a node's own page.
	NodeID string `json:"node_id,omitempty"`
}

// OldSlug is a slug an app had before a rename: requests and admin calls
// naming it are redirected to the app (308) for good.
type OldSlug struct {
	Slug      string    `json:"slug"`
	CreatedAt time.Time `json:"created_at"` // when the app stopped being called so
}

// Slug check statuses (SPEC §3).
const (
	SlugCurrent    = "current"
	SlugAvailable  = "available"
	SlugOwnHistory = "own_history"
	SlugReserved   = "reserved"
	SlugTaken      = "taken"
	SlugInvalid    = "invalid"
)

// SlugCheck is the answer of POST /apps/{app}/slug:check.
type SlugCheck struct {
	Slug         string `json:"slug"`
	Status       string `json:"status"`
	HeldBy       string `json:"held_by,omitempty"`
	ConfirmToken string `json:"confirm_token,omitempty"`
	Message      string `json:"message,omitempty"`
}

// SandboxInfo is the answer of GET /api/v1/admin/sandbox.
type SandboxInfo struct {
	Defaults Limits `json:"defaults"`
	Ceiling  Limits `json:"ceiling"`
}

// Resolution is the answer of GET /api/v1/admin/resolve: what the data plane
// would run for a host, method and path.
type Resolution struct {
	App    App               `json:"app"`
	Route  Route             `json:"route"`
	Script Script            `json:"script"`
	Params map[string]string `json:"params"`
}

// Version is the answer of /version on both listeners.
type Version struct {
	Product string `json:"product"`
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	Schema  int    `json:"schema"`
	NodeID  string `json:"node_id"`
	Name    string `json:"name"`
	// DataPort is the data plane's port, so a console that reached the node
	// by a typed address (no mDNS TXT) can still show the apps' URLs.
	DataPort int `json:"data_port,omitempty"`
}

// Request bodies of the admin API. Pointer fields are optional; PATCH
// bodies leave absent fields unchanged.

type CreateAppRequest struct {
	Name         string `json:"name"`
	Slug         string `json:"slug,omitempty"`
	Description  string `json:"description,omitempty"`
	ConfirmToken string `json:"confirm_token,omitempty"`
}

type UpdateAppRequest struct {
	Name         *string `json:"name,omitempty"`
	Description  *string `json:"description,omitempty"`
	Slug         *string `json:"slug,omitempty"`
	ConfirmToken string  `json:"confirm_token,omitempty"`
}

type SlugCheckRequest struct {
	Slug string `json:"slug"`
}

type CreateDomainRequest struct {
	Pattern string `json:"pattern"`
}

type CreateScriptRequest struct {
	AppID         AppRef    `json:"app_id"`
	Name          string    `json:"name"`
	Source        string    `json:"source"`
	Sandbox       Overrides `json:"sandbox,omitempty"`
	MemoryLimitMB int64     `json:"memory_limit_mb,omitempty"`
	Description   string    `json:"description,omitempty"`
}

type UpdateScriptRequest struct {
	// IfVersion, when set, makes the change conditional: a script no
	// longer at this version is left alone (409 version_conflict).
	IfVersion     *int64     `json:"if_version,omitempty"`
	Name          *string    `json:"name,omitempty"`
	Source        *string    `json:"source,omitempty"`
	Sandbox       *Overrides `json:"sandbox,omitempty"`
	MemoryLimitMB *int64     `json:"memory_limit_mb,omitempty"`
	Description   *string    `json:"description,omitempty"`
}

type CreateRouteRequest struct {
	ScriptID int64   `json:"script_id"`
	Method   string  `json:"method"`
	Path     string  `json:"path"`
	Host     *string `json:"host,omitempty"`
}

// AppRef names an app by id or slug. On the wire it is a JSON number (id) or
// string (id digits or slug).
type AppRef string

func (r AppRef) MarshalJSON() ([]byte, error) {
	if _, err := strconv.ParseInt(string(r), 10, 64); err == nil {
		return []byte(r), nil
	}
	return json.Marshal(string(r))
}

func (r *AppRef) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*r = AppRef(s)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*r = AppRef(strconv.FormatInt(n, 10))
	return nil
}
