package executor

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"

	"github.com/picloud/picloud/shared"
)

// maxOutput caps the console output kept per execution (SPEC §2).
const maxOutput = 64 << 10

//go:embed prelude.js
var preludeSource string

var preludeProgram = goja.MustCompile("prelude.js", preludeSource, true)

// sandbox is one prepared goja runtime: built-ins wrapped and frozen, hidden
// natives installed. It belongs to no script: every run loads its program's
// entry function afresh. It serves one request at a time and goes back to
// the Executor's pool only after a clean run.
type sandbox struct {
	rt      *goja.Runtime
	natives []goja.Value  // %tick and %chk, the wrapper's first parameters
	args    []goja.Value  // the entry's arguments, reused by every call
	flush   goja.Callable // a no-op call: runs the pending promise jobs
	reader  goja.Callable // calls reading: see guard
	reading func()
	// responseResult turns a Response handle returned into a result
	// (fetch.go).
	responseResult goja.Callable
	responseProto  *goja.Object
	run            *runState // the current execution; nil between runs

	regexpSource goja.Callable // RegExp.prototype.source's getter (checkRegexpMade)
	regexpFlags  []regexpFlag
	// nativeLooking are the prelude's stand-ins for built-ins, which
	// Function.prototype.toString shows as native code.
	nativeLooking map[*goja.Object]bool

	getOwnDescriptor goja.Callable // Object.getOwnPropertyDescriptor
	hasOwn           goja.Callable // Object.prototype.hasOwnProperty

	jsonStringify goja.Callable              // the original JSON.stringify
	funcToString  goja.Callable              // Function.prototype.toString
	ownEnumerable goja.Callable              // Object.prototype.propertyIsEnumerable
	requestProto  *goja.Object               // prototype of req: json()
	headersGet    goja.Value                 // accessor of req.headers (getHeaders)
	headersSet    goja.Value                 // and its setter (setHeaders)
	textHeader    http.Header                // a string response's header, shared and read-only
	jsonHeader    http.Header                // a JSON response's
	objectProto   *goja.Object               // Object.prototype
	kvProto       *goja.Object               // env.KV's prototype, made on first use (kv.go)
	regexps       map[string]compiledRegexp  // by flags + "/" + source
	entries       map[*Program]goja.Callable // see load
	joining       map[*goja.Object]bool      // arrays being joined: cycles join as ""

	symbolKeys  map[string]struct{} // Symbol.for keys registered in this runtime
	symbolBytes int                 // their size, see noteSymbol
	retire      bool                // do not reuse after this run
}

// runState is what one execution accumulates.
type runState struct {
	sb       *sandbox
	limits   shared.Limits
	bindings *Bindings // the app's, see install; nil when none

	exec    *Executor
	slot    chan struct{} // the run slot held (e.slots or e.extra); nil while waiting
	loop    *loop         // the event loop, once the run started Go work (loop.go)
	fetch   *fetchRun     // fetches of the run, once it made one (fetch.go)
	kvCalls int           // KV calls the script made (kv.go)

	// The run ends at deadline (timeout_ms) or when ctx ends. The run checks
	// both itself once every clockEvery operations, from the first one on;
	// the fence checks runs stuck in native code.
	ctx       context.Context
	deadline  time.Time
	nextClock int64

	ops   int64
	limit atomic.Pointer[LimitError]
	mu    sync.Mutex // orders interrupts against the end of the run
	done  bool

	out       strings.Builder
	truncated bool

	regexps map[*goja.Object]regexpInfo // per RegExp object used in this run

	req     *goja.Object // req, while its headers are not built (getHeaders)
	header  http.Header  // the request's headers
	headers *goja.Object // req.headers, once built

	targets []*goja.Object       // objects of pending index/length writes
	counts  map[*goja.Object]int // upper bound of own properties per object written to
}

// stop interrupts the script with knob unless it already stopped or ended.
// Safe from any goroutine.
func (rs *runState) stop(knob string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.done {
		return
	}
	le := &LimitError{Knob: knob}
	if rs.limit.CompareAndSwap(nil, le) {
		rs.sb.rt.Interrupt(le)
		if rs.loop != nil {
			rs.loop.wake <- struct{}{} // buffered; sent once per run
		}
	}
}

func (rs *runState) stopped() bool { return rs.limit.Load() != nil }

// clockEvery is how many operations a run does between two looks at its
// clock and context: a tight loop overruns its deadline by at most that
// many (tens of microseconds), and short runs never look.
const clockEvery = 1024

