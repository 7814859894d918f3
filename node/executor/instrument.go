package executor

import (
	"math/big"
	"strings"

	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
	"github.com/dop251/goja/token"
	"github.com/dop251/goja/unistring"
)

// Hidden objects the instrumented code talks to. '%' cannot start a
// JavaScript identifier, so a script can neither declare, shadow nor assign
// these names; they are parameters of the wrapper function around the
// script. Both are goja dynamic objects backed by Go: reading or writing one
// of their properties calls Go without the context save and restore of a
// native function call, which halves the cost of the instrumentation.
const (
	hiddenTick  = "%tick" // reading %tick.t costs one operation
	hiddenCheck = "%chk"  // writing %chk.s/.t/.w checks a value (see checker)
	hiddenArg   = "%arg"  // the entry's first argument: req or the event
	hiddenEnv   = "%env"  // env, when the entry can observe it
	hiddenKind  = "%kind" // true to call scheduled, when the script has both
)

// setCheck is %chk.<key> = e, whose value is e.
func setCheck(key string, e ast.Expression, idx file.Idx) ast.Expression {
	return &ast.AssignExpression{
		Operator: token.ASSIGN,
		Left:     &ast.DotExpression{Left: ident(hiddenCheck, idx), Identifier: ast.Identifier{Name: unistring.String(key), Idx: idx}},
		Right:    e,
	}
}

// instrumenter checks the syntax tree (max_expr_depth, regular expressions,
// no `with`) and rewrites it in place:
//   - %tick.t at the start of every loop body and function body, so every
//     iteration and call costs an operation;
//   - %chk.s = a + b (also for +=, template literals and spread literals)
//     so strings, arrays and objects are checked right after they are built;
//   - %chk.w = ((%chk.t = o)[k] = v), and the same for a.length = n, so
//     arrays and objects are checked right after an index or length write.
type instrumenter struct {
	file     *file.File
	maxDepth int
	funcs    int // enclosing non-arrow functions

	// analyze makes a walk record bindings instead of rewriting; see
	// numericLocals.
	analyze bool
	inits   map[unistring.String][]ast.Expression
	writes  map[unistring.String][]*ast.AssignExpression
	unsafe  map[unistring.String]bool
	numbers map[unistring.String]bool // bindings that only ever hold numbers

	classes []*namedClass // enclosing named classes, innermost last
}

// A namedClass is a class with a name being walked: written records an
// assignment to its name inside its body (see class).
type namedClass struct {
	name    unistring.String
	written bool
}

// wrote notes an assignment to the identifier name.
func (in *instrumenter) wrote(name unistring.String) {
	for _, c := range in.classes {
		if c.name == name {
			c.written = true
		}
	}
}

// program checks and instruments p and returns a program whose completion
// value is the entry function: called with the hidden objects and the
// entry's arguments (see entryShape.params), it runs the script's top level
// in a fresh scope and returns handle(req) or scheduled(event). Running the
// top level per request is what keeps state from leaking between requests
// in a pooled runtime.
//
// When reuse is set (p is reusable), running the top level does nothing a
// script can tell from the previous run's, so it runs once per runtime
// instead: the completion value is a function that, called once with the
// hidden objects, makes the top-level functions and returns the entry,
// which then takes the entry's arguments alone and only calls handle or
// scheduled.
func (in *instrumenter) program(p *ast.Program, reuse bool, shape entryShape) (*ast.Program, error) {
	if err := in.numericLocals(p.Body); err != nil {
		return nil, err
	}
	if err := in.stmts(p.Body, 1); err != nil {
		return nil, err
	}
	var fn *ast.FunctionLiteral
	if reuse {
		fn = reuseWrapper(p, shape)
	} else {
		fn = entryWrapper(p, shape)
	}
	return &ast.Program{
		Body: []ast.Statement{&ast.ExpressionStatement{Expression: fn}},
		File: p.File,
	}, nil
}

// wrapIdx is the source position of the wrappers' own nodes.
const wrapIdx = file.Idx(1)

