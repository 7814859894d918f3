package executor

import (
	"reflect"

	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/unistring"
)

// reusable reports, before instrumentation, whether a program's top-level
// functions may be made once per runtime and kept across its runs instead
// of afresh for every request (see instrumenter.program). That is so only
// when no run can tell the difference:
//   - the top level is nothing but plain function declarations (no
//     generators or async functions), each name declared once, after at
//     most "use strict" directives: running it does nothing but make them;
//   - every other appearance of their names, anywhere, is the callee of a
//     plain call name(...). No script then holds a function object (to set
//     a property, reach its prototype, construct with it, compare it or pass
//     it on), and no binding ever changes: the shared scope holds only
//     these functions and the hidden objects. A declaration of the same name
//     in an inner scope (which would shadow it) counts as another appearance;
//   - no arguments (sloppy arguments.callee is the function itself), no
//     eval and no with anywhere.
//
// A plain call's this is undefined or the frozen global object, never one
// of the functions. The analysis is by name and may refuse programs that
// would be safe, never the reverse.
func reusable(p *ast.Program) bool {
	decls := topFunctions(p.Body)
	if decls == nil {
		return false
	}
	r := reuseFinder{names: make(map[unistring.String]bool, len(decls)), ok: true}
	for _, f := range decls {
		r.names[f.Name.Name] = true
	}
	for _, f := range decls {
		// The declaration's own name is the binding, not an appearance.
		walk(reflect.ValueOf(f.ParameterList), r.visit)
		walk(reflect.ValueOf(f.Body), r.visit)
	}
	return r.ok
}

// topFunctions returns the top-level function declarations, or nil when
// the top level holds anything else or declares a name twice.
func topFunctions(body []ast.Statement) []*ast.FunctionLiteral {
	var decls []*ast.FunctionLiteral
	seen := make(map[unistring.String]bool)
	prologue := true
	for _, s := range body {
		if prologue && isUseStrict(s) {
			continue
		}
		prologue = false
		switch s := s.(type) {
		case *ast.FunctionDeclaration:
			f := s.Function
			if f.Name == nil || f.Async || f.Generator || seen[f.Name.Name] {
				return nil
			}
			seen[f.Name.Name] = true
			decls = append(decls, f)
		case *ast.EmptyStatement:
		default:
			return nil
		}
	}
	return decls
}

// reuseFinder looks for appearances that make a program not reusable.
type reuseFinder struct {
	names map[unistring.String]bool // the top-level functions
	ok    bool
}

func (r *reuseFinder) visit(n any) bool {
	if !r.ok {
		return false
	}
	switch n := n.(type) {
	case *ast.CallExpression:
		if id, ok := n.Callee.(*ast.Identifier); ok && r.names[id.Name] {
			walk(reflect.ValueOf(n.ArgumentList), r.visit)
			return false // a plain call: the callee is fine, its arguments are not
		}
	case *ast.DotExpression:
		walk(reflect.ValueOf(n.Left), r.visit)
		return false // the property name is not a reference
	case *ast.WithStatement:
		r.ok = false
	case *ast.Identifier:
		r.name(n.Name)
	case ast.Identifier: // a shorthand property, a private name
		r.name(n.Name)
	}
	return r.ok
}

func (r *reuseFinder) name(name unistring.String) {
	if r.names[name] || name == "arguments" || name == "eval" {
		r.ok = false
	}
}