// tick counts n operations and enforces max_operations, and the deadline
// and cancellation every clockEvery operations.
func (rs *runState) tick(n int64) {
	rs.ops += n
	if rs.ops > rs.limits.MaxOperations {
		rs.stop(shared.KnobMaxOperations)
	}
	if rs.ops >= rs.nextClock {
		rs.nextClock = rs.ops + clockEvery
		rs.checkClock(time.Now())
	}
}

// overdue reports whether the run is past its deadline or its context
// ended. Safe from any goroutine.
func (rs *runState) overdue(now time.Time) bool {
	return now.After(rs.deadline) || rs.ctx.Err() != nil
}

// checkClock stops the run when it is overdue: a deadline, the request's
// included, is the timeout_ms knob; a cancellation is reported as such.
func (rs *runState) checkClock(now time.Time) {
	switch {
	case now.After(rs.deadline):
		rs.stop(shared.KnobTimeoutMS)
	case rs.ctx.Err() == nil:
	case errors.Is(context.Cause(rs.ctx), context.DeadlineExceeded):
		rs.stop(shared.KnobTimeoutMS)
	default:
		rs.stop(knobCancelled)
	}
}

// end detaches the run from its runtime, after finish: from here on no
// host function finds this run's bindings (they read sb.run), and the Go
// work still outstanding is cancelled; its completions are never applied.
func (rs *runState) end() {
	if rs.loop != nil {
		rs.loop.cancel()
	}
	rs.bindings = nil
	rs.sb.run = nil
}

// releaseSlot gives the run's slot back, if it holds one.
func (rs *runState) releaseSlot() {
	if rs.slot != nil {
		<-rs.slot
		rs.slot = nil
	}
}

// finish marks the run as over: later stop calls do nothing.
func (rs *runState) finish() {
	rs.mu.Lock()
	rs.done = true
	rs.mu.Unlock()
}