// entryWrapper is function(%tick, %chk, %arg) { <top level>; return handle(%arg) },
// with the parameters and the call of shape (entryShape.call).
// The hidden objects are parameters of the wrapper, so every reference
// resolves statically to a closure slot instead of a dynamic global lookup.
// A sloppy wrapper gets a default value on its last parameter: that makes
// its arguments object unmapped, so neither arguments[i] = f nor
// arguments.callee (which then throws) can reach or replace them. A strict
// wrapper is unmapped anyway, and may not have the default.
func entryWrapper(p *ast.Program, shape entryShape) *ast.FunctionLiteral {
	// The wrapper calls handle itself: one call into the runtime per
	// request instead of two.
	body := append(p.Body, shape.call())
	params := hiddenParams(append([]string{hiddenTick, hiddenCheck}, shape.params()...)...)
	if !strictDirective(p.Body) {
		params.List[len(params.List)-1].Initializer = ident("undefined", wrapIdx)
	}
	return funcLit(params, body, p.DeclarationList)
}

// reuseWrapper is function(%tick, %chk) { <top level>; return function(%arg) { return handle(%arg) } },
// with the entry's parameters and call of shape. The inner function, the
// entry, holds no script code, so nothing can reach its arguments; it is
// strict when the top level is.
func reuseWrapper(p *ast.Program, shape entryShape) *ast.FunctionLiteral {
	entry := funcLit(hiddenParams(shape.params()...), []ast.Statement{shape.call()}, nil)
	ret := &ast.ReturnStatement{Return: wrapIdx, Argument: entry}
	return funcLit(hiddenParams(hiddenTick, hiddenCheck), append(p.Body, ret), p.DeclarationList)
}

// params are the entry's own parameters: %arg, then %env when an entry
// function can observe env, then %kind when the script has both.
func (s entryShape) params() []string {
	names := []string{hiddenArg}
	if s.handleEnv || s.scheduledEnv {
		names = append(names, hiddenEnv)
	}
	if s.handle && s.scheduled {
		names = append(names, hiddenKind)
	}
	return names
}

// call is return handle(%arg), scheduled(%arg) or, for a script with
// both, %kind ? scheduled(%arg) : handle(%arg); %env is passed on only to
// a function that can observe it, so a handle(req) is called as before.
func (s entryShape) call() ast.Statement {
	var e ast.Expression
	switch {
	case s.handle && s.scheduled:
		e = &ast.ConditionalExpression{Test: ident(hiddenKind, wrapIdx),
			Consequent: callEntry("scheduled", s.scheduledEnv), Alternate: callEntry("handle", s.handleEnv)}
	case s.scheduled:
		e = callEntry("scheduled", s.scheduledEnv)
	default:
		e = callEntry("handle", s.handleEnv)
	}
	return &ast.ReturnStatement{Return: wrapIdx, Argument: e}
}

// callEntry is name(%arg) or name(%arg, %env).
func callEntry(name string, env bool) ast.Expression {
	args := []ast.Expression{ident(hiddenArg, wrapIdx)}
	if env {
		args = append(args, ident(hiddenEnv, wrapIdx))
	}
	return &ast.CallExpression{Callee: ident(name, wrapIdx), LeftParenthesis: wrapIdx,
		ArgumentList: args, RightParenthesis: wrapIdx}
}

func hiddenParams(names ...string) *ast.ParameterList {
	params := &ast.ParameterList{Opening: wrapIdx, Closing: wrapIdx}
	for _, name := range names {
		params.List = append(params.List, &ast.Binding{Target: ident(name, wrapIdx)})
	}
	return params
}

func funcLit(params *ast.ParameterList, body []ast.Statement, decls []*ast.VariableDeclaration) *ast.FunctionLiteral {
	return &ast.FunctionLiteral{
		Function:        wrapIdx,
		ParameterList:   params,
		Body:            &ast.BlockStatement{LeftBrace: wrapIdx, List: body, RightBrace: wrapIdx},
		DeclarationList: decls,
	}
}

// strictDirective reports whether the program starts with a "use strict"
// directive.
func strictDirective(body []ast.Statement) bool {
	for _, s := range body {
		es, ok := s.(*ast.ExpressionStatement)
		if !ok {
			return false
		}
		if _, ok := es.Expression.(*ast.StringLiteral); !ok {
			return false
		}
		if isUseStrict(s) {
			return true
		}
	}
	return false
}

// isUseStrict reports whether s is the statement "use strict" (written
// without escapes, as a directive must be).
func isUseStrict(s ast.Statement) bool {
	es, ok := s.(*ast.ExpressionStatement)
	if !ok {
		return false
	}
	lit, ok := es.Expression.(*ast.StringLiteral)
	return ok && len(lit.Literal) >= 2 && lit.Literal[1:len(lit.Literal)-1] == "use strict"
}

