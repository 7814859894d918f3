package shared

import (
	"strings"
	"testing"
	"time"
)

// The rules of SPEC §7, each with the code a client sees.
func TestKVRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		code string // "" for none
	}{
		{"key of one byte", CheckKVKey("k"), ""},
		{"key of 512 bytes", CheckKVKey(strings.Repeat("k", 512)), ""},
		{"key of 512 bytes in 256 runes", CheckKVKey(strings.Repeat("é", 256)), ""},
		{"empty key", CheckKVKey(""), CodeValidationFailed},
		{"key of 513 bytes", CheckKVKey(strings.Repeat("k", 513)), CodeValidationFailed},
		{"key of 258 two-byte runes", CheckKVKey(strings.Repeat("é", 257)), CodeValidationFailed},
		{"key not UTF-8", CheckKVKey("a\xffb"), CodeValidationFailed},
		{"key with slash, dots, NUL", CheckKVKey("a/../b\x00"), ""},
		{"value at the limit", CheckKVValue(1000, 1000), ""},
		{"value over the limit", CheckKVValue(1001, 1000), CodeTooLarge},
		{"no metadata", CheckKVMetadata(nil), ""},
		{"metadata object", CheckKVMetadata([]byte(`{"a":[1,2]}`)), ""},
		{"metadata string", CheckKVMetadata([]byte(`"s"`)), ""},
		{"metadata of 1024 bytes", CheckKVMetadata([]byte(`"` + strings.Repeat("m", 1022) + `"`)), ""},
		{"metadata of 1025 bytes", CheckKVMetadata([]byte(`"` + strings.Repeat("m", 1023) + `"`)), CodeValidationFailed},
		{"metadata not JSON", CheckKVMetadata([]byte(`{nope`)), CodeValidationFailed},
		{"quota", KVQuotaExceeded(10, 5, 12), CodeKVQuotaExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			switch {
			case tc.code == "" && tc.err != nil:
				t.Fatalf("refused: %v", tc.err)
			case tc.code != "" && !IsCode(tc.err, tc.code):
				t.Fatalf("got %v, want %s", tc.err, tc.code)
			}
		})
	}
	if err := KVQuotaExceeded(10, 5, 12); StatusOf(CodeKVQuotaExceeded) != 409 || !strings.HasPrefix(err.Message, "KV quota exceeded") {
		t.Errorf("quota error: %d %q", StatusOf(CodeKVQuotaExceeded), err.Message)
	}
	if StatusOf(CodeTooLarge) != 413 {
		t.Errorf("too_large is %d", StatusOf(CodeTooLarge))
	}
}

func TestKVExpiration(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		name    string
		ttl, at int64
		want    int64
		field   string // the field a refusal names
	}{
		{"none", 0, 0, 0, ""},
		{"ttl of 60 s", 60, 0, now.Unix() + 60, ""},
		{"ttl of a day", 86400, 0, now.Unix() + 86400, ""},
		{"ttl of 59 s", 59, 0, 0, "expiration_ttl"},
		{"negative ttl", -60, 0, 0, "expiration_ttl"},
		{"expiration 60 s ahead", 0, now.Unix() + 60, now.Unix() + 60, ""},
		{"expiration 59 s ahead", 0, now.Unix() + 59, 0, "expiration"},
		{"expiration in the past", 0, 1000, 0, "expiration"},
		{"both", 120, now.Unix() + 120, 0, "expiration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := KVExpiration(now, tc.ttl, tc.at)
			if tc.field != "" {
				se, ok := AsError(err)
				if !ok || se.Code != CodeValidationFailed || se.Details["field"] != tc.field {
					t.Fatalf("got %d, %v; want validation_failed on %s", got, err, tc.field)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

func TestKVKeyPath(t *testing.T) {
	for key, want := range map[string]string{
		"plain":    "/api/v1/admin/apps/shop/kv/plain",
		"a/b":      "/api/v1/admin/apps/shop/kv/a%2Fb",
		"100% ..":  "/api/v1/admin/apps/shop/kv/100%25%20..",
		"ключ?x#y": "/api/v1/admin/apps/shop/kv/%D0%BA%D0%BB%D1%8E%D1%87%3Fx%23y",
		"..":       "/api/v1/admin/apps/shop/kv/..",
	} {
		if got := KVKeyPath("shop", key); got != want {
			t.Errorf("KVKeyPath(%q) = %q, want %q", key, got, want)
		}
	}
}
