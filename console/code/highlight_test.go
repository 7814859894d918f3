package code

import (
	"strings"
	"testing"
)

func TestHighlight(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []Span
	}{
		{"keywords and names", "const x = y", []Span{{Keyword, "const"}, {Plain, " x = y"}}},
		{"a keyword inside a name is plain", "constant returned", []Span{{Plain, "constant returned"}}},
		{"a property named like a keyword", "req.default", []Span{{Plain, "req.default"}}},
		{"strings with escapes", `f("a\"b", 'c')`, []Span{{Plain, "f("}, {String, `"a\"b"`}, {Plain, ", "}, {String, "'c'"}, {Plain, ")"}}},
		{"an open string ends at its line", "'abc\nreturn", []Span{{String, "'abc"}, {Plain, "\n"}, {Keyword, "return"}}},
		{"template literal", "`hi ${name}`;", []Span{{String, "`hi ${name}`"}, {Plain, ";"}}},
		{"line comment", "x // note\ny", []Span{{Plain, "x "}, {Comment, "// note"}, {Plain, "\ny"}}},
		{"block comment", "/* a\nb */if", []Span{{Comment, "/* a\nb */"}, {Keyword, "if"}}},
		{"unterminated block comment", "/* a", []Span{{Comment, "/* a"}}},
		{"numbers", "1.5e-3 + 0xff - 10n", []Span{{Number, "1.5e-3"}, {Plain, " + "}, {Number, "0xff"}, {Plain, " - "}, {Number, "10n"}}},
		{"digits in a name are plain", "x1 = .5", []Span{{Plain, "x1 = "}, {Number, ".5"}}},
		{"a string holding a comment", `"// no"`, []Span{{String, `"// no"`}}},
		{"division is plain", "a / b", []Span{{Plain, "a / b"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Highlight(tc.src)
			if !equalSpans(got, tc.want) {
				t.Errorf("Highlight(%q) = %v, want %v", tc.src, got, tc.want)
			}
		})
	}
}

func equalSpans(a, b []Span) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzHighlight: any source, however broken, is covered exactly by spans
// (the editor draws them over what the user typed, so a lost or doubled
// byte would show text that is not there).
func FuzzHighlight(f *testing.F) {
	for _, s := range []string{"", "function handle(req) { return 1 }", "'\\", "`${", "/*", "0x1e+5", "1e", "é = 'ü'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		var b strings.Builder
		for _, s := range Highlight(src) {
			if s.Text == "" {
				t.Fatal("empty span")
			}
			b.WriteString(s.Text)
		}
		if b.String() != src {
			t.Fatalf("spans spell %q, source is %q", b.String(), src)
		}
	})
}
