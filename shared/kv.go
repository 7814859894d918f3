package shared

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"
)

// KV limits of SPEC §7. The value and app quotas are node settings
// (PICLOUD_KV_MAX_VALUE, PICLOUD_KV_MAX_APP_BYTES); these are their
// defaults.
const (
	KVMaxKeyBytes      = 512
	KVMaxMetadataBytes = 1024
	KVMinTTL           = 60 // seconds, for expirationTtl and expiration
	KVMaxListLimit     = 1000

	DefaultKVMaxValue    = 1 << 20
	DefaultKVMaxAppBytes = 64 << 20
)

// KV error codes.
const (
	CodeKVQuotaExceeded = "kv_quota_exceeded"
)

// KVKey is one key of a list (SPEC §7, admin shape; scripts see name,
// expiration and metadata).
type KVKey struct {
	Name       string          `json:"name"`
	Size       int64           `json:"size"`
	Expiration int64           `json:"expiration,omitempty"` // seconds since the epoch
	Metadata   json.RawMessage `json:"metadata,omitempty"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

// KVList is the answer of GET /apps/{app}/kv.
type KVList struct {
	Keys         []KVKey `json:"keys"`
	ListComplete bool    `json:"list_complete"`
	Cursor       string  `json:"cursor,omitempty"`
	// Quota is the app's quota in bytes (PICLOUD_KV_MAX_APP_BYTES), for
	// a usage bar beside the App's kv_bytes; not in SPEC §7's shape.
	Quota int64 `json:"quota,omitempty"`
}

// CheckKVKey applies the key rules: UTF-8, 1–512 bytes.
func CheckKVKey(key string) error {
	switch {
	case key == "":
		return Validation("key", "a key must not be empty")
	case len(key) > KVMaxKeyBytes:
		return Validation("key", "a key is at most %d bytes; this one is %d", KVMaxKeyBytes, len(key))
	case !utf8.ValidString(key):
		return Validation("key", "a key must be valid UTF-8")
	}
	return nil
}

// CheckKVValue applies the value size limit.
func CheckKVValue(n, max int64) error {
	if n > max {
		return Errorf(CodeTooLarge,
			"a value is at most %d bytes; this one is %d", max, n).With("limit", max)
	}
	return nil
}

// CheckKVMetadata checks serialised metadata: valid JSON of at most 1,024
// bytes. Empty means none.
func CheckKVMetadata(meta []byte) error {
	if len(meta) == 0 {
		return nil
	}
	if len(meta) > KVMaxMetadataBytes {
		return Validation("metadata", "metadata is at most %d bytes serialised; this is %d", KVMaxMetadataBytes, len(meta))
	}
	if !json.Valid(meta) {
		return Validation("metadata", "metadata must be JSON")
	}
	return nil
}

// KVExpiration turns a put's expirationTtl or expiration (seconds; 0 for
// absent) into the absolute expiration in seconds since the epoch, 0 for
// none. Both must be at least 60 s ahead of now.
func KVExpiration(now time.Time, ttl, at int64) (int64, error) {
	switch {
	case ttl != 0 && at != 0:
		return 0, Validation("expiration", "give expirationTtl or expiration, not both")
	case ttl != 0:
		if ttl < KVMinTTL {
			return 0, Validation("expiration_ttl", "expirationTtl must be at least %d seconds, not %d", KVMinTTL, ttl)
		}
		return now.Unix() + ttl, nil
	case at != 0:
		if at < now.Unix()+KVMinTTL {
			return 0, Validation("expiration", "expiration must be at least %d seconds in the future", KVMinTTL)
		}
		return at, nil
	}
	return 0, nil
}

// KVQuotaExceeded is the error of a write that would pass the app's quota.
func KVQuotaExceeded(used, want, quota int64) *Error {
	return Errorf(CodeKVQuotaExceeded,
		"KV quota exceeded: the app holds %d of %d bytes and this write needs %d more", used, quota, want).
		With("quota", quota)
}

// KVMetadataHeader carries an entry's metadata JSON in the admin API's
// raw get and put (SPEC §7).
const KVMetadataHeader = "X-PiCloud-KV-Metadata"

// KVListQuery selects a page of keys: those starting with Prefix, after
// the Cursor of the page before, at most Limit (0: the node's 1,000).
type KVListQuery struct {
	Prefix, Cursor string
	Limit          int
}

// KVValue is one entry as the admin API's raw get returns it.
type KVValue struct {
	Value    []byte
	Metadata json.RawMessage // nil when none
}

// KVPutOptions are a raw put's metadata and time to live (0: none).
type KVPutOptions struct {
	Metadata      json.RawMessage
	ExpirationTTL int64 // seconds, at least 60
}

// KVKeyPath is the URL path of app ref's key.
func KVKeyPath(ref, key string) string { return Path(PathKV, ref) + "/" + url.PathEscape(key) }

// KVList returns a page of an app's keys in byte order
// (GET /apps/{app}/kv).
func (c *Client) KVList(ctx context.Context, ref string, q KVListQuery) (KVList, error) {
	v := url.Values{}
	if q.Prefix != "" {
		v.Set("prefix", q.Prefix)
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out KVList
	err := c.do(ctx, http.MethodGet, Path(PathKV, ref), v, nil, &out)
	return out, err
}

// KVGet returns an entry's raw value and metadata; a missing or expired
// key is a 404 not_found *Error.
func (c *Client) KVGet(ctx context.Context, ref, key string) (KVValue, error) {
	resp, body, err := c.raw(ctx, http.MethodGet, KVKeyPath(ref, key), nil, nil, nil)
	if err != nil {
		return KVValue{}, err
	}
	out := KVValue{Value: body}
	if m := resp.Header.Get(KVMetadataHeader); m != "" {
		out.Metadata = json.RawMessage(m)
	}
	return out, nil
}

// KVPut stores value under key (PUT /apps/{app}/kv/{key}).
func (c *Client) KVPut(ctx context.Context, ref, key string, value []byte, opt KVPutOptions) error {
	var q url.Values
	if opt.ExpirationTTL != 0 {
		q = url.Values{"expiration_ttl": {strconv.FormatInt(opt.ExpirationTTL, 10)}}
	}
	h := http.Header{"Content-Type": {"application/octet-stream"}}
	if len(opt.Metadata) > 0 {
		var b bytes.Buffer
		if err := json.Compact(&b, opt.Metadata); err != nil {
			return Validation("metadata", "metadata must be JSON")
		}
		h.Set(KVMetadataHeader, b.String())
	}
	if value == nil {
		value = []byte{}
	}
	_, _, err := c.raw(ctx, http.MethodPut, KVKeyPath(ref, key), q, value, h)
	return err
}

// KVDelete removes key; a missing key is no error.
func (c *Client) KVDelete(ctx context.Context, ref, key string) error {
	_, _, err := c.raw(ctx, http.MethodDelete, KVKeyPath(ref, key), nil, nil, nil)
	return err
}

// raw sends one request with a raw body and returns the answer read in
// full; error answers become *Error.
func (c *Client) raw(ctx context.Context, method, path string, q url.Values, body []byte, h http.Header) (*http.Response, []byte, error) {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	req, err := c.newRequest(ctx, method, path, q, body, h)
	if err != nil {
		return nil, nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: read response: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, nil, responseError(resp.StatusCode, data)
	}
	return resp, data, nil
}
