package executor

import (
	"errors"
	"fmt"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
	"github.com/dop251/goja/parser"

	"github.com/picloud/picloud/shared"
)

// MaxSourceSize is the largest script source accepted (SPEC §3: 413 over 256 KiB).
const MaxSourceSize = 256 << 10

// Program is a compiled, instrumented script. It is safe for concurrent use
// and runs on any of the Executor's pooled runtimes.
type Program struct {
	ScriptID, Version int64

	prg   *goja.Program
	shape entryShape // which entry functions it has, and whether they see env
	req   reqFields  // the properties of req the script can observe
	reuse bool       // the top-level functions are kept across runs (reusable)
}

// Has reports whether the script defines e's function (handle or
// scheduled): a route needs handle, a schedule scheduled.
func (p *Program) Has(e Entry) bool { return p.shape.has(e) }

type cacheKey struct{ id, version int64 }

// Compile parses, checks, instruments and compiles source. Errors are
// *shared.Error: 413 too_large, 422 script_syntax (with line and column) or
// 422 validation_failed (field "source"). Programs are cached by (scriptID,
// version); scriptID 0 is never cached, for save-time checks. The cache key
// ignores limits: only max_expr_depth matters at compile time, and a version
// bump comes with every change of the script, so callers pass the same limits
// for one version.
func (e *Executor) Compile(scriptID, version int64, source string, limits shared.Limits) (*Program, error) {
	key := cacheKey{scriptID, version}
	if scriptID != 0 {
		e.mu.Lock()
		p, ok := e.cache[key]
		e.mu.Unlock()
		if ok {
			return p, nil
		}
	}
	p, err := compile(source, limits, true)
	if err != nil {
		return nil, err
	}
	p.ScriptID, p.Version = scriptID, version
	if scriptID != 0 {
		e.mu.Lock()
		// A newer version replaces older ones of the same script, so the cache
		// holds one entry per live script.
		for k := range e.cache {
			if k.id == scriptID && k.version != version {
				delete(e.cache, k)
			}
		}
		if old, ok := e.cache[key]; ok {
			p = old
		} else {
			e.cache[key] = p
		}
		e.mu.Unlock()
	}
	return p, nil
}

// Forget drops the cached programs of a script (e.g. after it was deleted).
func (e *Executor) Forget(scriptID int64) {
	e.mu.Lock()
	for k := range e.cache {
		if k.id == scriptID {
			delete(e.cache, k)
		}
	}
	e.mu.Unlock()
}

// janitor drops the idle runtimes once nothing has run for idleTimeout. It
// runs while some runtime is idle.
func (e *Executor) janitor() {
	t := time.NewTicker(e.idleTimeout / 4)
	defer t.Stop()
	for range t.C {
		if time.Now().Add(-e.idleTimeout).UnixNano() < e.lastRun.Load() {
			continue
		}
		for drained := false; !drained; {
			select {
			case <-e.idle:
			default:
				drained = true
			}
		}
		e.janitorRunning.Store(false)
		return
	}
}

// watchIdle makes sure the janitor runs. (A run that pools a runtime just
// as the janitor exits starts it again on the next run.)
func (e *Executor) watchIdle() {
	if e.janitorRunning.CompareAndSwap(false, true) {
		go e.janitor()
	}
}

// compile makes a Program without identity. allowReuse false keeps the
// per-request top level even for reusable programs (for tests).
func compile(source string, limits shared.Limits, allowReuse bool) (*Program, error) {
	if len(source) > MaxSourceSize {
		return nil, shared.Errorf(shared.CodeTooLarge,
			"source is larger than %d bytes", MaxSourceSize).With("field", "source").With("limit", MaxSourceSize)
	}
	maxDepth := int(limits.MaxExprDepth)
	if maxDepth <= 0 {
		maxDepth = int(shared.DefaultLimits().MaxExprDepth)
	}
	if line, col, deep := scanNesting(source, maxDepth); deep {
		return nil, tooDeep(maxDepth, line, col)
	}
	astPrg, err := parse(source)
	if err != nil {
		return nil, err
	}
	// The analyses read the tree before instrumenting rewrites it.
	shape, err := entryShapeOf(astPrg)
	if err != nil {
		return nil, err
	}
	// goja's compiler finds some early errors (while (0) function f() {},
	// a regexp literal's bad flags) that instrumenting would hide, by
	// wrapping a loop body in a block or the literal in a call: the
	// script as written must compile first.
	if _, err := goja.CompileAST(astPrg, false); err != nil {
		return nil, syntaxError(err)
	}
	p := &Program{shape: shape, req: requestUse(astPrg), reuse: allowReuse && reusable(astPrg)}
	in := &instrumenter{file: astPrg.File, maxDepth: maxDepth}
	wrapped, err := in.program(astPrg, p.reuse, shape)
	if err != nil {
		return nil, err
	}
	if p.prg, err = goja.CompileAST(wrapped, false); err != nil {
		return nil, syntaxError(err)
	}
	return p, nil
}

// parse parses source. goja's parser panics on some malformed sources
// (function 08[...0( slices out of range): those are syntax errors too.
func parse(source string) (prg *ast.Program, err error) {
	defer func() {
		if x := recover(); x != nil {
			prg, err = nil, scriptSyntax("the source cannot be parsed", file.Position{})
		}
	}()
	prg, err = parser.ParseFile(nil, "script.js", source, 0, parser.WithDisableSourceMaps)
	if err != nil {
		return nil, syntaxError(err)
	}
	return prg, nil
}

func tooDeep(max, line, col int) *shared.Error {
	return shared.Validation("source", "source is nested deeper than max_expr_depth (%d) at line %d, column %d", max, line, col).
		With("line", line).With("column", col).With("limit", shared.KnobMaxExprDepth)
}

// syntaxError turns a parser or compiler error into 422 script_syntax.
func syntaxError(err error) error {
	var list parser.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		return scriptSyntax(list[0].Message, list[0].Position)
	}
	var pe *parser.Error
	if errors.As(err, &pe) {
		return scriptSyntax(pe.Message, pe.Position)
	}
	var ce *goja.CompilerSyntaxError
	if errors.As(err, &ce) {
		var pos file.Position
		if ce.File != nil {
			pos = ce.File.Position(ce.Offset)
		}
		return scriptSyntax(ce.Message, pos)
	}
	return shared.Errorf(shared.CodeScriptSyntax, "%v", err).
		With("line", 0).With("column", 0)
}

func scriptSyntax(msg string, pos file.Position) *shared.Error {
	return shared.Errorf(shared.CodeScriptSyntax,
		"%s (line %d, column %d)", msg, pos.Line, pos.Column).
		With("line", pos.Line).With("column", pos.Column)
}

// position of idx for error messages.
func (in *instrumenter) position(idx file.Idx) file.Position {
	if in.file == nil || idx <= 0 {
		return file.Position{}
	}
	return in.file.Position(int(idx) - in.file.Base())
}

func (in *instrumenter) fail(idx file.Idx, format string, args ...any) error {
	pos := in.position(idx)
	return shared.Validation("source", "%s (line %d, column %d)", fmt.Sprintf(format, args...), pos.Line, pos.Column).
		With("line", pos.Line).With("column", pos.Column)
}
