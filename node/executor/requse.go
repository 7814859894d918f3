package executor

import (
	"reflect"

	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/unistring"
)

// reqFields is a set of req's own properties, one bit each, in req's key
// order.
type reqFields uint8

const (
	fieldMethod reqFields = 1 << iota
	fieldHost
	fieldPath
	fieldApp
	fieldParams
	fieldQuery
	fieldHeaders
	fieldBody

	allFields reqFields = 1<<iota - 1
)

// fieldOf returns the bit of one of req's own properties, 0 for any other
// name.
func fieldOf(name unistring.String) reqFields {
	switch name {
	case "method":
		return fieldMethod
	case "host":
		return fieldHost
	case "path":
		return fieldPath
	case "app":
		return fieldApp
	case "params":
		return fieldParams
	case "query":
		return fieldQuery
	case "headers":
		return fieldHeaders
	case "body":
		return fieldBody
	}
	return 0
}

// requestUse finds, before instrumentation, which of req's properties a
// script can observe, so that a run builds only those: an object nobody
// can reach whole is indistinguishable from a complete one. It is all of
// them unless the program has exactly one binding named handle, a plain
// top-level function declaration nothing else names, whose first
// parameter (a plain name) appears only as <param>.<property> with
// property one of req's own (json() reads body). Any other appearance
// (passed on, returned, spread, stored, compared, enumerated, a computed
// or unknown property, an optional chain, a shadowing binding, arguments)
// means all: the analysis may build too much, never too little.
func requestUse(prg *ast.Program) reqFields {
	var handle *ast.FunctionLiteral
	for _, s := range prg.Body {
		if d, ok := s.(*ast.FunctionDeclaration); ok && d.Function.Name != nil && d.Function.Name.Name == "handle" {
			if handle != nil {
				return allFields
			}
			handle = d.Function
		}
	}
	if handle == nil || countNames(prg, "handle") != 1 {
		return allFields
	}
	params := handle.ParameterList
	if params == nil || params.Rest != nil {
		return allFields
	}
	if len(params.List) == 0 {
		if countNames(handle.Body, "arguments") > 0 {
			return allFields
		}
		return 0
	}
	first := params.List[0]
	name, ok := first.Target.(*ast.Identifier)
	if !ok || first.Initializer != nil {
		return allFields
	}
	u := useFinder{param: name.Name, decl: name}
	walk(reflect.ValueOf(handle), u.visit)
	if u.escapes {
		return allFields
	}
	return u.fields
}

// useFinder collects the properties of the parameter that handle reads.
type useFinder struct {
	param   unistring.String
	decl    *ast.Identifier // the parameter's own binding
	fields  reqFields
	escapes bool
}

func (u *useFinder) visit(n any) bool {
	switch n := n.(type) {
	case *ast.DotExpression:
		if id, ok := n.Left.(*ast.Identifier); ok && id.Name == u.param {
			if n.Identifier.Name == "json" {
				u.fields |= fieldBody // json() parses this.body
			} else if f := fieldOf(n.Identifier.Name); f != 0 {
				u.fields |= f
			} else {
				u.escapes = true // toString, hasOwnProperty, a new property, ...
			}
			return false // the property name is not a reference
		}
		walk(reflect.ValueOf(n.Left), u.visit)
		return false
	case *ast.Identifier:
		if n != u.decl && (n.Name == u.param || n.Name == "arguments") {
			u.escapes = true
		}
	case ast.Identifier: // a shorthand property ({req}) or a private name
		if n.Name == u.param || n.Name == "arguments" {
			u.escapes = true
		}
	}
	return true
}

// countNames counts the identifiers spelled name under n, property names
// after a dot excepted.
func countNames(n any, name unistring.String) int {
	count := 0
	var visit func(any) bool
	visit = func(n any) bool {
		switch n := n.(type) {
		case *ast.DotExpression:
			walk(reflect.ValueOf(n.Left), visit)
			return false
		case *ast.Identifier:
			if n.Name == name {
				count++
			}
		case ast.Identifier:
			if n.Name == name {
				count++
			}
		}
		return true
	}
	walk(reflect.ValueOf(n), visit)
	return count
}

var astPkg = reflect.TypeOf(ast.Program{}).PkgPath()

// walk calls visit for every syntax node under v, parents first; visit
// returns false to skip a node's children. It follows every field of the
// ast package's types, so it cannot miss a node kind; declaration lists
// are skipped (they repeat nodes of the body).
func walk(v reflect.Value, visit func(any) bool) {
	switch v.Kind() {
	case reflect.Interface:
		if !v.IsNil() {
			walk(v.Elem(), visit)
		}
	case reflect.Pointer:
		if v.IsNil() || v.Elem().Kind() != reflect.Struct || v.Elem().Type().PkgPath() != astPkg {
			return
		}
		if visit(v.Interface()) {
			walkFields(v.Elem(), visit)
		}
	case reflect.Struct:
		if v.Type().PkgPath() != astPkg {
			return
		}
		if visit(v.Interface()) {
			walkFields(v, visit)
		}
	case reflect.Slice:
		for i := range v.Len() {
			walk(v.Index(i), visit)
		}
	}
}

func walkFields(v reflect.Value, visit func(any) bool) {
	t := v.Type()
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() && f.Name != "DeclarationList" {
			walk(v.Field(i), visit)
		}
	}
}