func (rs *runState) log(line string) {
	if rs.truncated {
		return
	}
	room := maxOutput - rs.out.Len()
	if len(line)+1 > room {
		const mark = "…(output truncated)\n"
		if keep := room - len(mark); keep > 0 {
			rs.out.WriteString(truncateUTF8(line, keep))
		}
		rs.out.WriteString(mark)
		rs.truncated = true
		return
	}
	rs.out.WriteString(line)
	rs.out.WriteByte('\n')
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// newSandbox builds a hardened runtime. Each of extra installs more
// globals before everything is frozen (the test262 runner's host object).
func newSandbox(extra ...func(*sandbox) error) (*sandbox, error) {
	rt := goja.New()
	sb := &sandbox{rt: rt}
	g := rt.GlobalObject()

	sb.jsonStringify, _ = goja.AssertFunction(g.Get("JSON").ToObject(rt).Get("stringify"))
	sb.getOwnDescriptor, _ = goja.AssertFunction(g.Get("Object").ToObject(rt).Get("getOwnPropertyDescriptor"))
	sb.hasOwn, _ = goja.AssertFunction(g.Get("Object").ToObject(rt).Get("prototype").ToObject(rt).Get("hasOwnProperty"))
	sb.funcToString, _ = goja.AssertFunction(g.Get("Function").ToObject(rt).Get("prototype").ToObject(rt).Get("toString"))

	if err := sb.wrapBuiltins(); err != nil {
		return nil, fmt.Errorf("wrap built-ins: %w", err)
	}
	for _, install := range extra {
		if err := install(sb); err != nil {
			return nil, err
		}
	}

	if err := sb.installWeb(g); err != nil {
		return nil, err
	}

	// The prelude puts the constructor guards in place, removes dynamic
	// code (eval, Function), installs console and freezes everything.
	v, err := rt.RunProgram(preludeProgram)
	if err != nil {
		return nil, fmt.Errorf("prelude: %w", err)
	}
	setup, _ := goja.AssertFunction(v.ToObject(rt).Get("setup"))
	natives := rt.NewObject()
	guards, err := sb.guardConstructors()
	if err != nil {
		return nil, fmt.Errorf("guard constructors: %w", err)
	}
	if err := sb.keepRegexpAccessors(); err != nil {
		return nil, fmt.Errorf("regexp accessors: %w", err)
	}
	if err := natives.Set("guards", guards); err != nil {
		return nil, err
	}
	if err := natives.Set("log", sb.consoleLog); err != nil {
		return nil, err
	}
	if err := natives.Set("native", sb.markNative); err != nil {
		return nil, err
	}
	if err := natives.Set("tame", sb.tameProperty); err != nil {
		return nil, err
	}
	if err := sb.installToString(); err != nil {
		return nil, fmt.Errorf("Function.prototype.toString: %w", err)
	}
	sb.requestProto = rt.NewObject()
	sb.objectProto = sb.object("Object", "prototype")
	if err := sb.requestProto.Set("json", sb.requestJSON); err != nil {
		return nil, err
	}
	if err := sb.installFetch(); err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	if _, err := setup(goja.Undefined(), g, natives, sb.requestProto); err != nil {
		return nil, fmt.Errorf("prelude setup: %w", err)
	}

	// The accessor's functions are shared by every run of this runtime:
	// frozen, no script can leave anything on them.
	freeze, _ := goja.AssertFunction(sb.object("Object").Get("freeze"))
	sb.headersGet, sb.headersSet = rt.ToValue(sb.getHeaders), rt.ToValue(sb.setHeaders)
	for _, f := range []goja.Value{sb.headersGet, sb.headersSet} {
		if _, err := freeze(goja.Undefined(), f); err != nil {
			return nil, fmt.Errorf("freeze the headers accessor: %w", err)
		}
	}

	sb.textHeader = http.Header{"Content-Type": {contentTypeText}}
	sb.jsonHeader = http.Header{"Content-Type": {contentTypeJSON}}

	sb.flush, _ = goja.AssertFunction(rt.ToValue(func(goja.FunctionCall) goja.Value { return goja.Undefined() }))
	sb.reader, _ = goja.AssertFunction(rt.ToValue(func(goja.FunctionCall) goja.Value {
		sb.reading()
		return goja.Undefined()
	}))
	sb.ownEnumerable, _ = goja.AssertFunction(sb.objectProto.Get("propertyIsEnumerable"))
	sb.natives = []goja.Value{rt.NewDynamicObject(ticker{sb}), rt.NewDynamicObject(checker{sb})}
	return sb, nil
}

// load returns p's entry function, which returns what handle(req) or
// scheduled(event) returns; call calls it. Evaluating the program only creates a function (nothing
// global is declared), and every call of the entry starts from nothing the
// runtime's earlier runs, of any script, made: it runs the script's top
// level in a fresh scope, or, for a reusable program, calls into the
// top-level functions made when it was loaded, which no run can tell from
// fresh ones (see reusable). No script can reach the entry itself
// (top-level arguments is refused, and goja has no Function.caller), so it
// is made once per runtime and program and kept in a small cache.
func (sb *sandbox) load(p *Program) (goja.Callable, error) {
	if fn, ok := sb.entries[p]; ok {
		return fn, nil
	}
	fn, err := sb.makeEntry(p)
	if err != nil {
		return nil, err
	}
	if len(sb.entries) >= maxEntries || sb.entries == nil {
		// Dropping all at once keeps the cache trivial; old versions'
		// programs are not kept alive for long.
		sb.entries = make(map[*Program]goja.Callable)
	}
	sb.entries[p] = fn
	return fn, nil
}

// makeEntry evaluates p to its entry function. A reusable program
// evaluates to a function that makes the top-level functions over this
// runtime's hidden objects and returns the entry.
func (sb *sandbox) makeEntry(p *Program) (goja.Callable, error) {
	v, err := sb.rt.RunProgram(p.prg)
	if err != nil {
		return nil, err
	}
	fn, ok := goja.AssertFunction(v)
	if ok && p.reuse {
		if v, err = fn(goja.Undefined(), sb.natives...); err != nil {
			return nil, err
		}
		fn, ok = goja.AssertFunction(v)
	}
	if !ok {
		return nil, fmt.Errorf("program did not produce its entry function")
	}
	return fn, nil
}

// call runs entry, p's entry function, for one run: with the hidden
// objects unless p is reusable, then the parameters of p's entry shape
// (entryShape.params). goja copies the arguments onto its stack, so one
// slice serves every call.
func (sb *sandbox) call(p *Program, entry goja.Callable, arg, env goja.Value, e Entry) (goja.Value, error) {
	args := sb.args[:0]
	if !p.reuse {
		args = append(args, sb.natives...)
	}
	args = append(args, arg)
	if s := p.shape; s.handleEnv || s.scheduledEnv {
		args = append(args, env)
	}
	if s := p.shape; s.handle && s.scheduled {
		args = append(args, sb.rt.ToValue(e == EntryScheduled))
	}
	sb.args = args
	v, err := entry(goja.Undefined(), args...)
	clear(args) // keep nothing of this run alive from Go
	return v, err
}

// maxEntries bounds the entry functions a runtime keeps.
const maxEntries = 64

// ticker is %tick: reading any property costs one operation.
type ticker struct{ sb *sandbox }

func (t ticker) Get(string) goja.Value {
	t.sb.run.tick(1)
	return goja.Undefined()
}
func (ticker) Set(string, goja.Value) bool { return false }
func (ticker) Has(string) bool             { return false }
func (ticker) Delete(string) bool          { return true }
func (ticker) Keys() []string              { return nil }

// checker is %chk. Writing a property checks the value written:
//
//	s: a string (+, +=, templates) or the array or object of a spread literal;
//	t: the object an index or length write is about to write to;
//	w: after that write, the object of the innermost pending t.
//
// A write that threw leaves its target behind; w still checks the most
// recent one, which is the one just written, and checkTargets checks any
// leftovers at the end of the run.
type checker struct{ sb *sandbox }

func (c checker) Set(key string, v goja.Value) bool {
	sb := c.sb
	switch key {
	case "s":
		sb.checkValue(v)
	case "t":
		if o, ok := v.(*goja.Object); ok {
			sb.run.targets = append(sb.run.targets, o)
		}
	case "w":
		rs := sb.run
		if n := len(rs.targets); n > 0 {
			o := rs.targets[n-1]
			rs.targets = rs.targets[:n-1]
			sb.checkObject(o, true)
		}
	}
	return true
}
func (checker) Get(string) goja.Value { return goja.Undefined() }

// Has claims every key so goja never consults the prototype on a write,
// where a setter could intercept the value.
func (checker) Has(string) bool    { return true }
func (checker) Delete(string) bool { return true }
func (checker) Keys() []string     { return nil }

// charge costs n operations, for built-in work proportional to data size.
func (rs *runState) charge(n int64) { rs.tick(n) }

func (sb *sandbox) checkTargets() {
	for _, o := range sb.run.targets {
		sb.checkObject(o, false)
	}
	sb.run.targets = sb.run.targets[:0]
}

// checkObject enforces max_array_size on arrays and max_map_size on other
// objects. Counting an object's keys is O(n), so the run keeps an upper
// bound per object (count at first sight, +1 per write) and recounts only
// when the bound passes the limit; a recount costs operations.
func (sb *sandbox) checkObject(o *goja.Object, wrote bool) {
	rs := sb.run
	if o = proxyTarget(o); o == nil {
		return
	}
	switch o.ClassName() {
	case "Array":
		if toLength(o.Get("length")) > rs.limits.MaxArraySize {
			rs.stop(shared.KnobMaxArraySize)
		}
		return
	case "Map", "Set":
		if toLength(o.Get("size")) > rs.limits.MaxMapSize {
			rs.stop(shared.KnobMaxMapSize)
		}
		return
	case "String":
		return
	}
	if rs.counts == nil {
		rs.counts = make(map[*goja.Object]int)
	}
	n, seen := rs.counts[o]
	if !seen {
		n = len(o.GetOwnPropertyNames())
		rs.charge(int64(n / 16))
	} else if wrote {
		n++
	}
	if int64(n) > rs.limits.MaxMapSize {
		n = len(o.GetOwnPropertyNames()) + len(o.Symbols())
		rs.charge(int64(n / 16))
		if int64(n) > rs.limits.MaxMapSize {
			rs.stop(shared.KnobMaxMapSize)
		}
	}
	rs.counts[o] = n
}

var proxyType = reflect.TypeOf(goja.Proxy{})

// proxyTarget is the innermost target of o when o is a proxy (nil when one
// in the chain is revoked), else o. A proxy holds nothing of its own, and
// asking it would run its traps, which the script could observe.
func proxyTarget(o *goja.Object) *goja.Object {
	for depth := 0; o != nil && o.ExportType() == proxyType; depth++ {
		if depth >= maxNesting {
			return nil // refused when made (checkProxy)
		}
		o = o.Export().(goja.Proxy).Target()
	}
	return o
}

// checkValue checks a value a built-in produced: a string's length, an
// array's length, an object's property count.
func (sb *sandbox) checkValue(v goja.Value) {
	switch v := v.(type) {
	case goja.String:
		if int64(v.Length()) > sb.run.limits.MaxStringSize {
			sb.run.stop(shared.KnobMaxStringSize)
		}
	case *goja.Object:
		sb.checkObject(v, false)
	}
}

func toLength(v goja.Value) int64 {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return 0
	}
	f := v.ToFloat()
	if f != f || f <= 0 {
		return 0
	}
	if f > 1<<53 {
		return 1 << 53
	}
	return int64(f)
}

