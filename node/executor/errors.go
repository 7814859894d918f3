package executor

import (
	"fmt"
	"strings"
)

// KnobHeapLimit names the node-wide heap fence in a LimitError. It is not a
// per-script knob: it stops whatever runs when the node's Go heap passes
// Options.HeapLimit, so one script cannot take the whole node down.
const KnobHeapLimit = "heap_limit"

// LimitError reports the sandbox knob that stopped a script. Scripts cannot
// catch it: it is delivered through goja's Runtime.Interrupt.
type LimitError struct {
	Knob string
}

func (e *LimitError) Error() string {
	return "sandbox limit " + e.Knob + " exceeded"
}

// ScriptError is a fault of the script itself: an uncaught throw, a syntax
// error at run time or a value handle() may not return.
type ScriptError struct {
	Message      string
	Line, Column int
	Stack        string
}

func (e *ScriptError) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d, column %d)", e.Line, e.Column)
	}
	return b.String()
}

// maxErrorText caps a ScriptError's message and its stack, each, like the
// console output (SPEC §2): a script that throws a 1 MB message must not
// store megabytes per request.
const maxErrorText = 64 << 10
