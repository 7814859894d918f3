package executor

import (
	"strings"
	"testing"
)

func TestScanNesting(t *testing.T) {
	deep := func(prefix string) string { return prefix + strings.Repeat("(", 40) + strings.Repeat(")", 40) }
	cases := []struct {
		name string
		src  string
		deep bool
	}{
		{"flat", "a(b(c)) [1, [2]] {x: {y: 1}}", false},
		{"nested parens", deep(""), true},
		{"balanced brackets in strings", `"` + strings.Repeat("()", 50) + `" + '` + strings.Repeat("[]", 50) + `'`, false},
		{"closers in strings do not close code", strings.Repeat("(", 20) + `"` + strings.Repeat(")", 40) + `"` + strings.Repeat("(", 20), true},
		// Open brackets inside strings count on top of the code depth: the
		// price of not trusting the string detection (see scanNesting).
		{"open brackets in strings count", `"((((((((((((((((((((((((((((((((((((((((" + '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[['`, true},
		{"brackets in comments do not count", "// " + strings.Repeat("(", 50) + "\n/* " + strings.Repeat("{", 50) + " */ x", false},
		{"brackets in regexp do not count", `x = /` + strings.Repeat(`\(`, 50) + `/; y = a / b / c`, false},
		{"balanced template text", "`" + strings.Repeat("()", 50) + "`", false},
		{"template substitution counts", "`${" + strings.Repeat("(", 40) + "1" + strings.Repeat(")", 40) + "}`", true},
		{"regexp after if head", deep(`if (1) /"/.test(s); `), true},
		{"regexp after return", deep(`function f(){ return /"/ } `), true},
		{"division after paren", `x = (a) / "` + strings.Repeat("()", 40) + `"`, false},
		// A scanner fooled into a string still counts what the parser sees as code.
		{"fooled into a string on one line", `x = a /"/ ` + strings.Repeat("(", 40), true},
		{"unterminated string ends at newline", "'abc\n" + strings.Repeat("(", 40), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, got := scanNesting(tc.src, 32); got != tc.deep {
				t.Fatalf("too deep = %v, want %v", got, tc.deep)
			}
		})
	}
}

// TestDeepSourceRejectedQuickly: the worst case the parser would choke on is
// refused before parsing.
func TestDeepSourceRejectedQuickly(t *testing.T) {
	n := MaxSourceSize / 2
	src := strings.Repeat("(", n) + strings.Repeat(")", n)
	line, col, deep := scanNesting(src, 128)
	if !deep || line != 1 || col != 129 {
		t.Fatalf("got %d:%d %v", line, col, deep)
	}
}