func (sb *sandbox) checkArrayLen(call goja.FunctionCall) goja.Value {
	if sb.run == nil {
		return goja.Undefined()
	}
	if toLength(call.Argument(0)) > sb.run.limits.MaxArraySize {
		sb.run.stop(shared.KnobMaxArraySize)
	}
	return goja.Undefined()
}

// checkArrayArgs checks the first argument of a typed array constructor
// when it is a length (buildTypedArray checks an object's).
func (sb *sandbox) checkArrayArgs(call goja.FunctionCall) goja.Value {
	if sb.run != nil && toLength(call.Argument(0)) > sb.run.limits.MaxArraySize {
		sb.run.stop(shared.KnobMaxArraySize)
	}
	return goja.Undefined()
}

// checkProxy refuses a proxy whose target chain is deeper than maxNesting:
// goja forwards trapless operations down the chain recursively in Go.
func (sb *sandbox) checkProxy(call goja.FunctionCall) goja.Value {
	o, _ := call.Argument(0).(*goja.Object)
	for depth := 0; o != nil; depth++ {
		if depth >= maxNesting {
			sb.throw("RangeError", errTooNested)
		}
		p, ok := o.Export().(goja.Proxy)
		if !ok {
			break
		}
		o = p.Target()
	}
	return goja.Undefined()
}