// defines reports whether the top level declares name as a function.
func defines(body []ast.Statement, name unistring.String) bool {
	isFunc := func(e ast.Expression) bool {
		switch e.(type) {
		case *ast.FunctionLiteral, *ast.ArrowFunctionLiteral:
			return true
		}
		return false
	}
	bound := func(list []*ast.Binding) bool {
		for _, b := range list {
			if id, ok := b.Target.(*ast.Identifier); ok && id.Name == name && isFunc(b.Initializer) {
				return true
			}
		}
		return false
	}
	for _, s := range body {
		switch s := s.(type) {
		case *ast.FunctionDeclaration:
			if s.Function.Name != nil && s.Function.Name.Name == name {
				return true
			}
		case *ast.VariableStatement:
			if bound(s.List) {
				return true
			}
		case *ast.LexicalDeclaration:
			if bound(s.List) {
				return true
			}
		}
	}
	return false
}

func ident(name string, idx file.Idx) *ast.Identifier {
	return &ast.Identifier{Name: unistring.String(name), Idx: idx}
}

// tick costs one operation: %tick.t.
func tick(idx file.Idx) ast.Expression {
	return &ast.DotExpression{Left: ident(hiddenTick, idx), Identifier: ast.Identifier{Name: "t", Idx: idx}}
}

func tickStmt(idx file.Idx) ast.Statement {
	return &ast.ExpressionStatement{Expression: tick(idx)}
}

// checkString wraps a value that may be a freshly built string, array or
// object: %chk.s = e.
func (in *instrumenter) checkString(e ast.Expression, idx file.Idx) ast.Expression {
	if in.analyze {
		return e
	}
	return setCheck("s", e, idx)
}

func hasSpread(list []ast.Expression) bool {
	for _, e := range list {
		if _, ok := e.(*ast.SpreadElement); ok {
			return true
		}
	}
	return false
}

// tickBody prefixes a loop body with a tick.
func (in *instrumenter) tickBody(body ast.Statement, idx file.Idx) ast.Statement {
	if in.analyze {
		return body
	}
	return &ast.BlockStatement{LeftBrace: idx, List: []ast.Statement{tickStmt(idx), body}, RightBrace: idx}
}

// tickFunction inserts a tick after the directive prologue of a function body.
func (in *instrumenter) tickFunction(b *ast.BlockStatement) {
	if in.analyze {
		return
	}
	n := 0
	for n < len(b.List) {
		es, ok := b.List[n].(*ast.ExpressionStatement)
		if !ok {
			break
		}
		if _, ok := es.Expression.(*ast.StringLiteral); !ok {
			break
		}
		n++
	}
	list := make([]ast.Statement, 0, len(b.List)+1)
	list = append(list, b.List[:n]...)
	list = append(list, tickStmt(b.LeftBrace))
	b.List = append(list, b.List[n:]...)
}

func (in *instrumenter) check(n ast.Node, depth int) error {
	if depth > in.maxDepth {
		return tooDeepAt(in, n.Idx0())
	}
	return nil
}

func tooDeepAt(in *instrumenter, idx file.Idx) error {
	pos := in.position(idx)
	return tooDeep(in.maxDepth, pos.Line, pos.Column)
}

func (in *instrumenter) stmts(list []ast.Statement, depth int) error {
	for i, s := range list {
		ns, err := in.stmt(s, depth)
		if err != nil {
			return err
		}
		list[i] = ns
	}
	return nil
}

func (in *instrumenter) block(b *ast.BlockStatement, depth int) error {
	if b == nil {
		return nil
	}
	if err := in.check(b, depth); err != nil {
		return err
	}
	return in.stmts(b.List, depth+1)
}

