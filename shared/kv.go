package shared

import (
	"encoding/json"
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
