package executor

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/dop251/goja"
)

// Constructors that allocate in native code (Array, ArrayBuffer, the typed
// arrays, Map, Set, Proxy) or compile a pattern (RegExp) are replaced by
// guard functions that check their arguments, then call or construct the
// original, passing new.target on. A guard is an ordinary function, not a
// Proxy: goja accepts it on the right of instanceof, as a class heritage
// and as a species constructor. The prelude gives it the original's
// prototype (whose constructor it becomes), static properties, name,
// length and [[Prototype]], and Function.prototype.toString shows it as
// native code, so no script can tell the two apart; the original is
// reachable from nowhere.

// ctorCheck inspects the arguments before the original runs and returns
// the ones to pass on (a size already converted to a number, so that
// valueOf runs once). construct tells new from a plain call.
type ctorCheck func(sb *sandbox, args []goja.Value, construct bool) []goja.Value

// ctorGuards are the guarded constructors; after, if set, checks the
// object made; build, if set, makes it for new in place of the original.
var ctorGuards = []struct {
	name   string
	before ctorCheck
	after  func(sb *sandbox, o *goja.Object)
	build  ctorBuild
}{
	{"Array", checkArrayCtor, nil, nil},
	{"RegExp", nil, (*sandbox).checkRegexpMade, nil},
	{"Proxy", func(sb *sandbox, a []goja.Value, _ bool) []goja.Value { sb.checkProxyTarget(arg(a, 0)); return a }, nil, nil},
	{"Map", nil, checkSized, nil},
	{"Set", nil, checkSized, nil},
	{"ArrayBuffer", checkByteLength, nil, nil},
	{"Int8Array", checkTypedArrayArgs, nil, buildTypedArray},
	{"Uint8Array", checkTypedArrayArgs, nil, buildTypedArray},
	{"Uint8ClampedArray", checkTypedArrayArgs, nil, buildTypedArray},
	{"Int16Array", checkTypedArrayArgs, nil, buildTypedArray},
	{"Uint16Array", checkTypedArrayArgs, nil, buildTypedArray},
	{"Int32Array", checkTypedArrayArgs, nil, buildTypedArray},
	{"Uint32Array", checkTypedArrayArgs, nil, buildTypedArray},
	{"Float32Array", checkTypedArrayArgs, nil, buildTypedArray},
	{"Float64Array", checkTypedArrayArgs, nil, buildTypedArray},
}

func arg(a []goja.Value, i int) goja.Value {
	if i < len(a) {
		return a[i]
	}
	return goja.Undefined()
}

// guardConstructors makes the Go half of a guard for each constructor in
// ctorGuards that this goja has, by name. The prelude wraps each in a
// plain function, function (...args) { return check(args, new.target, guard) },
// since only a script function tells a call from new G() (goja's native
// constructors see no new.target for either), and puts it in place.
func (sb *sandbox) guardConstructors() (*goja.Object, error) {
	guards := sb.rt.NewObject()
	for _, c := range ctorGuards {
		orig, ok := sb.rt.GlobalObject().Get(c.name).(*goja.Object)
		if !ok {
			continue
		}
		g, err := sb.guardCtor(orig, c.before, c.after, c.build, c.name == "RegExp")
		if err != nil {
			return nil, err
		}
		if err := guards.Set(c.name, g); err != nil {
			return nil, err
		}
	}
	return guards, nil
}

// guardCtor makes the check of orig's guard: check(args, newTarget)
// checks args, then constructs orig with newTarget or, when it is
// undefined, calls it. regexp adds RegExp's call behaviour: RegExp(re) is
// re when re's constructor is RegExp (the guard, check's third argument).
func (sb *sandbox) guardCtor(orig *goja.Object, before ctorCheck, after func(*sandbox, *goja.Object), build ctorBuild, regexp bool) (goja.Value, error) {
	call, _ := goja.AssertFunction(orig)
	construct, ok := goja.AssertConstructor(orig)
	if call == nil || !ok {
		return nil, errors.New("not a constructor")
	}
	fn := func(fc goja.FunctionCall) goja.Value {
		if rs := sb.run; rs != nil && rs.stopped() {
			return goja.Undefined() // the interrupt fires at the next instruction
		}
		args := sb.arrayValues(fc.Argument(0))
		newTarget, isNew := fc.Argument(1).(*goja.Object)
		if before != nil && sb.run != nil {
			args = before(sb, args, isNew)
			if sb.run.stopped() {
				return goja.Undefined() // refused: nothing allocated
			}
		}
		var made goja.Value
		var err error
		switch {
		case isNew && build != nil && sb.run != nil:
			made, err = build(sb, construct, newTarget, args)
		case isNew:
			made, err = construct(newTarget, args...)
		case regexp:
			self, _ := fc.Argument(2).(*goja.Object)
			if re := sameRegexp(self, args); re != nil {
				return re
			}
			// As if constructed with new.target the active function:
			// the original's call path would look at the pattern again.
			made, err = construct(self, args...)
		default:
			made, err = call(goja.Undefined(), args...)
		}
		if err != nil {
			panic(err) // rethrows a JS exception, or passes an interrupt on
		}
		if o, ok := made.(*goja.Object); ok && after != nil && sb.run != nil {
			after(sb, o)
		}
		return made
	}
	return sb.rt.ToValue(fn), nil
}

