package shared

import (
	"context"
	"net/http"
	"time"
)

// ScriptVersion is one kept content of a script (SPEC §11).
type ScriptVersion struct {
	Version   int64     `json:"version"`
	Source    string    `json:"source"`
	Sandbox   Overrides `json:"sandbox"`
	CreatedAt time.Time `json:"created_at"`
}

// RollbackRequest asks for a kept version's content as a new version.
// IfVersion, when set, makes it conditional like a save's: a script no
// longer at that version is left alone (409 version_conflict).
type RollbackRequest struct {
	Version   int64  `json:"version"`
	IfVersion *int64 `json:"if_version,omitempty"`
}

// ScriptVersions lists the kept versions of a script, the current one first.
func (c *Client) ScriptVersions(ctx context.Context, id int64) ([]ScriptVersion, error) {
	var out struct {
		Versions []ScriptVersion `json:"versions"`
	}
	err := c.do(ctx, http.MethodGet, Path(PathVersions, id), nil, nil, &out)
	return out.Versions, err
}

// Rollback gives a script the content of one of its kept versions, as a
// new version; the history is never rewritten.
func (c *Client) Rollback(ctx context.Context, id int64, req RollbackRequest) (Script, error) {
	var s Script
	err := c.do(ctx, http.MethodPost, Path(PathRollback, id), nil, req, &s)
	return s, err
}
