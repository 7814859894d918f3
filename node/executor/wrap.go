package executor

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/dop251/goja"

	"github.com/picloud/picloud/shared"
)

// Built-ins that allocate in native code are wrapped so sizes are checked
// before the allocation where the arguments tell the size (repeat, padStart,
// join, push, concat, Array.from, Map.set, JSON.stringify, ...) and right
// after it otherwise. A wrapper that finds a limit exceeded interrupts the
// script and returns without calling the original, so the allocation never
// happens; the interrupt then fires at the script's next instruction.

// pre inspects a call before the original runs; false skips the original.
type pre func(rs *runState, call goja.FunctionCall) bool

// wrap replaces obj[name] by a checking wrapper. post checks the result.
func (sb *sandbox) wrap(obj *goja.Object, name string, before pre, post bool) error {
	orig, ok := goja.AssertFunction(obj.Get(name))
	if !ok {
		return nil // not in this goja version
	}
	fn := func(call goja.FunctionCall) goja.Value {
		// goja's new Map(iterable) passes nil for an entry's missing key
		// or value when Map.prototype.set is not its own (new Map([[]])).
		for i, a := range call.Arguments {
			if a == nil {
				call.Arguments[i] = goja.Undefined()
			}
		}
		rs := sb.run
		if rs != nil {
			if rs.stopped() {
				return goja.Undefined()
			}
			if before != nil && !before(rs, call) {
				return goja.Undefined()
			}
		}
		v, err := orig(call.This, call.Arguments...)
		if err != nil {
			panic(err) // rethrows a JS exception, or passes an interrupt on
		}
		if post && rs != nil {
			sb.checkValue(v)
		}
		return v
	}
	return obj.DefineDataProperty(name, sb.replacement(obj, name, fn), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

// replacement makes fn the stand-in for obj[name]: the same name and
// length, so it prints and reflects as the built-in it replaces.
func (sb *sandbox) replacement(obj *goja.Object, name string, fn func(goja.FunctionCall) goja.Value) goja.Value {
	length := 0
	if o, ok := obj.Get(name).(*goja.Object); ok {
		length = int(toLength(o.Get("length")))
	}
	return sb.native(name, length, fn)
}

// symbolBudget bounds the Symbol.for keys (bytes, plus symbolOverhead
// each) a runtime may accumulate before it is retired.
const (
	symbolBudget   = 256 << 10
	symbolOverhead = 64
)

// noteSymbol records a Symbol.for key; a key seen before costs nothing.
func (sb *sandbox) noteSymbol(k string) {
	if k != "" {
		if _, seen := sb.symbolKeys[k]; seen {
			return
		}
		if sb.symbolKeys == nil {
			sb.symbolKeys = make(map[string]struct{})
		}
		if sb.symbolBytes+len(k) <= symbolBudget {
			sb.symbolKeys[k] = struct{}{}
		}
	}
	sb.symbolBytes += len(k) + symbolOverhead
	if sb.symbolBytes > symbolBudget {
		sb.retire = true
	}
}

func (sb *sandbox) object(path ...string) *goja.Object {
	o := sb.rt.GlobalObject()
	for _, p := range path {
		v := o.Get(p)
		if v == nil {
			return nil
		}
		o = v.ToObject(sb.rt)
	}
	return o
}

// strLen is the length of v if it is a primitive string, else -1.
func strLen(v goja.Value) int64 {
	if s, ok := v.(goja.String); ok {
		return int64(s.Length())
	}
	return -1
}

// thisLen is the length of an array-like receiver.
func thisLen(call goja.FunctionCall) int64 {
	if o, ok := call.This.(*goja.Object); ok {
		return toLength(o.Get("length"))
	}
	if l := strLen(call.This); l >= 0 {
		return l
	}
	return 0
}

func (sb *sandbox) wrapBuiltins() error {
	in := &installer{sb: sb}
	in.arrays()
	in.strings()
	in.objects()
	in.collections()
	in.json()
	return in.err
}

// installer wraps and replaces built-ins family by family (wrap_*.go),
// keeping the first error.
type installer struct {
	sb  *sandbox
	err error
}

// wrap is sandbox.wrap for a built-in that may be missing (nil obj).
func (in *installer) wrap(obj *goja.Object, name string, before pre, post bool) {
	if obj == nil {
		return
	}
	in.keep(in.sb.wrap(obj, name, before, post))
}

// define replaces obj[name] by fn, shaped like the original.
func (in *installer) define(obj *goja.Object, name string, fn func(goja.FunctionCall) goja.Value) {
	if obj == nil {
		return
	}
	in.keep(obj.DefineDataProperty(name, in.sb.replacement(obj, name, fn), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE))
}

func (in *installer) keep(err error) {
	if err != nil && in.err == nil {
		in.err = err
	}
}

// fitsArray and fitsString stop the run when n exceeds its knob.
func fitsArray(rs *runState, n int64) bool {
	if n > rs.limits.MaxArraySize {
		rs.stop(shared.KnobMaxArraySize)
		return false
	}
	return true
}

func fitsString(rs *runState, n int64) bool {
	if n > rs.limits.MaxStringSize {
		rs.stop(shared.KnobMaxStringSize)
		return false
	}
	return true
}

func (sb *sandbox) typedArrayProto() *goja.Object {
	u8 := sb.object("Uint8Array")
	if u8 == nil {
		return nil
	}
	if p := u8.Prototype(); p != nil { // %TypedArray%
		if v := p.Get("prototype"); v != nil {
			return v.ToObject(sb.rt)
		}
	}
	return nil
}

// stringify is JSON.stringify with the output size estimated first, so an
// object graph that would serialise to gigabytes is refused before goja
// builds the string. Values with toJSON or a replacer function are
// estimated as empty and checked after.
func (sb *sandbox) stringify(v, replacer, space goja.Value) (goja.Value, error) {
	rs := sb.run
	if rs != nil {
		if rs.stopped() {
			return goja.Undefined(), nil
		}
		indent := int64(0)
		if s := strLen(space); s > 0 {
			indent = min(s, 10)
		} else if space != nil && !goja.IsUndefined(space) && !goja.IsNull(space) {
			// Only a number indents: a symbol or boolean is ignored (and
			// converting a symbol would throw).
			if isNumber(space) {
				indent = min(max(toLength(space), 0), 10)
			}
		}
		budget := rs.limits.MaxStringSize
		es := sb.newEstimator(indent)
		est := es.json(v, budget, 1)
		if es.tooDeep {
			sb.throw("RangeError", errTooNested)
		}
		if est > budget {
			rs.stop(shared.KnobMaxStringSize)
			return goja.Undefined(), nil
		}
	}
	if rs != nil {
		if _, isList := replacer.(*goja.Object); !isList || isFunction(replacer) {
			replacer = sb.rt.ToValue(sb.sizedReplacer(rs, replacer))
		}
	}
	out, err := sb.jsonStringify(goja.Undefined(), v, replacer, space)
	if err != nil {
		return nil, err
	}
	if rs != nil {
		sb.checkValue(out)
	}
	return out, nil
}

func isFunction(v goja.Value) bool {
	_, ok := goja.AssertFunction(v)
	return ok
}

// sizedReplacer wraps a JSON.stringify replacer function (or none) in one
// that keeps a running total of the output and stops the script when it
// passes max_string_size. goja calls it for every value after toJSON, so
// values the estimate could not see (a native toJSON returning a big
// string, 100,000 times) are counted before they are appended; once the
// script is stopped every value becomes undefined and goja finishes fast.
func (sb *sandbox) sizedReplacer(rs *runState, user goja.Value) func(goja.FunctionCall) goja.Value {
	fn, hasUser := goja.AssertFunction(user)
	total := int64(0)
	return func(call goja.FunctionCall) goja.Value {
		if rs.stopped() {
			return goja.Undefined()
		}
		key, val := call.Argument(0), call.Argument(1)
		if hasUser {
			v, err := fn(call.This, key, val)
			if err != nil {
				panic(err)
			}
			val = v
		}
		total += int64(len(key.String())) + 4
		switch x := val.(type) {
		case goja.String:
			total += int64(x.Length()) + 2
		case *goja.Object:
			total += 2 // its members come through here one by one
		default:
			if !goja.IsUndefined(x) {
				total += int64(len(x.String()))
			}
		}
		if total > rs.limits.MaxStringSize {
			rs.stop(shared.KnobMaxStringSize)
			return goja.Undefined()
		}
		return val
	}
}

// maxNesting bounds the nesting of arrays and objects that built-ins walk
// recursively in native code (join/toString, JSON.stringify, flat). goja
// recurses on the Go stack for each level and cannot be interrupted there:
// 200,000 nested arrays took 15 s and 512 MB of stack to join in our
// measurements, and a few times that would kill the process. Deeper data
// is refused with a RangeError before the built-in starts.
const maxNesting = 1000

var errTooNested = errors.New("value is nested deeper than 1000 levels")

// estimator computes lower bounds of output sizes, walking the value graph
// the way the built-in will. path holds the objects on the current branch,
// so a cycle (which the built-in handles or rejects itself) is not mistaken
// for depth.
type estimator struct {
	sb      *sandbox
	indent  int64
	path    map[*goja.Object]bool
	tooDeep bool
}

func (sb *sandbox) newEstimator(indent int64) *estimator {
	return &estimator{sb: sb, indent: indent, path: make(map[*goja.Object]bool)}
}

// enter reports whether o should be walked at depth.
func (es *estimator) enter(o *goja.Object, depth int) bool {
	if es.path[o] {
		return false // a cycle
	}
	if depth > maxNesting {
		es.tooDeep = true
		return false
	}
	es.path[o] = true
	return true
}

// json is a lower bound of the JSON length of v, computed until it passes
// budget.
func (es *estimator) json(v goja.Value, budget int64, depth int) int64 {
	switch v := v.(type) {
	case nil:
		return 0
	case goja.String:
		return int64(v.Length()) + 2
	case *goja.Object:
		if es.tooDeep {
			return 0
		}
		if fn, ok := goja.AssertFunction(v.Get("toJSON")); ok && fn != nil {
			return 0
		}
		switch v.ClassName() {
		case "Function":
			return 0
		case "String", "Number", "Boolean", "Date", "RegExp", "Map", "Set", "Error":
			return 2
		}
		if !es.enter(v, depth) {
			return 0
		}
		defer delete(es.path, v)
		if v.ClassName() == "Array" {
			n := toLength(v.Get("length"))
			if n > budget {
				return n
			}
			total := n + 1 + n*es.indent*int64(depth)
			for i := int64(0); i < n && total <= budget && !es.tooDeep; i++ {
				total += es.json(v.Get(strconv.FormatInt(i, 10)), budget-total, depth+1)
			}
			return total
		}
		total := int64(2)
		for _, k := range v.Keys() {
			if total > budget || es.tooDeep {
				break
			}
			total += int64(len(k)) + 4 + es.indent*int64(depth) + es.json(v.Get(k), budget-total, depth+1)
		}
		return total
	}
	if goja.IsUndefined(v) {
		return 0
	}
	return int64(len(v.String()))
}

// join is a lower bound of the length of o.join(sep); nested arrays are
// joined with commas by their toString.
func (es *estimator) join(o *goja.Object, sep, budget int64, depth int) int64 {
	n := toLength(o.Get("length"))
	if n == 0 || !es.enter(o, depth) {
		return 0
	}
	defer delete(es.path, o)
	total := (n - 1) * sep
	for i := int64(0); i < n && total <= budget && !es.tooDeep; i++ {
		switch e := o.Get(strconv.FormatInt(i, 10)).(type) {
		case nil:
		case goja.String:
			total += int64(e.Length())
		case *goja.Object:
			if e.ClassName() == "Array" {
				total += es.join(e, 1, budget-total, depth+1)
			}
		default:
			if !goja.IsUndefined(e) && !goja.IsNull(e) {
				total += int64(len(e.String()))
			}
		}
	}
	return total
}

// nesting reports whether arrays nest deeper than maxNesting under o. Each
// distinct array is walked once (heights are remembered), so arrays shared
// many times over do not make the walk exponential.
func (es *estimator) nesting(o *goja.Object, depth int) {
	heights := make(map[*goja.Object]int)
	if depth+es.height(o, heights) > maxNesting {
		es.tooDeep = true
	}
}

func (es *estimator) height(o *goja.Object, heights map[*goja.Object]int) int {
	if h, ok := heights[o]; ok {
		return h
	}
	if es.path[o] || len(es.path) > maxNesting {
		return 0 // a cycle, or already too deep to matter
	}
	es.path[o] = true
	defer delete(es.path, o)
	h := 0
	n := toLength(o.Get("length"))
	for i := int64(0); i < n && h <= maxNesting; i++ {
		if e, ok := o.Get(strconv.FormatInt(i, 10)).(*goja.Object); ok && e.ClassName() == "Array" {
			h = max(h, es.height(e, heights))
		}
	}
	heights[o] = h + 1
	return h + 1
}

// flatLength is the length o.flat(depth) would have, counted until it
// passes budget.
func (es *estimator) flatLength(o *goja.Object, depth int, budget int64) int64 {
	if !es.enter(o, 0) {
		return 0
	}
	defer delete(es.path, o)
	n := toLength(o.Get("length"))
	total := int64(0)
	for i := int64(0); i < n && total <= budget; i++ {
		e := o.Get(strconv.FormatInt(i, 10))
		if e == nil {
			continue // holes are skipped
		}
		if a, ok := e.(*goja.Object); ok && depth > 0 && a.ClassName() == "Array" {
			total += es.flatLength(a, depth-1, budget-total)
			continue
		}
		total++
	}
	return total
}

// replaceFits bounds the result of replace/replaceAll with a string
// replacement before it is built. A function replacement runs as script
// code, which ticks and can be interrupted.
func (sb *sandbox) replaceFits(rs *runState, c goja.FunctionCall, all bool) bool {
	s := strLen(c.This)
	repl := c.Argument(1)
	if s < 0 {
		return true
	}
	if _, isObj := repl.(*goja.Object); isObj {
		return true // a function (or an object stringified once): checked after
	}
	r := repl.String()
	per := int64(len(r))
	if d := int64(strings.Count(r, "$")); d > 0 {
		per += d * s // $& $` $' $1 can each insert up to the whole input
	}
	if per <= 1 {
		return true // at most doubles the input; checked after
	}
	var matches int64
	switch p := c.Argument(0).(type) {
	case *goja.Object:
		if p.ClassName() != "RegExp" {
			return true
		}
		if _, flags := sb.regexpFacts(p); !all && !strings.Contains(flags, "g") {
			matches = 1
		} else {
			matches = s + 1
			if s+matches*per > rs.limits.MaxStringSize {
				// Count the real matches with Go's regexp (the same RE2 program
				// goja runs), paying for the scan like exec does.
				if re, size := sb.goRegexp(sb.regexpFacts(p)); re != nil {
					if !rs.matchFits(size, s) {
						return false
					}
					began := time.Now()
					matches = int64(len(re.FindAllStringIndex(c.This.String(), -1)))
					rs.charge(1 + int64(time.Since(began)/regexpOpTime))
				}
			}
		}
	default:
		pat := c.Argument(0).String()
		if !all {
			matches = 1
		} else if pat == "" {
			matches = s + 1
		} else {
			matches = int64(strings.Count(c.This.String(), pat))
		}
	}
	n := s + matches*per
	if n > rs.limits.MaxStringSize {
		rs.stop(shared.KnobMaxStringSize)
		return false
	}
	return true
}

// checkJSONShape looks at JSON text before goja parses it: nesting deeper
// than maxNesting is a SyntaxError (goja's parser recurses per level), and an
// array or object with more elements than the knobs allow stops the script
// before the parser allocates it.
func (sb *sandbox) checkJSONShape(v goja.Value) bool {
	s, ok := v.(goja.String)
	if !ok || sb.run == nil {
		return true
	}
	rs := sb.run
	type level struct {
		object bool
		commas int64
	}
	var stack []level
	text := s.String()
	inString := false
	for i := 0; i < len(text); i++ {
		c := text[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			if len(stack) >= maxNesting {
				sb.throw("SyntaxError", errJSONDepth)
			}
			stack = append(stack, level{object: c == '{'})
		case ']', '}':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ',':
			if len(stack) == 0 {
				continue
			}
			top := &stack[len(stack)-1]
			top.commas++
			if top.object && top.commas >= rs.limits.MaxMapSize {
				rs.stop(shared.KnobMaxMapSize)
				return false
			}
			if !top.object && top.commas >= rs.limits.MaxArraySize {
				rs.stop(shared.KnobMaxArraySize)
				return false
			}
		}
	}
	return true
}

// checkDeep checks every array and object of a freshly parsed JSON value.
func (sb *sandbox) checkDeep(v goja.Value, depth int) {
	o, ok := v.(*goja.Object)
	if !ok || depth > 1000 || sb.run.stopped() {
		return
	}
	rs := sb.run
	if o.ClassName() == "Array" {
		n := toLength(o.Get("length"))
		if n > rs.limits.MaxArraySize {
			rs.stop(shared.KnobMaxArraySize)
			return
		}
		for i := int64(0); i < n; i++ {
			sb.checkDeep(o.Get(strconv.FormatInt(i, 10)), depth+1)
		}
		return
	}
	keys := o.Keys()
	if int64(len(keys)) > rs.limits.MaxMapSize {
		rs.stop(shared.KnobMaxMapSize)
		return
	}
	for _, k := range keys {
		sb.checkDeep(o.Get(k), depth+1)
	}
}

// replaceJoin puts a Go Array.prototype.join in place of goja's: the same
// result (cycles join as empty, like goja), but built with a running size
// check, and abandoned as soon as the script is stopped. goja's join
// converts elements natively, so an element whose toString is native
// (a String object, a bound valueOf) never gives an interrupt a chance:
// 100,000 of them holding 1 MiB each would ask for 100 GB.
func (sb *sandbox) replaceJoin(proto *goja.Object) error {
	wrapped, _ := goja.AssertFunction(proto.Get("join")) // the checking wrapper: length and nesting
	join := func(call goja.FunctionCall) goja.Value {
		rs := sb.run
		if rs == nil || wrapped == nil {
			if wrapped == nil {
				return goja.Undefined()
			}
			v, err := wrapped(call.This, call.Arguments...)
			if err != nil {
				panic(err)
			}
			return v
		}
		if rs.stopped() {
			return goja.Undefined()
		}
		o := call.This.ToObject(sb.rt)
		if sb.joining[o] {
			return sb.rt.ToValue("") // a cycle
		}
		if !sb.joinFits(rs, o, call.Argument(0)) {
			return goja.Undefined()
		}
		var sep goja.String = sb.rt.ToValue(",").(goja.String)
		if s := call.Argument(0); !goja.IsUndefined(s) {
			sep = sb.toJSString(s)
		}
		if sb.joining == nil {
			sb.joining = make(map[*goja.Object]bool)
		}
		sb.joining[o] = true
		defer delete(sb.joining, o)
		n := toLength(o.Get("length"))
		var b goja.StringBuilder
		total := int64(0)
		for i := int64(0); i < n; i++ {
			if i > 0 {
				b.WriteString(sep)
				total += int64(sep.Length())
			}
			if e := o.Get(strconv.FormatInt(i, 10)); e != nil && !goja.IsUndefined(e) && !goja.IsNull(e) {
				s := sb.toJSString(e)
				b.WriteString(s)
				total += int64(s.Length())
			}
			if total > rs.limits.MaxStringSize {
				rs.stop(shared.KnobMaxStringSize)
			}
			if rs.stopped() {
				return goja.Undefined()
			}
		}
		return b.String()
	}
	if err := proto.DefineDataProperty("join", sb.replacement(proto, "join", join), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
		return err
	}

	// toLocaleString is join(",") of each element's toLocaleString(), with
	// the same running check.
	locale := func(call goja.FunctionCall) goja.Value {
		rs := sb.run
		o := call.This.ToObject(sb.rt)
		if sb.joining[o] {
			return sb.rt.ToValue("")
		}
		if rs != nil && (rs.stopped() || !sb.joinFits(rs, o, goja.Undefined())) {
			return goja.Undefined()
		}
		if sb.joining == nil {
			sb.joining = make(map[*goja.Object]bool)
		}
		sb.joining[o] = true
		defer delete(sb.joining, o)
		n := toLength(o.Get("length"))
		var b goja.StringBuilder
		total := int64(0)
		for i := int64(0); i < n; i++ {
			if i > 0 {
				b.WriteUTF8String(",")
				total++
			}
			e := o.Get(strconv.FormatInt(i, 10))
			if e == nil || goja.IsUndefined(e) || goja.IsNull(e) {
				continue
			}
			eo := e.ToObject(sb.rt)
			fn, ok := goja.AssertFunction(eo.Get("toLocaleString"))
			if !ok {
				sb.throw("TypeError", errors.New("toLocaleString is not a function"))
			}
			v, err := fn(e)
			if err != nil {
				panic(err)
			}
			s := sb.toJSString(v)
			b.WriteString(s)
			total += int64(s.Length())
			if rs != nil && total > rs.limits.MaxStringSize {
				rs.stop(shared.KnobMaxStringSize)
			}
			if rs != nil && rs.stopped() {
				return goja.Undefined()
			}
		}
		return b.String()
	}
	return proto.DefineDataProperty("toLocaleString", sb.replacement(proto, "toLocaleString", locale), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

// joinFits runs the checks of the join wrapper (receiver length, nesting,
// size estimate) without joining.
func (sb *sandbox) joinFits(rs *runState, o *goja.Object, sepArg goja.Value) bool {
	if toLength(o.Get("length")) > rs.limits.MaxArraySize {
		rs.stop(shared.KnobMaxArraySize)
		return false
	}
	sep := int64(1)
	if !goja.IsUndefined(sepArg) {
		sep = int64(len(sepArg.String()))
	}
	es := sb.newEstimator(0)
	n := es.join(o, sep, rs.limits.MaxStringSize, 0)
	if es.tooDeep {
		sb.throw("RangeError", errTooNested)
	}
	if n > rs.limits.MaxStringSize {
		rs.stop(shared.KnobMaxStringSize)
		return false
	}
	return true
}

// concat is String.prototype.concat with a running size check, for the
// same reason as join: arguments may convert natively.
func (sb *sandbox) concat(call goja.FunctionCall) goja.Value {
	rs := sb.run
	if goja.IsUndefined(call.This) || goja.IsNull(call.This) {
		//lint:ignore ST1005 the text of a JavaScript TypeError, as engines word it
		sb.throw("TypeError", errors.New("String.prototype.concat called on null or undefined"))
	}
	var b goja.StringBuilder
	first := sb.toJSString(call.This)
	b.WriteString(first)
	total := int64(first.Length())
	for _, a := range call.Arguments {
		s := sb.toJSString(a)
		b.WriteString(s)
		total += int64(s.Length())
		if rs != nil && total > rs.limits.MaxStringSize {
			rs.stop(shared.KnobMaxStringSize)
			return goja.Undefined()
		}
	}
	return b.String()
}

// toJSString is JavaScript's ToString, keeping goja's UTF-16 strings as they
// are (goja's exported ToString returns primitives unconverted).
func (sb *sandbox) toJSString(v goja.Value) goja.String {
	if v == nil {
		v = goja.Undefined()
	}
	if o, ok := v.(*goja.Object); ok {
		v = o.ToString() // ToPrimitive with hint string; may run script code
	}
	switch x := v.(type) {
	case goja.String:
		return x
	case *goja.Symbol:
		sb.throw("TypeError", errors.New("cannot convert a Symbol value to a string"))
	}
	return sb.rt.ToValue(v.String()).(goja.String)
}

// sorter is sort or toSorted (orig) with its cost counted. Without a
// comparator it passes one that compares as the default does (the
// elements' strings, converted at each comparison as goja does) and
// charges the bytes it compares: sorting long strings is native work no
// operation counts. Nothing is read ahead of the built-in, so getters on
// the elements run as often as they would. A comparator that is not a
// function goes to the original, which throws before reading anything.
func (sb *sandbox) sorter(orig goja.Callable, post bool) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		rs := sb.run
		args := c.Arguments
		if rs != nil {
			if rs.stopped() {
				return goja.Undefined()
			}
			cmp := c.Argument(0)
			_, callable := goja.AssertFunction(cmp)
			switch {
			case goja.IsUndefined(cmp):
				if !fitsArray(rs, thisLen(c)) {
					return goja.Undefined()
				}
				args = append([]goja.Value{sb.defaultCompare(rs)}, args[min(1, len(args)):]...)
			case callable:
				if !fitsArray(rs, thisLen(c)) {
					return goja.Undefined()
				}
				args[0] = sb.guardCallback(rs, cmp)
			}
		}
		v, err := orig(c.This, args...)
		if err != nil {
			panic(err) // rethrows a JS exception, or passes an interrupt on
		}
		if post && rs != nil {
			sb.checkValue(v)
		}
		return v
	}
}

// defaultCompare is the default sort order as a comparator, charging an
// operation per sortBytesPerOp bytes compared.
func (sb *sandbox) defaultCompare(rs *runState) goja.Value {
	var bytes int64
	return sb.rt.ToValue(func(call goja.FunctionCall) goja.Value {
		if rs.stopped() {
			return sb.rt.ToValue(0) // the sort winds down; the interrupt fires after it
		}
		x, y := sb.jsString(call.Argument(0)), sb.jsString(call.Argument(1))
		if bytes += int64(x.Length() + y.Length()); bytes >= sortBytesPerOp {
			rs.charge(bytes / sortBytesPerOp)
			bytes %= sortBytesPerOp
		}
		return sb.rt.ToValue(x.CompareTo(y))
	})
}

// jsString is ECMA-262's ToString(v) as a goja.String (goja's own
// Value.ToString leaves a number a number).
func (sb *sandbox) jsString(v goja.Value) goja.String {
	switch v := v.(type) {
	case goja.String:
		return v
	case *goja.Object:
		if s, ok := v.ToString().(goja.String); ok {
			return s
		}
	case *goja.Symbol:
		sb.throw("TypeError", errSymbolToString)
	}
	s, _ := sb.rt.ToValue(v.String()).(goja.String)
	return s
}

//lint:ignore ST1005 the text of a JavaScript TypeError, as engines word it
var errSymbolToString = errors.New("Cannot convert a Symbol value to a string")

// sortBytesPerOp is how many bytes of string comparison cost about as much
// as one operation (a loop iteration, ~100 ns).
const sortBytesPerOp = 512

// stringRaw is String.raw with a running size check (its segments convert
// natively, like join's elements).
func (sb *sandbox) stringRaw(call goja.FunctionCall) goja.Value {
	rs := sb.run
	raw := call.Argument(0).ToObject(sb.rt).Get("raw")
	if raw == nil || goja.IsUndefined(raw) || goja.IsNull(raw) {
		//lint:ignore ST1005 the text of a JavaScript TypeError, as engines word it
		sb.throw("TypeError", errors.New("String.raw needs an object with a raw property"))
	}
	segs := raw.ToObject(sb.rt)
	n := toLength(segs.Get("length"))
	if rs != nil && n > rs.limits.MaxArraySize {
		rs.stop(shared.KnobMaxArraySize)
		return goja.Undefined()
	}
	var b goja.StringBuilder
	total := int64(0)
	add := func(v goja.Value) bool {
		s := sb.toJSString(v)
		b.WriteString(s)
		total += int64(s.Length())
		if rs != nil && total > rs.limits.MaxStringSize {
			rs.stop(shared.KnobMaxStringSize)
		}
		return rs == nil || !rs.stopped()
	}
	for i := int64(0); i < n; i++ {
		if !add(segs.Get(strconv.FormatInt(i, 10))) {
			return goja.Undefined()
		}
		if i+1 < n && int(i+1) < len(call.Arguments) {
			if !add(call.Arguments[i+1]) {
				return goja.Undefined()
			}
		}
	}
	return b.String()
}

// callbackMethods are the Array.prototype methods that call their first
// argument once per element.
var callbackMethods = map[string]bool{
	"every": true, "filter": true, "find": true, "findIndex": true, "findLast": true,
	"findLastIndex": true, "flatMap": true, "forEach": true, "map": true, "reduce": true,
	"reduceRight": true, "some": true, "sort": true, "toSorted": true,
}

// guardCallback wraps a native callback (a built-in or bound function) that
// a built-in will call in a loop. Script callbacks tick and can be
// interrupted; a native one never returns to script code, so
// arr.map(Function.prototype.call, String.prototype.repeat) would run to
// the end whatever the timer or the heap fence said. The wrapper costs an
// operation per call and ends the loop's work once the script is stopped.
func (sb *sandbox) guardCallback(rs *runState, v goja.Value) goja.Value {
	fn, ok := goja.AssertFunction(v)
	if !ok || !sb.isNative(v) {
		return v
	}
	return sb.rt.ToValue(func(call goja.FunctionCall) goja.Value {
		if rs.stopped() {
			return goja.Undefined()
		}
		rs.charge(1)
		r, err := fn(call.This, call.Arguments...)
		if err != nil {
			panic(err)
		}
		return r
	})
}

// isNative reports whether a function is a built-in, a bound function or a
// proxy: Function.prototype.toString shows "[native code]" for exactly those.
func (sb *sandbox) isNative(v goja.Value) bool {
	if sb.funcToString == nil {
		return false
	}
	src, err := sb.funcToString(v)
	if err != nil {
		return false
	}
	return strings.HasSuffix(src.String(), "[native code] }")
}
