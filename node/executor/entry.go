package executor

import (
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/unistring"

	"github.com/picloud/picloud/shared"
)

// Entry names the script function a run calls.
type Entry uint8

const (
	// EntryHandle calls handle(req, env): routes and execute (SPEC §5).
	EntryHandle Entry = iota
	// EntryScheduled calls scheduled(event, env): cron (SPEC §9).
	EntryScheduled
)

func (e Entry) String() string {
	if e == EntryScheduled {
		return "scheduled"
	}
	return "handle"
}

// entryShape is what the analysis before instrumentation finds out about a
// script's entry functions, and so how its entry is called.
type entryShape struct {
	handle, scheduled bool // the top level defines them as functions
	// The function can observe its second argument, env: only then is env
	// built and passed on (see observesEnv).
	handleEnv, scheduledEnv bool
}

// entryShapeOf analyses a program before instrumentation. A script must
// define handle or scheduled (or both).
func entryShapeOf(prg *ast.Program) (entryShape, error) {
	s := entryShape{handle: defines(prg.Body, "handle"), scheduled: defines(prg.Body, "scheduled")}
	if !s.handle && !s.scheduled {
		return s, shared.Validation("source", "script must define a top-level function handle(req) or scheduled(event)")
	}
	s.handleEnv = s.handle && observesEnv(prg, "handle")
	s.scheduledEnv = s.scheduled && observesEnv(prg, "scheduled")
	return s, nil
}

// has reports whether the script defines e's function.
func (s entryShape) has(e Entry) bool {
	if e == EntryScheduled {
		return s.scheduled
	}
	return s.handle
}

// env reports whether e's function can observe env.
func (s entryShape) env(e Entry) bool {
	if e == EntryScheduled {
		return s.scheduledEnv
	}
	return s.handleEnv
}

// observesEnv reports whether the entry function name can observe its
// second argument. It cannot when it is a plain top-level function
// declaration that nothing else names (so it is the function the wrapper
// calls), with at most one parameter, no rest parameter and no arguments
// anywhere inside it. Anything else counts as observing: env may be built
// for nothing, never missed.
func observesEnv(prg *ast.Program, name unistring.String) bool {
	var fn *ast.FunctionLiteral
	for _, s := range prg.Body {
		if d, ok := s.(*ast.FunctionDeclaration); ok && d.Function.Name != nil && d.Function.Name.Name == name {
			if fn != nil {
				return true
			}
			fn = d.Function
		}
	}
	if fn == nil || countNames(prg, name) != 1 {
		return true
	}
	params := fn.ParameterList
	if params == nil || params.Rest != nil || len(params.List) > 1 {
		return true
	}
	return countNames(fn, "arguments") > 0
}
