package executor

import (
	"strings"

	"github.com/dop251/goja"
)

// strings guards String.prototype, String.raw, fromCharCode/fromCodePoint
// and the global URI functions: every method that builds a string or an
// array of pieces in native code.
func (in *installer) strings() {
	sb := in.sb
	stringProto := sb.object("String", "prototype")
	// String.prototype.
	in.wrap(stringProto, "repeat", func(rs *runState, c goja.FunctionCall) bool {
		l := strLen(c.This)
		n := toLength(c.Argument(0))
		if l <= 0 || n <= 0 {
			return true
		}
		if n > rs.limits.MaxStringSize { // also keeps l*n from overflowing
			return fitsString(rs, n)
		}
		return fitsString(rs, l*n)
	}, true)
	for _, name := range []string{"padStart", "padEnd"} {
		if stringProto != nil {
			if orig, ok := goja.AssertFunction(stringProto.Get(name)); ok {
				in.define(stringProto, name, sb.padder(orig))
			}
		}
	}
	if stringProto != nil {
		in.define(stringProto, "concat", sb.concat)
	}
	in.wrap(stringProto, "replace", func(rs *runState, c goja.FunctionCall) bool {
		if len(c.Arguments) > 1 {
			c.Arguments[1] = sb.guardCallback(rs, c.Arguments[1])
		}
		return sb.replaceFits(rs, c, false)
	}, true)
	in.wrap(stringProto, "replaceAll", func(rs *runState, c goja.FunctionCall) bool {
		if len(c.Arguments) > 1 {
			c.Arguments[1] = sb.guardCallback(rs, c.Arguments[1])
		}
		return sb.replaceFits(rs, c, true)
	}, true)
	// A string pattern becomes a regexp inside the built-in: refused here
	// when it needs backtracking (exec would refuse it too, later). Only
	// primitives: converting an object would call its toString twice.
	regexArg := func(rs *runState, c goja.FunctionCall) bool {
		if s, ok := c.Argument(0).(goja.String); ok {
			if err := checkRegexp(s.String(), ""); err != nil {
				sb.throw("SyntaxError", err)
			}
		}
		return true
	}
	in.keep(sb.wrapRegexpMatching())
	in.wrap(stringProto, "match", regexArg, true)
	in.wrap(stringProto, "matchAll", regexArg, false)
	in.wrap(stringProto, "search", regexArg, false)
	in.wrap(stringProto, "split", func(rs *runState, c goja.FunctionCall) bool {
		// With a string separator the number of pieces is known up front.
		sep, ok := c.Argument(0).(goja.String)
		l := strLen(c.This)
		if !ok || l < 0 {
			return true
		}
		n := l
		if sep.Length() > 0 {
			n = int64(strings.Count(c.This.String(), sep.String())) + 1
		}
		if lim := c.Argument(1); !goja.IsUndefined(lim) {
			n = min(n, toLength(lim))
		}
		return fitsArray(rs, n)
	}, true)
	for _, name := range []string{"toUpperCase", "toLowerCase", "toLocaleUpperCase", "toLocaleLowerCase", "normalize"} {
		in.wrap(stringProto, name, nil, true)
	}
	strCtor := sb.object("String")
	if strCtor != nil {
		in.define(strCtor, "raw", sb.stringRaw)
	}
	for _, name := range []string{"fromCharCode", "fromCodePoint"} {
		in.wrap(strCtor, name, nil, true)
	}
	g := sb.rt.GlobalObject()
	for _, name := range []string{"encodeURI", "encodeURIComponent", "escape", "unescape", "decodeURI", "decodeURIComponent"} {
		in.wrap(g, name, nil, true)
	}
}

// padder is padStart or padEnd (orig) with the length checked first. It
// converts as the built-in does, in its order and once each: the receiver
// to a string, then maxLength to a length; the original gets the results,
// whose conversion shows nothing, and converts fillString itself.
func (sb *sandbox) padder(orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(c goja.FunctionCall) goja.Value {
		rs := sb.run
		this, args := c.This, c.Arguments
		if rs != nil && !goja.IsUndefined(this) && !goja.IsNull(this) {
			if rs.stopped() {
				return goja.Undefined()
			}
			this = this.ToString()
			n := toLength(c.Argument(0))
			if !fitsString(rs, n) {
				return goja.Undefined()
			}
			args = append([]goja.Value{sb.rt.ToValue(n)}, c.Arguments[min(1, len(c.Arguments)):]...)
		}
		v, err := orig(this, args...)
		if err != nil {
			panic(err) // rethrows a JS exception, or passes an interrupt on
		}
		if rs != nil {
			sb.checkValue(v)
		}
		return v
	}
}