// checkBytes bounds ArrayBuffer sizes: max_array_size elements of 8 bytes.
func (sb *sandbox) checkBytes(call goja.FunctionCall) goja.Value {
	if sb.run == nil {
		return goja.Undefined()
	}
	if toLength(call.Argument(0)) > 8*sb.run.limits.MaxArraySize {
		sb.run.stop(shared.KnobMaxArraySize)
	}
	return goja.Undefined()
}

// consoleLog(level, args) appends one console line.
func (sb *sandbox) consoleLog(call goja.FunctionCall) goja.Value {
	if sb.run == nil {
		return goja.Undefined()
	}
	rs := sb.run
	if rs.stopped() || rs.truncated {
		return goja.Undefined()
	}
	level := call.Argument(0).String()
	var b strings.Builder
	if level == "warn" || level == "error" {
		b.WriteString(level)
		b.WriteString(": ")
	}
	args, _ := call.Argument(1).(*goja.Object)
	if args != nil {
		n := int(toLength(args.Get("length")))
		for i := 0; i < n && b.Len() < maxOutput; i++ {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(truncateUTF8(sb.format(args.Get(fmt.Sprint(i))), maxOutput))
		}
	}
	rs.log(b.String())
	return goja.Undefined()
}

// format renders a console argument: strings as they are, objects as JSON
// when they can be, everything else as String(v) would.
func (sb *sandbox) format(v goja.Value) string {
	switch v := v.(type) {
	case goja.String:
		b, _ := utf8Of(v, maxOutput) // no more of a long string than is kept
		return string(b)
	case *goja.Object:
		switch v.ClassName() {
		case "Function", "Error", "RegExp", "Date":
			return v.String()
		}
		// Printing must not stop the script: anything that would not fit in
		// the output cap is shown by its class instead.
		if es := sb.newEstimator(0); es.json(v, maxOutput, 1) > maxOutput || es.tooDeep {
			return "[" + v.ClassName() + " too large to print]"
		}
		if s, err := sb.jsonStringify(goja.Undefined(), v); err == nil && s != nil && !goja.IsUndefined(s) {
			return s.String()
		}
		return v.String()
	}
	if v == nil {
		return "undefined"
	}
	return v.String()
}

// throw raises a JavaScript error of the named built-in type.
func (sb *sandbox) throw(ctor string, err error) {
	obj, nerr := sb.rt.New(sb.rt.GlobalObject().Get(ctor), sb.rt.ToValue(err.Error()))
	if nerr != nil {
		panic(sb.rt.NewGoError(err))
	}
	panic(obj)
}
