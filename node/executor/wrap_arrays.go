package executor

import (
	"github.com/dop251/goja"
)

// arrays guards Array.prototype, the typed arrays' join, Array.from and
// Array.of, and Symbol.for (whose keys a pooled runtime keeps).
func (in *installer) arrays() {
	sb := in.sb
	arrayProto := sb.object("Array", "prototype")
	// Symbol.for keeps each new key for the runtime's lifetime, which spans
	// many runs of many scripts: past a budget of keys the runtime is
	// retired after the run, so no script can make a pooled runtime hold
	// memory.
	in.wrap(sb.object("Symbol"), "for", func(_ *runState, call goja.FunctionCall) bool {
		k, ok := call.Argument(0).(goja.String)
		if !ok {
			sb.noteSymbol("") // a non-string key: counted, not remembered
			return true
		}
		sb.noteSymbol(k.String())
		return true
	}, false)

	// Array.prototype: every method first checks the receiver's length (an
	// oversized sparse array is cheap until a method walks it), growing ones
	// also the length they would produce.
	growth := map[string]func(call goja.FunctionCall) int64{
		"push":    func(c goja.FunctionCall) int64 { return int64(len(c.Arguments)) },
		"unshift": func(c goja.FunctionCall) int64 { return int64(len(c.Arguments)) },
		"splice": func(c goja.FunctionCall) int64 {
			if n := int64(len(c.Arguments)) - 2; n > 0 {
				return n
			}
			return 0
		},
		"concat": func(c goja.FunctionCall) int64 {
			var n int64
			for _, a := range c.Arguments {
				if o, ok := a.(*goja.Object); ok && o.ClassName() == "Array" {
					n += toLength(o.Get("length"))
				} else {
					n++
				}
			}
			return n
		},
	}
	resultChecked := map[string]bool{"concat": true, "flat": true, "flatMap": true, "map": true, "filter": true, "slice": true, "splice": true, "toSpliced": true, "toSorted": true, "toReversed": true, "with": true}
	if arrayProto != nil {
		for _, name := range arrayProto.GetOwnPropertyNames() {
			if name == "constructor" || name == "length" {
				continue
			}
			if _, ok := goja.AssertFunction(arrayProto.Get(name)); !ok {
				continue
			}
			grow := growth[name]
			before := func(rs *runState, c goja.FunctionCall) bool {
				n := thisLen(c)
				if grow != nil {
					n += grow(c)
				}
				return fitsArray(rs, n)
			}
			if name == "join" || name == "toString" || name == "toLocaleString" {
				before = func(rs *runState, c goja.FunctionCall) bool {
					if !fitsArray(rs, thisLen(c)) {
						return false
					}
					o, ok := c.This.(*goja.Object)
					if !ok {
						return true
					}
					sep := int64(1)
					if name == "join" {
						if s := c.Argument(0); !goja.IsUndefined(s) {
							sep = int64(len(s.String()))
						}
					}
					es := sb.newEstimator(0)
					n := es.join(o, sep, rs.limits.MaxStringSize, 0)
					if es.tooDeep {
						sb.throw("RangeError", errTooNested)
					}
					return fitsString(rs, n)
				}
			}
			if callbackMethods[name] {
				plain := before
				before = func(rs *runState, c goja.FunctionCall) bool {
					if len(c.Arguments) > 0 {
						c.Arguments[0] = sb.guardCallback(rs, c.Arguments[0])
					}
					return plain(rs, c)
				}
			}
			if name == "sort" || name == "toSorted" {
				if orig, ok := goja.AssertFunction(arrayProto.Get(name)); ok {
					in.define(arrayProto, name, sb.sorter(orig, resultChecked[name]))
				}
				continue
			}
			if name == "flat" {
				plain := before
				before = func(rs *runState, c goja.FunctionCall) bool {
					if !plain(rs, c) {
						return false
					}
					o, ok := c.This.(*goja.Object)
					if !ok {
						return true
					}
					depth := 1.0
					if d := c.Argument(0); !goja.IsUndefined(d) {
						depth = d.ToFloat()
					}
					es := sb.newEstimator(0)
					if depth > maxNesting {
						es.nesting(o, 0)
						if es.tooDeep {
							sb.throw("RangeError", errTooNested)
						}
					}
					// Shared sub-arrays flatten to copies: a=[a,a] thirty times
					// is 2^30 elements from 31 small arrays.
					return fitsArray(rs, es.flatLength(o, int(min(depth, maxNesting)), rs.limits.MaxArraySize))
				}
			}
			in.wrap(arrayProto, name, before, resultChecked[name] || name == "join")
		}
	}
	if arrayProto != nil {
		in.keep(sb.replaceJoin(arrayProto))
		// Array.prototype[Symbol.iterator] is values, the same function.
		in.keep(arrayProto.DefineDataPropertySymbol(goja.SymIterator, arrayProto.Get("values"), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE))
	}
	if typed := sb.typedArrayProto(); typed != nil {
		if arrayProto != nil {
			// %TypedArray%.prototype.toString is Array.prototype.toString,
			// the same function (now the wrapped one).
			in.keep(typed.DefineDataProperty("toString", arrayProto.Get("toString"), goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE))
		}
		in.wrap(typed, "join", func(rs *runState, c goja.FunctionCall) bool {
			sep := int64(1)
			if s := c.Argument(0); !goja.IsUndefined(s) {
				sep = int64(len(s.String()))
			}
			n := thisLen(c)
			return fitsString(rs, n*24+(n-1)*sep)
		}, true)
	}
	arrayCtor := sb.object("Array")
	in.wrap(arrayCtor, "from", func(rs *runState, c goja.FunctionCall) bool {
		if len(c.Arguments) > 1 {
			c.Arguments[1] = sb.guardCallback(rs, c.Arguments[1])
		}
		if o, ok := c.Argument(0).(*goja.Object); ok {
			return fitsArray(rs, toLength(o.Get("length")))
		}
		return true
	}, true)
	in.wrap(arrayCtor, "of", func(rs *runState, c goja.FunctionCall) bool {
		return fitsArray(rs, int64(len(c.Arguments)))
	}, true)
}
