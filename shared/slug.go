package shared

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// MaxSlugLen is the longest slug: one DNS label, so a slug can always become
// a subdomain.
const MaxSlugLen = 63

// reservedSlugs can never name an app: they are, or may become, path
// segments of the node's own API.
var reservedSlugs = [...]string{"api", "admin", "internal", "__internal__"}

// IsReservedSlug reports whether s is one of the reserved slugs.
func IsReservedSlug(s string) bool {
	for _, r := range reservedSlugs {
		if s == r {
			return true
		}
	}
	return false
}

// ValidateSlug checks the slug rules of SPEC §3: 1–63 of a-z 0-9 -, no
// leading or trailing -, not reserved. Failures are 422 invalid_slug with
// field "slug".
func ValidateSlug(s string) error {
	bad := func(format string, args ...any) error {
		return Errorf(CodeInvalidSlug, format, args...).With("field", "slug")
	}
	switch {
	case s == "":
		return bad("slug must not be empty")
	case IsReservedSlug(s):
		return bad("slug %q is reserved", s)
	case len(s) > MaxSlugLen:
		return bad("slug is %d characters long; the limit is %d", len(s), MaxSlugLen)
	case s[0] == '-' || s[len(s)-1] == '-':
		return bad("slug %q must not start or end with '-'", s)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isSlugByte(c) {
			return bad("slug %q may only contain a-z, 0-9 and '-'", s)
		}
	}
	return nil
}

func isSlugByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-'
}

// DeriveSlug turns an app name into a slug: "My App!" → "my-app",
// "Café Menü" → "cafe-menu". Accents are dropped, every other run of
// characters outside a-z 0-9 becomes one '-'. The result always passes
// ValidateSlug: an empty result becomes "app" and a reserved one gets "-app"
// appended.
func DeriveSlug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range norm.NFKD.String(name) {
		if unicode.Is(unicode.Mn, r) {
			continue // combining accent of the previous letter
		}
		r = unicode.ToLower(r)
		if r < 0x80 && isSlugByte(byte(r)) && r != '-' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			if b.Len() >= MaxSlugLen {
				break
			}
			continue
		}
		dash = true
	}
	s := strings.TrimRight(b.String(), "-")
	if len(s) > MaxSlugLen {
		s = strings.TrimRight(s[:MaxSlugLen], "-")
	}
	switch {
	case s == "":
		return "app"
	case IsReservedSlug(s):
		return s + "-app"
	}
	return s
}
