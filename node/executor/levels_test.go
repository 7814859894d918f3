package executor

import (
	"errors"
	"testing"

	"github.com/picloud/picloud/shared"
)

// TestCallLevels: handle is level 1, so max_call_levels 10 allows handle
// plus nine nested calls.
func TestCallLevels(t *testing.T) {
	e := New(Options{})
	l := shared.DefaultLimits()
	l.MaxCallLevels = 10
	src := `function f(n){ return n <= 1 ? 1 : 1 + f(n-1) } function handle(req){ return String(f(Number(req.path.slice(1)))) }`
	if got := body(t, run(t, e, src, l, &Request{Path: "/9"})); got != "9" {
		t.Fatalf("got %q", got)
	}
	res := run(t, e, src, l, &Request{Path: "/10"})
	var le *LimitError
	if !errors.As(res.Err, &le) || le.Knob != shared.KnobMaxCallLevels {
		t.Fatalf("depth 10: %v", res.Err)
	}
}

// TestOneCallLevel: max_call_levels 1 runs handle itself and nothing it
// calls.
func TestOneCallLevel(t *testing.T) {
	e := New(Options{})
	l := shared.DefaultLimits()
	l.MaxCallLevels = 1
	if got := body(t, run(t, e, `function handle(){ return "ok" }`, l, nil)); got != "ok" {
		t.Fatalf("got %q", got)
	}
	res := run(t, e, `function f(){ return "f" } function handle(){ return f() }`, l, nil)
	var le *LimitError
	if !errors.As(res.Err, &le) || le.Knob != shared.KnobMaxCallLevels {
		t.Fatalf("a call from handle: %v", res.Err)
	}
}
