package shared

import (
	"net/http"
	"strings"
	"testing"
)

func TestValidateSlug(t *testing.T) {
	good := []string{"a", "my-app", "app2", "0", "a-b-c", strings.Repeat("a", 63), "default", "apis", "admin-panel"}
	for _, s := range good {
		if err := ValidateSlug(s); err != nil {
			t.Errorf("ValidateSlug(%q) = %v, want ok", s, err)
		}
	}
	bad := []string{
		"", "api", "admin", "internal", "__internal__",
		"-app", "app-", "-", "My-App", "my_app", "my app", "my.app", "café",
		strings.Repeat("a", 64), "app\n", "app/x", "ａpp",
	}
	for _, s := range bad {
		err := ValidateSlug(s)
		e, ok := AsError(err)
		if !ok || e.Status != http.StatusUnprocessableEntity || e.Code != CodeInvalidSlug || e.Detail("field") != "slug" {
			t.Errorf("ValidateSlug(%q) = %v, want 422 invalid_slug with field slug", s, err)
		}
	}
}

func TestDeriveSlug(t *testing.T) {
	tests := []struct{ name, want string }{
		{"My App!", "my-app"},
		{"  Hello,   World  ", "hello-world"},
		{"Café Menü", "cafe-menu"},
		{"already-a-slug", "already-a-slug"},
		{"--x--", "x"},
		{"API", "api-app"},
		{"admin", "admin-app"},
		{"!!!", "app"},
		{"", "app"},
		{"日本語", "app"},
		{"v2.0 beta", "v2-0-beta"},
		{strings.Repeat("ab ", 40), strings.TrimRight(strings.Repeat("ab-", 21), "-")},
	}
	for _, tt := range tests {
		got := DeriveSlug(tt.name)
		if got != tt.want {
			t.Errorf("DeriveSlug(%q) = %q, want %q", tt.name, got, tt.want)
		}
		if err := ValidateSlug(got); err != nil {
			t.Errorf("DeriveSlug(%q) = %q, which is not a valid slug: %v", tt.name, got, err)
		}
	}
}

func FuzzValidateSlug(f *testing.F) {
	for _, s := range []string{"my-app", "", "-a", "api", "__internal__", "A", strings.Repeat("x", 64), "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateSlug(s)
		if err == nil {
			if len(s) == 0 || len(s) > MaxSlugLen || IsReservedSlug(s) || s[0] == '-' || s[len(s)-1] == '-' {
				t.Fatalf("ValidateSlug(%q) accepted a slug breaking the rules", s)
			}
			for i := 0; i < len(s); i++ {
				if !isSlugByte(s[i]) {
					t.Fatalf("ValidateSlug(%q) accepted byte %q", s, s[i])
				}
			}
		} else if !IsCode(err, CodeInvalidSlug) {
			t.Fatalf("ValidateSlug(%q) = %v, want invalid_slug", s, err)
		}
		// Whatever a user names an app, the derived slug is valid.
		if d := DeriveSlug(s); ValidateSlug(d) != nil {
			t.Fatalf("DeriveSlug(%q) = %q, not a valid slug", s, d)
		}
	})
}
