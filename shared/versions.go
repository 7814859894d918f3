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
type RollbackRequest struct {
	Version int64 `json:"version"`
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
func (c *Client) Rollback(ctx context.Context, id, version int64) (Script, error) {
	var s Script
	err := c.do(ctx, http.MethodPost, Path(PathRollback, id), nil, RollbackRequest{Version: version}, &s)
	return s, err
}