func (in *instrumenter) stmt(s ast.Statement, depth int) (ast.Statement, error) {
	if s == nil {
		return nil, nil
	}
	if err := in.check(s, depth); err != nil {
		return nil, err
	}
	d := depth + 1
	var err error
	switch s := s.(type) {
	case *ast.BlockStatement:
		err = in.stmts(s.List, d)
	case *ast.CaseStatement:
		if s.Test, err = in.expr(s.Test, d); err == nil {
			err = in.stmts(s.Consequent, d)
		}
	case *ast.CatchStatement:
		if err = in.pattern(s.Parameter, d); err == nil {
			err = in.block(s.Body, d)
		}
	case *ast.DoWhileStatement:
		if s.Test, err = in.expr(s.Test, d); err == nil {
			s.Body, err = in.stmt(s.Body, d)
			s.Body = in.tickBody(s.Body, s.Do)
		}
	case *ast.ExpressionStatement:
		s.Expression, err = in.expr(s.Expression, d)
	case *ast.ForInStatement:
		if err = in.forInto(s.Into, d); err == nil {
			if s.Source, err = in.expr(s.Source, d); err == nil {
				s.Body, err = in.stmt(s.Body, d)
				s.Body = in.tickBody(s.Body, s.For)
			}
		}
	case *ast.ForOfStatement:
		if err = in.forInto(s.Into, d); err == nil {
			if s.Source, err = in.expr(s.Source, d); err == nil {
				s.Body, err = in.stmt(s.Body, d)
				s.Body = in.tickBody(s.Body, s.For)
			}
		}
	case *ast.ForStatement:
		switch init := s.Initializer.(type) {
		case *ast.ForLoopInitializerExpression:
			init.Expression, err = in.expr(init.Expression, d)
		case *ast.ForLoopInitializerVarDeclList:
			err = in.bindings(init.List, d)
		case *ast.ForLoopInitializerLexicalDecl:
			err = in.bindings(init.LexicalDeclaration.List, d)
		}
		if err == nil {
			if s.Test, err = in.expr(s.Test, d); err == nil {
				if s.Update, err = in.expr(s.Update, d); err == nil {
					s.Body, err = in.stmt(s.Body, d)
					s.Body = in.tickBody(s.Body, s.For)
				}
			}
		}
	case *ast.IfStatement:
		if s.Test, err = in.expr(s.Test, d); err == nil {
			if s.Consequent, err = in.stmt(s.Consequent, d); err == nil {
				s.Alternate, err = in.stmt(s.Alternate, d)
			}
		}
	case *ast.LabelledStatement:
		s.Statement, err = in.stmt(s.Statement, d)
	case *ast.ReturnStatement:
		s.Argument, err = in.expr(s.Argument, d)
	case *ast.SwitchStatement:
		if s.Discriminant, err = in.expr(s.Discriminant, d); err == nil {
			for _, c := range s.Body {
				if _, err = in.stmt(c, d); err != nil {
					break
				}
			}
		}
	case *ast.ThrowStatement:
		s.Argument, err = in.expr(s.Argument, d)
	case *ast.TryStatement:
		if err = in.block(s.Body, d); err == nil {
			if s.Catch != nil {
				_, err = in.stmt(s.Catch, d)
			}
			if err == nil {
				err = in.block(s.Finally, d)
			}
		}
	case *ast.VariableStatement:
		err = in.bindings(s.List, d)
	case *ast.LexicalDeclaration:
		err = in.bindings(s.List, d)
	case *ast.WhileStatement:
		if s.Test, err = in.expr(s.Test, d); err == nil {
			s.Body, err = in.stmt(s.Body, d)
			s.Body = in.tickBody(s.Body, s.While)
		}
	case *ast.WithStatement:
		// `with` could put an object in front of the hidden objects.
		return nil, in.fail(s.With, "the with statement is not supported")
	case *ast.FunctionDeclaration:
		err = in.function(s.Function, d)
	case *ast.ClassDeclaration:
		err = in.class(s.Class, d)
	case *ast.BranchStatement, *ast.DebuggerStatement, *ast.EmptyStatement, *ast.BadStatement:
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (in *instrumenter) bindings(list []*ast.Binding, depth int) error {
	for _, b := range list {
		if err := in.binding(b, depth); err != nil {
			return err
		}
	}
	return nil
}

func (in *instrumenter) binding(b *ast.Binding, depth int) error {
	if b == nil {
		return nil
	}
	if id, ok := b.Target.(*ast.Identifier); ok {
		if in.analyze {
			in.inits[id.Name] = append(in.inits[id.Name], b.Initializer)
		}
	} else if err := in.pattern(b.Target, depth); err != nil {
		return err
	}
	var err error
	b.Initializer, err = in.expr(b.Initializer, depth)
	return err
}

func (in *instrumenter) forInto(f ast.ForInto, depth int) error {
	switch f := f.(type) {
	case *ast.ForIntoVar:
		if id, ok := f.Binding.Target.(*ast.Identifier); ok && in.analyze {
			in.unsafe[id.Name] = true // holds keys or iterated values
		}
		return in.binding(f.Binding, depth)
	case *ast.ForDeclaration:
		return in.pattern(f.Target, depth)
	case *ast.ForIntoExpression:
		return in.pattern(f.Expression, depth)
	}
	return nil
}

// pattern walks an assignment or binding target without changing its shape:
// a target must stay a target.
func (in *instrumenter) pattern(e ast.Expression, depth int) error {
	if e == nil {
		return nil
	}
	if err := in.check(e, depth); err != nil {
		return err
	}
	d := depth + 1
	var err error
	switch e := e.(type) {
	case *ast.Identifier:
		if in.analyze {
			in.unsafe[e.Name] = true // a destructuring, catch or for-in/of target
		}
		in.wrote(e.Name)
	case *ast.ArrayPattern:
		for _, el := range e.Elements {
			if err = in.pattern(el, d); err != nil {
				return err
			}
		}
		return in.pattern(e.Rest, d)
	case *ast.ObjectPattern:
		for _, p := range e.Properties {
			if err = in.patternProperty(p, d); err != nil {
				return err
			}
		}
		return in.pattern(e.Rest, d)
	case *ast.AssignExpression: // target = default
		if err = in.pattern(e.Left, d); err == nil {
			e.Right, err = in.expr(e.Right, d)
		}
	case *ast.Binding:
		err = in.binding(e, d)
	case *ast.BracketExpression:
		if e.Left, err = in.expr(e.Left, d); err == nil {
			e.Member, err = in.expr(e.Member, d)
		}
	case *ast.DotExpression:
		e.Left, err = in.expr(e.Left, d)
	case *ast.SpreadElement:
		err = in.pattern(e.Expression, d)
	case *ast.ArrayLiteral, *ast.ObjectLiteral:
		// Only in positions the parser has not converted; walk as expressions.
		_, err = in.expr(e, d)
	}
	return err
}

func (in *instrumenter) patternProperty(p ast.Property, depth int) error {
	var err error
	switch p := p.(type) {
	case *ast.PropertyShort:
		in.wrote(p.Name.Name)
		p.Initializer, err = in.expr(p.Initializer, depth)
	case *ast.PropertyKeyed:
		if p.Computed {
			if p.Key, err = in.expr(p.Key, depth); err != nil {
				return err
			}
		}
		err = in.pattern(p.Value, depth)
	case *ast.SpreadElement:
		err = in.pattern(p.Expression, depth)
	}
	return err
}

func (in *instrumenter) exprs(list []ast.Expression, depth int) error {
	for i, e := range list {
		ne, err := in.expr(e, depth)
		if err != nil {
			return err
		}
		list[i] = ne
	}
	return nil
}

func (in *instrumenter) function(f *ast.FunctionLiteral, depth int) error {
	if f == nil {
		return nil
	}
	if f.Name != nil && in.analyze {
		in.unsafe[f.Name.Name] = true
	}
	in.funcs++
	defer func() { in.funcs-- }()
	if err := in.params(f.ParameterList, depth); err != nil {
		return err
	}
	if err := in.block(f.Body, depth); err != nil {
		return err
	}
	in.tickFunction(f.Body)
	return nil
}

func (in *instrumenter) params(p *ast.ParameterList, depth int) error {
	if p == nil {
		return nil
	}
	if in.analyze {
		for _, b := range p.List {
			if id, ok := b.Target.(*ast.Identifier); ok {
				in.unsafe[id.Name] = true // sloppy arguments[i] aliases parameters
			}
		}
	}
	if err := in.bindings(p.List, depth); err != nil {
		return err
	}
	return in.pattern(p.Rest, depth)
}

// class walks a class literal. Assigning to a class's own name inside its
// body throws a TypeError (the name is an immutable binding there), but
// goja compiles such an assignment without a reference to the binding; a
// method that also uses a closure variable (every instrumented method does:
// the operation counter) then indexes a scope that was never made, and the
// run panics. A read of the name anywhere in the body makes goja keep it:
// a class that assigns to its name gets a trailing static { Name; }, which
// runs once, after the name is bound, and changes nothing a script sees.
func (in *instrumenter) class(c *ast.ClassLiteral, depth int) error {
	if c == nil {
		return nil
	}
	if c.Name != nil && in.analyze {
		in.unsafe[c.Name.Name] = true
	}
	if c.Name != nil && !in.analyze {
		nc := &namedClass{name: c.Name.Name}
		in.classes = append(in.classes, nc)
		defer func() {
			in.classes = in.classes[:len(in.classes)-1]
			if nc.written {
				c.Body = append(c.Body, readName(c.Name.Name, c.RightBrace))
			}
		}()
	}
	return in.classBody(c, depth)
}

// readName is static { name; }.
func readName(name unistring.String, idx file.Idx) ast.ClassElement {
	read := &ast.ExpressionStatement{Expression: &ast.Identifier{Name: name, Idx: idx}}
	return &ast.ClassStaticBlock{Static: idx, Block: &ast.BlockStatement{LeftBrace: idx, List: []ast.Statement{read}, RightBrace: idx}}
}

func (in *instrumenter) classBody(c *ast.ClassLiteral, depth int) error {
	var err error
	if c.SuperClass, err = in.expr(c.SuperClass, depth); err != nil {
		return err
	}
	for _, el := range c.Body {
		switch el := el.(type) {
		case *ast.FieldDefinition:
			if el.Computed {
				if el.Key, err = in.expr(el.Key, depth); err != nil {
					return err
				}
			}
			if el.Initializer, err = in.expr(el.Initializer, depth); err != nil {
				return err
			}
		case *ast.MethodDefinition:
			if el.Computed {
				if el.Key, err = in.expr(el.Key, depth); err != nil {
					return err
				}
			}
			if err = in.function(el.Body, depth); err != nil {
				return err
			}
		case *ast.ClassStaticBlock:
			if err = in.block(el.Block, depth); err != nil {
				return err
			}
		}
	}
	return nil
}

func (in *instrumenter) expr(e ast.Expression, depth int) (ast.Expression, error) {
	if e == nil {
		return nil, nil
	}
	if err := in.check(e, depth); err != nil {
		return nil, err
	}
	d := depth + 1
	var err error
	switch e := e.(type) {
	case *ast.ArrayLiteral:
		if err = in.exprs(e.Value, d); err == nil && hasSpread(e.Value) {
			return in.checkString(e, e.Idx0()), nil // [...a, ...a] can double an array
		}
	case *ast.ArrayPattern, *ast.ObjectPattern, *ast.Binding:
		err = in.pattern(e, depth)
	case *ast.AssignExpression:
		return in.assign(e, d)
	case *ast.AwaitExpression:
		e.Argument, err = in.expr(e.Argument, d)
	case *ast.BinaryExpression:
		if e.Left, err = in.expr(e.Left, d); err == nil {
			e.Right, err = in.expr(e.Right, d)
		}
		if err == nil && e.Operator == token.PLUS && !(in.numeric(e.Left) && in.numeric(e.Right)) {
			return in.checkString(e, e.Idx0()), nil
		}
	case *ast.BracketExpression:
		if e.Left, err = in.expr(e.Left, d); err == nil {
			e.Member, err = in.expr(e.Member, d)
		}
	case *ast.CallExpression:
		if e.Callee, err = in.expr(e.Callee, d); err == nil {
			err = in.exprs(e.ArgumentList, d)
		}
		if id, ok := e.Callee.(*ast.Identifier); ok && id.Name == "eval" && !in.analyze {
			// The sandbox has no eval, so eval(...) throws the ReferenceError
			// (0, eval)(...) throws; but goja compiles a call written eval(...)
			// as a direct eval, which makes every enclosing scope dynamic and,
			// in a class field initializer, panics on a closure variable.
			e.Callee = &ast.SequenceExpression{Sequence: []ast.Expression{
				&ast.NumberLiteral{Idx: id.Idx, Literal: "0", Value: int64(0)}, id}}
		}
	case *ast.ConditionalExpression:
		if e.Test, err = in.expr(e.Test, d); err == nil {
			if e.Consequent, err = in.expr(e.Consequent, d); err == nil {
				e.Alternate, err = in.expr(e.Alternate, d)
			}
		}
	case *ast.DotExpression:
		e.Left, err = in.expr(e.Left, d)
	case *ast.PrivateDotExpression:
		e.Left, err = in.expr(e.Left, d)
	case *ast.OptionalChain:
		e.Expression, err = in.expr(e.Expression, d)
	case *ast.Optional:
		e.Expression, err = in.expr(e.Expression, d)
	case *ast.FunctionLiteral:
		err = in.function(e, d)
	case *ast.ClassLiteral:
		err = in.class(e, d)
	case *ast.ArrowFunctionLiteral:
		if err = in.params(e.ParameterList, d); err != nil {
			return nil, err
		}
		switch body := e.Body.(type) {
		case *ast.BlockStatement:
			if err = in.block(body, d); err == nil {
				in.tickFunction(body)
			}
		case *ast.ExpressionBody:
			if body.Expression, err = in.expr(body.Expression, d); err == nil && !in.analyze {
				body.Expression = &ast.SequenceExpression{Sequence: []ast.Expression{tick(e.Start), body.Expression}}
			}
		}
	case *ast.NewExpression:
		if e.Callee, err = in.expr(e.Callee, d); err == nil {
			err = in.exprs(e.ArgumentList, d)
		}
	case *ast.ObjectLiteral:
		spread := false
		for _, p := range e.Value {
			if err = in.property(p, d); err != nil {
				break
			}
			_, isSpread := p.(*ast.SpreadElement)
			spread = spread || isSpread
		}
		if err == nil && spread {
			return in.checkString(e, e.Idx0()), nil // {...a, ...b} can double an object
		}
	case *ast.Identifier:
		// At the top level (and in top-level arrows) arguments would be the
		// wrapper's, which holds the hidden objects. Outside the wrapper it
		// would not exist, so refusing it costs a correct script nothing.
		if e.Name == "arguments" && in.funcs == 0 {
			return nil, in.fail(e.Idx, "arguments is not defined outside a function")
		}
	case *ast.NumberLiteral:
		if _, big := e.Value.(*big.Int); big {
			return nil, in.fail(e.Idx, "BigInt is not supported in the sandbox")
		}
	case *ast.RegExpLiteral:
		if rerr := checkRegexp(e.Pattern, e.Flags); rerr != nil {
			return nil, in.fail(e.Idx, "%v", rerr)
		}
	case *ast.SequenceExpression:
		err = in.exprs(e.Sequence, d)
	case *ast.TemplateLiteral:
		if e.Tag, err = in.expr(e.Tag, d); err == nil {
			err = in.exprs(e.Expressions, d)
		}
		if err == nil && e.Tag == nil && len(e.Expressions) > 0 {
			return in.checkString(e, e.Idx0()), nil
		}
	case *ast.UnaryExpression:
		e.Operand, err = in.expr(e.Operand, d)
	case *ast.YieldExpression:
		e.Argument, err = in.expr(e.Argument, d)
	case *ast.SpreadElement:
		e.Expression, err = in.expr(e.Expression, d)
	case *ast.PropertyShort, *ast.PropertyKeyed:
		err = in.property(e.(ast.Property), d)
	}
	if err != nil {
		return nil, err
	}
	return e, nil
}

func (in *instrumenter) property(p ast.Property, depth int) error {
	var err error
	switch p := p.(type) {
	case *ast.PropertyShort:
		p.Initializer, err = in.expr(p.Initializer, depth)
	case *ast.PropertyKeyed:
		if p.Computed {
			if p.Key, err = in.expr(p.Key, depth); err != nil {
				return err
			}
		}
		p.Value, err = in.expr(p.Value, depth)
	case *ast.SpreadElement:
		p.Expression, err = in.expr(p.Expression, depth)
	}
	return err
}

// assign instruments an assignment expression (depth is that of its children).
func (in *instrumenter) assign(e *ast.AssignExpression, depth int) (ast.Expression, error) {
	var err error
	if id, ok := e.Left.(*ast.Identifier); ok {
		if in.analyze {
			in.writes[id.Name] = append(in.writes[id.Name], e)
		}
		in.wrote(id.Name)
	} else if err = in.pattern(e.Left, depth); err != nil {
		return nil, err
	}
	if e.Right, err = in.expr(e.Right, depth); err != nil {
		return nil, err
	}
	if in.analyze {
		return e, nil
	}
	idx := e.Idx0()
	var out ast.Expression = e
	var target *ast.Expression
	switch l := e.Left.(type) {
	case *ast.BracketExpression:
		target = &l.Left
	case *ast.DotExpression:
		if l.Identifier.Name == "length" {
			target = &l.Left
		}
	}
	if target != nil {
		if _, super := (*target).(*ast.SuperExpression); !super {
			*target = setCheck("t", *target, idx)
			out = setCheck("w", e, idx)
		}
	}
	if e.Operator == token.PLUS {
		// x += n cannot build a string when x only ever holds numbers.
		if id, ok := e.Left.(*ast.Identifier); !ok || !in.numbers[id.Name] || !in.numeric(e.Right) {
			out = in.checkString(out, idx)
		}
	}
	return out, nil
}

// numeric reports whether e always evaluates to a number, BigInt or
// undefined, so a + of two such operands cannot build a string.
func (in *instrumenter) numeric(e ast.Expression) bool {
	switch e := e.(type) {
	case nil:
		return true // no initializer: undefined
	case *ast.NumberLiteral:
		return true
	case *ast.Identifier:
		return in.numbers[e.Name]
	case *ast.UnaryExpression:
		switch e.Operator {
		case token.MINUS, token.PLUS, token.BITWISE_NOT, token.INCREMENT, token.DECREMENT:
			return true
		}
	case *ast.BinaryExpression:
		switch e.Operator {
		case token.MINUS, token.MULTIPLY, token.SLASH, token.REMAINDER, token.EXPONENT,
			token.AND, token.OR, token.EXCLUSIVE_OR, token.SHIFT_LEFT, token.SHIFT_RIGHT,
			token.UNSIGNED_SHIFT_RIGHT:
			return true
		case token.PLUS:
			return in.numeric(e.Left) && in.numeric(e.Right)
		}
	case *ast.AssignExpression:
		if id, ok := e.Left.(*ast.Identifier); ok && in.numbers[id.Name] {
			return true
		}
	}
	return false
}

// numericLocals finds the names whose bindings only ever hold numbers, so
// x += 1 on them needs no string check (a counter or accumulator in a tight
// loop would otherwise pay a call into Go per iteration). The analysis is by
// name, over the whole script: a name qualifies when every declaration of
// it is a var/let/const with a numeric initializer (or none), it is never
// a parameter (sloppy arguments alias those), a destructuring, catch or
// for-in/of target, a function or class name, or a built-in global, and
// every =, += or logical assignment to it anywhere is numeric. Then every
// binding of that name holds numbers, whichever one a reference resolves
// to. The set is the greatest fixpoint: names are removed until all that
// remain are consistent. Without eval and with nothing else writes a local.
func (in *instrumenter) numericLocals(body []ast.Statement) error {
	in.analyze = true
	in.inits = make(map[unistring.String][]ast.Expression)
	in.writes = make(map[unistring.String][]*ast.AssignExpression)
	in.unsafe = make(map[unistring.String]bool)
	in.numbers = make(map[unistring.String]bool)
	defer func() { in.analyze = false }()
	for _, st := range body {
		if _, err := in.stmt(st, 1); err != nil {
			return err
		}
	}
	for name := range in.inits {
		if !in.unsafe[name] && !globalNames[string(name)] {
			in.numbers[name] = true
		}
	}
	for changed := true; changed; {
		changed = false
		for name := range in.numbers {
			ok := true
			for _, init := range in.inits[name] {
				ok = ok && in.numeric(init)
			}
			for _, w := range in.writes[name] {
				switch w.Operator {
				case token.ASSIGN, token.PLUS, token.LOGICAL_AND, token.LOGICAL_OR, token.COALESCE:
					ok = ok && in.numeric(w.Right)
				}
			}
			if !ok {
				delete(in.numbers, name)
				changed = true
			}
		}
	}
	return nil
}

// globalNames are the sandbox's globals: a local of the same name declared
// in one function does not make the global numeric in another.
var globalNames = map[string]bool{}

func init() {
	for _, n := range strings.Fields(`Object Function Array String Number BigInt RegExp Date Boolean Proxy
		Reflect Error AggregateError TypeError ReferenceError SyntaxError RangeError EvalError URIError
		Math JSON Symbol WeakSet WeakMap Map Set Promise globalThis NaN undefined Infinity isNaN parseInt
		parseFloat isFinite decodeURI decodeURIComponent encodeURI encodeURIComponent escape unescape
		ArrayBuffer DataView Int8Array Uint8Array Uint8ClampedArray Int16Array Uint16Array Int32Array
		Uint32Array Float32Array Float64Array BigInt64Array BigUint64Array console eval GoError`) {
		globalNames[n] = true
	}
}
