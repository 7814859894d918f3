package shared

import (
	"context"
	"net/http"
	"time"
	"unicode/utf8"
)

// Limits of an app's variables and secrets (SPEC §8).
const (
	MaxEnvEntries  = 128
	MaxEnvValue    = 5 << 10 // bytes of one value
	maxEnvNameLen  = 64
	reservedEnvKey = "KV" // env.KV is the app's KV namespace (§7)
)

// EnvVar is one variable or secret of an app, env.NAME in its scripts.
// Value is set only for a plain variable: a secret's value never leaves
// the node. Unreadable marks a secret that the node's secrets.key cannot
// open (the key was replaced or lost): scripts do not see it until it is
// set again.
type EnvVar struct {
	Name       string    `json:"name"`
	Secret     bool      `json:"secret"`
	Value      *string   `json:"value,omitempty"`
	Unreadable bool      `json:"unreadable,omitempty"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// PutEnvRequest is the body of PUT /apps/{app}/env/{name}. Without
// "secret", an existing entry keeps its kind and a new one is a plain
// variable, so replacing a secret's value never publishes it by accident.
type PutEnvRequest struct {
	Value  *string `json:"value"`
	Secret *bool   `json:"secret,omitempty"`
}

// ValidateEnvName checks a variable's name: [A-Z_][A-Z0-9_]{0,63}, not KV
// (422 validation_failed on field "name").
func ValidateEnvName(name string) error {
	if name == reservedEnvKey {
		return Validation("name", "KV is reserved for the app's key-value namespace (env.KV)")
	}
	if name == "" || len(name) > maxEnvNameLen {
		return Validation("name", "a name is 1 to %d characters of A-Z, 0-9 and _", maxEnvNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '_' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9' {
			continue
		}
		return Validation("name", "%q is not a valid name: use A-Z, 0-9 and _, not starting with a digit", name)
	}
	return nil
}

// ValidateEnvValue checks a value: present, UTF-8, at most MaxEnvValue
// bytes (422 validation_failed on field "value").
func ValidateEnvValue(v *string) error {
	switch {
	case v == nil:
		return Validation("value", "value is required (a string; \"\" is allowed)")
	case len(*v) > MaxEnvValue:
		return Validation("value", "a value is at most %d bytes; this one is %d", MaxEnvValue, len(*v)).
			With("limit", MaxEnvValue)
	case !utf8.ValidString(*v):
		return Validation("value", "a value must be UTF-8 text")
	}
	return nil
}

// ---- client ----

// Env lists an app's variables and secrets by name; secrets come without
// their values.
func (c *Client) Env(ctx context.Context, ref string) ([]EnvVar, error) {
	var out struct {
		Env []EnvVar `json:"env"`
	}
	err := c.do(ctx, http.MethodGet, Path(PathEnv, ref), nil, nil, &out)
	return out.Env, err
}

// PutEnv sets one variable or secret of an app and returns the entry
// (without the value when it is a secret).
func (c *Client) PutEnv(ctx context.Context, ref, name string, req PutEnvRequest) (EnvVar, error) {
	var out EnvVar
	err := c.do(ctx, http.MethodPut, Path(PathEnvVar, ref, name), nil, req, &out)
	return out, err
}

// DeleteEnv removes one variable or secret of an app.
func (c *Client) DeleteEnv(ctx context.Context, ref, name string) error {
	return c.do(ctx, http.MethodDelete, Path(PathEnvVar, ref, name), nil, nil, nil)
}
