package executor

import (
	"github.com/dop251/goja"
)

// objects guards Object's and Reflect's key lists and writes, Proxy.revocable,
// and the calls that build argument lists from array-likes (apply, bind,
// Reflect.apply/construct).
func (in *installer) objects() {
	sb := in.sb
	// Objects.
	objCtor := sb.object("Object")
	for _, name := range []string{"keys", "values", "entries", "getOwnPropertyNames", "getOwnPropertySymbols", "fromEntries"} {
		in.wrap(objCtor, name, nil, true)
	}
	for _, name := range []string{"assign", "defineProperty", "defineProperties"} {
		in.wrap(objCtor, name, func(rs *runState, c goja.FunctionCall) bool { return true }, true)
	}
	reflect := sb.object("Reflect")
	in.wrap(reflect, "ownKeys", nil, true)
	// Reflect.set and defineProperty return booleans: check their target.
	for _, name := range []string{"set", "defineProperty"} {
		fn := name
		if reflect == nil {
			break
		}
		orig, ok := goja.AssertFunction(reflect.Get(fn))
		if !ok {
			continue
		}
		checked := func(call goja.FunctionCall) goja.Value {
			rs := sb.run
			if rs != nil && rs.stopped() {
				return goja.Undefined()
			}
			v, err := orig(call.This, call.Arguments...)
			if err != nil {
				panic(err)
			}
			if o, ok := call.Argument(0).(*goja.Object); ok && rs != nil {
				sb.checkObject(o, true)
			}
			return v
		}
		in.define(reflect, fn, checked)
	}

	in.wrap(sb.object("Proxy"), "revocable", func(rs *runState, c goja.FunctionCall) bool {
		sb.checkProxy(c)
		return true
	}, false)

	// Argument lists built from array-likes: goja allocates length slots
	// first, so Math.max.apply(null, {length: 1e9}) would take 16 GB.
	argList := func(i int) pre {
		return func(rs *runState, c goja.FunctionCall) bool {
			if o, ok := c.Argument(i).(*goja.Object); ok {
				return fitsArray(rs, toLength(o.Get("length")))
			}
			return true
		}
	}
	in.wrap(sb.object("Function", "prototype"), "apply", argList(1), false)
	// bind names its result "bound " + name: a chain of binds grows the name
	// quadratically in native code.
	in.wrap(sb.object("Function", "prototype"), "bind", func(rs *runState, c goja.FunctionCall) bool {
		if f, ok := c.This.(*goja.Object); ok {
			return fitsString(rs, strLen(f.Get("name"))+6)
		}
		return true
	}, false)
	in.wrap(reflect, "apply", argList(2), false)
	in.wrap(reflect, "construct", argList(1), false)
}