// arrayValues lists the elements of a, an array the prelude made.
func (sb *sandbox) arrayValues(a goja.Value) []goja.Value {
	o, ok := a.(*goja.Object)
	if !ok {
		return nil
	}
	n := toLength(o.Get("length"))
	vs := make([]goja.Value, n)
	for i := range vs {
		vs[i] = o.Get(strconv.Itoa(i))
	}
	return vs
}

// sameRegexp is step 4 of RegExp(pattern, flags) called as a function
// (ECMA-262 §22.2.4.1): pattern itself when it is a regexp (IsRegExp),
// flags is undefined and pattern.constructor is RegExp.
func sameRegexp(ctor *goja.Object, args []goja.Value) *goja.Object {
	p, ok := arg(args, 0).(*goja.Object)
	if !ok || !goja.IsUndefined(arg(args, 1)) {
		return nil
	}
	if m := p.GetSymbol(goja.SymMatch); m != nil && !goja.IsUndefined(m) {
		if !m.ToBoolean() {
			return nil
		}
	} else if p.ClassName() != "RegExp" {
		return nil
	}
	if c, ok := p.Get("constructor").(*goja.Object); ok && c == ctor {
		return p
	}
	return nil
}

// checkArrayCtor: new Array(n) makes n slots, new Array(a, b, ...) one per
// argument.
func checkArrayCtor(sb *sandbox, a []goja.Value, _ bool) []goja.Value {
	n := int64(len(a))
	if len(a) == 1 {
		if isNumber(a[0]) {
			n = toLength(a[0])
		}
	}
	sb.checkArrayLen(goja.FunctionCall{Arguments: []goja.Value{sb.rt.ToValue(n)}})
	return a
}

// isNumber reports whether v is a primitive number.
func isNumber(v goja.Value) bool {
	if _, isObj := v.(*goja.Object); isObj {
		return false
	}
	switch v.Export().(type) {
	case int64, float64:
		return true
	}
	return false
}

// checkByteLength bounds new ArrayBuffer(n); n is converted here, once.
func checkByteLength(sb *sandbox, a []goja.Value, construct bool) []goja.Value {
	if !construct || len(a) == 0 {
		return a // ArrayBuffer() throws before it converts
	}
	a[0] = toNumberOnce(a[0])
	sb.checkBytes(goja.FunctionCall{Arguments: a})
	return a
}

// checkTypedArrayArgs bounds new Int8Array(n); an object argument is
// buildTypedArray's.
func checkTypedArrayArgs(sb *sandbox, a []goja.Value, construct bool) []goja.Value {
	if !construct || len(a) == 0 {
		return a
	}
	if _, isObj := a[0].(*goja.Object); !isObj {
		a[0] = toNumberOnce(a[0])
		sb.checkArrayArgs(goja.FunctionCall{Arguments: a})
	}
	return a
}

// toNumberOnce converts v to a number unless it is one, undefined or a
// symbol, which the constructor itself reports or handles.
func toNumberOnce(v goja.Value) goja.Value {
	if goja.IsUndefined(v) || isNumber(v) {
		return v
	}
	if _, isSym := v.(*goja.Symbol); isSym {
		return v
	}
	return v.ToNumber()
}

func checkSized(sb *sandbox, o *goja.Object) { sb.checkObject(o, false) }

// checkRegexpMade refuses a regexp goja compiled to its backtracking
// engine.
func (sb *sandbox) checkRegexpMade(o *goja.Object) {
	if err := checkRegexp(sb.regexpFacts(o)); err != nil {
		sb.throw("SyntaxError", err)
	}
}

// regexpFlag is one of RegExp.prototype's flag getters, which read the
// regexp's own flags.
type regexpFlag struct {
	flag string
	get  goja.Callable
}

// keepRegexpAccessors saves the accessors checkRegexpMade reads through.
func (sb *sandbox) keepRegexpAccessors() error {
	v, err := sb.rt.RunString(`(function () {
		const d = (k) => Object.getOwnPropertyDescriptor(RegExp.prototype, k).get;
		return [d('source'), d('global'), d('ignoreCase'), d('multiline'), d('dotAll'), d('unicode'), d('sticky')];
	})()`)
	if err != nil {
		return err
	}
	o := v.ToObject(sb.rt)
	get := func(i int) goja.Callable {
		f, _ := goja.AssertFunction(o.Get(string(rune('0' + i))))
		return f
	}
	sb.regexpSource = get(0)
	for i, f := range []string{"g", "i", "m", "s", "u", "y"} {
		if g := get(i + 1); g != nil {
			sb.regexpFlags = append(sb.regexpFlags, regexpFlag{f, g})
		}
	}
	return nil
}

