package shared

import (
	"strings"
	"testing"
)

func TestValidateEnvName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"A", true},
		{"_", true},
		{"API_KEY", true},
		{"_PRIVATE", true},
		{"KEY2", true},
		{"A" + strings.Repeat("9", 63), true},
		{"KVS", true},
		{"", false},
		{"KV", false},
		{"2KEY", false},
		{"api_key", false},
		{"API-KEY", false},
		{"API KEY", false},
		{"ÄPI", false},
		{"A" + strings.Repeat("9", 64), false},
		{"TOKEN\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateEnvName(tc.name)
			if tc.ok {
				if err != nil {
					t.Fatalf("ValidateEnvName(%q) = %v, want ok", tc.name, err)
				}
				return
			}
			e, ok := AsError(err)
			if !ok || e.Status != 422 || e.Code != CodeValidationFailed || e.Detail("field") != "name" {
				t.Fatalf("ValidateEnvName(%q) = %v, want 422 validation_failed on name", tc.name, err)
			}
		})
	}
}

func TestValidateEnvValue(t *testing.T) {
	str := func(s string) *string { return &s }
	for _, tc := range []struct {
		name  string
		value *string
		ok    bool
	}{
		{"empty", str(""), true},
		{"pem", str("-----BEGIN KEY-----\nabc\n-----END KEY-----\n"), true},
		{"exactly_5KiB", str(strings.Repeat("x", 5<<10)), true},
		{"5KiB_of_multibyte", str(strings.Repeat("é", 5<<9)), true},
		{"missing", nil, false},
		{"one_byte_over", str(strings.Repeat("x", 5<<10+1)), false},
		{"multibyte_over", str(strings.Repeat("é", 5<<9) + "x"), false},
		{"invalid_utf8", str("a\xffb"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateEnvValue(tc.value)
			if tc.ok {
				if err != nil {
					t.Fatalf("ValidateEnvValue = %v, want ok", err)
				}
				return
			}
			e, ok := AsError(err)
			if !ok || e.Status != 422 || e.Code != CodeValidationFailed || e.Detail("field") != "value" {
				t.Fatalf("ValidateEnvValue = %v, want 422 validation_failed on value", err)
			}
		})
	}
}
