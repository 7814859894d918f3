package executor

import (
	"testing"

	"github.com/dop251/goja"

	"github.com/picloud/picloud/shared"
)

// TestEarlyErrorsSurviveInstrumentation: what goja refuses to compile stays
// a syntax error once the instrumenter has rewritten the script.
func TestEarlyErrorsSurviveInstrumentation(t *testing.T) {
	for _, src := range []string{
		`while (0) function f() {}`,
		`for (;false;) function* g() {}`,
		`do async function f() {} while (0)`,
		`for (const x of []) function f() {}`,
		`/./G`,
	} {
		t.Run(src, func(t *testing.T) {
			if _, err := goja.Compile("t.js", src, false); err == nil {
				t.Fatalf("plain goja compiles it")
			}
			_, err := New(Options{}).Compile(0, 0, src+"\nfunction handle() { return 1 }", shared.DefaultLimits())
			if se, ok := shared.AsError(err); !ok || se.Code != shared.CodeScriptSyntax {
				t.Fatalf("want script_syntax, got %v", err)
			}
		})
	}
}