// checkProxyTarget refuses a proxy whose target chain is deeper than
// maxNesting: goja forwards trapless operations down the chain
// recursively in Go.
func (sb *sandbox) checkProxyTarget(t goja.Value) {
	sb.checkProxy(goja.FunctionCall{Arguments: []goja.Value{t}})
}

// native makes a Go function a built-in as JavaScript sees it: its name
// and length as given, not goja's default (the Go symbol and 0).
func (sb *sandbox) native(name string, length int, fn func(goja.FunctionCall) goja.Value) *goja.Object {
	f := sb.rt.ToValue(fn).(*goja.Object)
	_ = f.DefineDataProperty("name", sb.rt.ToValue(name), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	_ = f.DefineDataProperty("length", sb.rt.ToValue(length), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	return f
}

// installToString replaces Function.prototype.toString by one that shows
// the prelude's stand-ins for built-ins (the guards, the refusing
// Function) as native code, as their originals print.
func (sb *sandbox) installToString() error {
	proto := sb.object("Function", "prototype")
	orig := sb.funcToString
	toString := sb.native("toString", 0, func(call goja.FunctionCall) goja.Value {
		if o, ok := call.This.(*goja.Object); ok && sb.nativeLooking[o] {
			return sb.rt.ToValue("function " + o.Get("name").String() + "() { [native code] }")
		}
		v, err := orig(call.This, call.Arguments...)
		if err != nil {
			panic(err)
		}
		return v
	})
	return proto.DefineDataProperty("toString", toString, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

// markNative is the prelude's n.native(f): f is to print as native code.
func (sb *sandbox) markNative(call goja.FunctionCall) goja.Value {
	if o, ok := call.Argument(0).(*goja.Object); ok {
		if sb.nativeLooking == nil {
			sb.nativeLooking = make(map[*goja.Object]bool)
		}
		sb.nativeLooking[o] = true
	}
	return goja.Undefined()
}

// tameProperty is the prelude's n.tame(o, key): o[key], a writable data
// property of a prototype about to be frozen, becomes an accessor pair.
// Reading gives the value as before; assigning through an object that
// inherits it defines the object's own property, as it would if o were
// not frozen; assigning to o itself fails as on a frozen object. The pair
// keeps nothing but the original value, so nothing passes between runs.
func (sb *sandbox) tameProperty(call goja.FunctionCall) goja.Value {
	o, ok := call.Argument(0).(*goja.Object)
	key := call.Argument(1).String()
	if !ok {
		return goja.Undefined()
	}
	desc, err := sb.ownDescriptor(o, key)
	if err != nil || desc == nil || !truthy(desc.Get("writable")) || !truthy(desc.Get("configurable")) {
		return goja.Undefined()
	}
	value := desc.Get("value")
	get := sb.native("get "+key, 0, func(goja.FunctionCall) goja.Value { return value })
	set := sb.native("set "+key, 1, func(c goja.FunctionCall) goja.Value {
		this, isObj := c.This.(*goja.Object)
		if !isObj || this == o {
			//lint:ignore ST1005 the text of a JavaScript TypeError, as engines word it
			sb.throw("TypeError", fmt.Errorf("Cannot assign to read only property '%s' of object", key))
		}
		if own, err := sb.hasOwn(this, sb.rt.ToValue(key)); err == nil && own.ToBoolean() {
			if err := this.Set(key, c.Argument(0)); err != nil {
				panic(err)
			}
			return goja.Undefined()
		}
		if err := this.DefineDataProperty(key, c.Argument(0), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE); err != nil {
			panic(err)
		}
		return goja.Undefined()
	})
	enumerable := goja.FLAG_FALSE
	if truthy(desc.Get("enumerable")) {
		enumerable = goja.FLAG_TRUE
	}
	if err := o.DefineAccessorProperty(key, get, set, goja.FLAG_TRUE, enumerable); err != nil {
		panic(err)
	}
	return goja.Undefined()
}

// ownDescriptor is Object.getOwnPropertyDescriptor(o, key), nil if none.
func (sb *sandbox) ownDescriptor(o *goja.Object, key string) (*goja.Object, error) {
	v, err := sb.getOwnDescriptor(goja.Undefined(), o, sb.rt.ToValue(key))
	if err != nil {
		return nil, err
	}
	d, _ := v.(*goja.Object)
	return d, nil
}

// truthy is ToBoolean of a property read that may be absent (nil).
func truthy(v goja.Value) bool { return v != nil && v.ToBoolean() }
