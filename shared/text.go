package shared

// IsBidiControl reports whether r is a Unicode bidirectional formatting
// character (embeddings, overrides, isolates and the marks). In a name
// they make text display in another order than it is stored ("Trojan
// Source"), so names refuse them (SPEC §3).
func IsBidiControl(r rune) bool {
	switch {
	case r == '\u061C', r == '\u200E', r == '\u200F':
		return true
	case r >= '\u202A' && r <= '\u202E':
		return true
	case r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}
