package shared

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// ExportFormat is the version of the export document (SPEC §11).
const ExportFormat = 1

// Export is one app as a portable document: everything it holds but its
// logs, scripts referred to by name, secrets by name only.
type Export struct {
	Format    int              `json:"picloud_export"`
	App       ExportApp        `json:"app"`
	Domains   []string         `json:"domains"`
	Scripts   []ExportScript   `json:"scripts"`
	Routes    []ExportRoute    `json:"routes"`
	Schedules []ExportSchedule `json:"schedules"`
	Egress    []string         `json:"egress"`
	Env       []ExportEnv      `json:"env"`
	KV        []ExportKV       `json:"kv,omitempty"`
}

type ExportApp struct {
	Slug        string `json:"slug"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

type ExportScript struct {
	Name        string    `json:"name"`
	Source      string    `json:"source"`
	Sandbox     Overrides `json:"sandbox"`
	Description string    `json:"description"`
}

type ExportRoute struct {
	Script string  `json:"script"`
	Method string  `json:"method"`
	Path   string  `json:"path"`
	Host   *string `json:"host,omitempty"`
}

type ExportSchedule struct {
	Script   string `json:"script"`
	Cron     string `json:"cron"`
	Timezone string `json:"timezone"`
}

// ExportEnv is a variable with its value, or a secret without.
type ExportEnv struct {
	Name   string  `json:"name"`
	Secret bool    `json:"secret"`
	Value  *string `json:"value,omitempty"`
}

type ExportKV struct {
	Key        string          `json:"key"`
	Value      string          `json:"value"`
	Metadata   json.RawMessage `json:"metadata,omitempty"`
	Expiration int64           `json:"expiration,omitempty"` // seconds since the epoch
}

// ImportRequest is the body of POST /apps:import: an export, optionally
// under another slug, with the values of its secrets.
type ImportRequest struct {
	Export
	Slug         *string           `json:"slug,omitempty"`
	Secrets      map[string]string `json:"secrets,omitempty"`
	ConfirmToken string            `json:"confirm_token,omitempty"`
}

// Imported is the answer of an import: the new app, and the secrets the
// document named that the request gave no value for (not created).
type Imported struct {
	App
	MissingSecrets []string `json:"missing_secrets"`
}

// Export returns an app as a document, with its KV entries when kv is set.
func (c *Client) Export(ctx context.Context, ref string, kv bool) (Export, error) {
	var out Export
	q := url.Values{"kv": {"false"}}
	if kv {
		q.Set("kv", "true")
	}
	err := c.do(ctx, http.MethodGet, Path(PathExport, ref), q, nil, &out)
	return out, err
}

// Import creates an app from a document in one transaction: a document
// that fails changes nothing, and its first error names its path in the
// document as field.
func (c *Client) Import(ctx context.Context, req ImportRequest) (Imported, error) {
	var out Imported
	err := c.do(ctx, http.MethodPost, PathImport, nil, req, &out)
	return out, err
}
