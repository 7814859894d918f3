package executor

import (
	"errors"
	"math"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"

	"github.com/picloud/picloud/shared"
)

// Every match runs through one bounded exec. With RegExp.prototype's exec
// replaced, goja takes its generic paths for match, matchAll, replace,
// replaceAll, search, split and the Symbol.* methods, which look exec up
// and call it; only test reached the matcher directly, so it is replaced
// too, by the spec's own definition (RegExpExec, ECMA-262 §22.2.7.1),
// which calls exec.

// wrapRegexpMatching replaces RegExp.prototype.exec and test.
func (sb *sandbox) wrapRegexpMatching() error {
	proto := sb.object("RegExp", "prototype")
	if proto == nil {
		return nil
	}
	orig, ok := goja.AssertFunction(proto.Get("exec"))
	if !ok {
		return nil
	}
	execFn := func(call goja.FunctionCall) goja.Value {
		rs := sb.run
		rx, isObj := call.This.(*goja.Object)
		if rs == nil || !isObj || rx.ClassName() != "RegExp" {
			v, err := orig(call.This, call.Arguments...)
			if err != nil {
				panic(err)
			}
			return v
		}
		if rs.stopped() {
			// A native loop (split, replace) keeps calling exec after an
			// interrupt; ending each call at once lets it finish.
			return goja.Null()
		}
		input := sb.toJSString(call.Argument(0)) // once: a toString must not run twice
		if !sb.execFits(rs, rx, int64(input.Length())) {
			return goja.Null()
		}
		began := time.Now()
		v, err := orig(rx, input)
		rs.charge(1 + int64(time.Since(began)/regexpOpTime))
		if err != nil {
			panic(err)
		}
		return v
	}
	exec := sb.native("exec", 1, execFn)
	test := sb.native("test", 1, func(call goja.FunctionCall) goja.Value {
		rx, ok := call.This.(*goja.Object)
		if !ok {
			sb.throw("TypeError", errTestReceiver)
		}
		s := sb.toJSString(call.Argument(0))
		if fn, ok := goja.AssertFunction(rx.Get("exec")); ok {
			v, err := fn(rx, s)
			if err != nil {
				panic(err)
			}
			if _, isObj := v.(*goja.Object); !isObj && !goja.IsNull(v) {
				sb.throw("TypeError", errExecResult)
			}
			return sb.rt.ToValue(!goja.IsNull(v))
		}
		if rx.ClassName() != "RegExp" {
			sb.throw("TypeError", errTestReceiver)
		}
		v := execFn(goja.FunctionCall{This: rx, Arguments: []goja.Value{s}})
		return sb.rt.ToValue(!goja.IsNull(v))
	})
	for name, fn := range map[string]*goja.Object{"exec": exec, "test": test} {
		if err := proto.DefineDataProperty(name, fn, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
			return err
		}
	}
	return sb.wrapSplit(proto)
}

// wrapSplit fixes the limit of RegExp.prototype[Symbol.split] on goja's
// generic path, which exec's replacement puts every split on: it takes
// ToLength(limit) where the spec says ToUint32, so 'abc'.split(/b/, -23)
// gave no pieces. A primitive limit is converted here; an object's
// valueOf must run where the built-in runs it (after the splitter is
// made), so the built-in gets an object whose valueOf converts it then.
func (sb *sandbox) wrapSplit(proto *goja.Object) error {
	orig, ok := goja.AssertFunction(proto.GetSymbol(goja.SymSplit))
	if !ok {
		return nil
	}
	split := sb.native("[Symbol.split]", 2, func(call goja.FunctionCall) goja.Value {
		args := call.Arguments
		if lim := call.Argument(1); !goja.IsUndefined(lim) {
			if _, isObj := lim.(*goja.Object); !isObj {
				args = []goja.Value{call.Argument(0), sb.rt.ToValue(toUint32(lim))}
			} else {
				later := sb.rt.NewObject()
				valueOf := func(goja.FunctionCall) goja.Value { return sb.rt.ToValue(toUint32(lim.ToNumber())) }
				if err := later.DefineDataProperty("valueOf", sb.rt.ToValue(valueOf), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE); err != nil {
					panic(err)
				}
				args = []goja.Value{call.Argument(0), later}
			}
		}
		v, err := orig(call.This, args...)
		if err != nil {
			panic(err)
		}
		return v
	})
	return proto.DefineDataPropertySymbol(goja.SymSplit, split, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

// toUint32 is ECMA-262's ToUint32 of a primitive.
func toUint32(v goja.Value) uint32 {
	f := v.ToFloat()
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return uint32(int64(math.Mod(math.Trunc(f), 1<<32)))
}

var (
	//lint:ignore ST1005 the text of a JavaScript TypeError, as engines word it
	errTestReceiver = errors.New("Method RegExp.prototype.test called on incompatible receiver")
	errExecResult   = errors.New("RegExp exec method returned something other than an Object or null")
)

// execFits checks that one exec of rx on n characters can run: its
// pattern runs on RE2 (a regexp whose pattern compile() changed to one
// needing backtracking is refused here), and its worst case fits.
func (sb *sandbox) execFits(rs *runState, rx *goja.Object, n int64) bool {
	source, flags := sb.regexpFacts(rx)
	info, ok := rs.regexps[rx]
	if !ok || info.source != source || info.flags != flags {
		re, size := sb.goRegexp(source, flags)
		info = regexpInfo{source: source, flags: flags, size: size, re2: re != nil}
		if rs.regexps == nil {
			rs.regexps = make(map[*goja.Object]regexpInfo)
		}
		rs.regexps[rx] = info
	}
	if !info.re2 {
		sb.throw("SyntaxError", errBacktracking)
	}
	start := int64(0)
	if strings.ContainsAny(flags, "gy") {
		// lastIndex is an own data property; converting anything but a
		// number would run script code the built-in runs again.
		if li := rx.Get("lastIndex"); isNumber(li) {
			start = min(toLength(li), n)
		}
	}
	return rs.matchFits(info.size, n-start)
}

// matchFits checks, before a match of a program of size instructions over
// n characters starts, that its worst case fits in what is left of
// max_operations and of the time until the deadline: Interrupt cannot
// stop it once it runs.
func (rs *runState) matchFits(size, n int64) bool {
	worst := size * (n + 1) / regexpStepsPerOp
	if rs.ops+worst > rs.limits.MaxOperations {
		rs.stop(shared.KnobMaxOperations)
		return false
	}
	if steps := size * (n + 1); steps > int64(time.Until(rs.deadline)/regexpStepTime()) {
		rs.stop(shared.KnobTimeoutMS)
		return false
	}
	return true
}

// regexpStepTime is what one step of RE2's worst case (one instruction on
// one character, submatches tracked) costs on this machine, measured once
// per process on such a case (about 10 ms): 60-130 ns on a loaded 2-core
// x86 here, more on a Pi. It is a property of the hardware, not state.
var regexpStepTime = sync.OnceValue(func() time.Duration {
	const pattern, n = `[a-z]{1,40}!`, 2 << 10
	re, size := compileGoRegexp(pattern, "")
	s := strings.Repeat("ab", n/2)
	began := time.Now()
	re.FindStringSubmatchIndex(s)
	return max(time.Since(began)/time.Duration(size*n), 5*time.Nanosecond)
})

type regexpInfo struct {
	source, flags string
	size          int64 // RE2 instructions
	re2           bool  // goja runs it with Go's regexp
}

// regexpFacts reads rx's source and flags through RegExp.prototype's
// original accessors, which read its internal slots: a subclass or an own
// property overriding source, flags or global is never called.
func (sb *sandbox) regexpFacts(rx *goja.Object) (source, flags string) {
	if v, err := sb.regexpSource(rx); err == nil {
		source = v.String()
	}
	for _, f := range sb.regexpFlags {
		if v, err := f.get(rx); err == nil && v.ToBoolean() {
			flags += f.flag
		}
	}
	return source, flags
}

// goRegexp compiles a JavaScript pattern the way goja does for RE2 and
// returns it with its program size; nil and 0 if goja would not use RE2.
// Results are cached per runtime: scripts use few distinct patterns.
func (sb *sandbox) goRegexp(pattern, flags string) (*regexp.Regexp, int64) {
	key := flags + "/" + pattern
	if c, ok := sb.regexps[key]; ok {
		return c.re, c.size
	}
	re, size := compileGoRegexp(pattern, flags)
	if sb.regexps == nil {
		sb.regexps = make(map[string]compiledRegexp)
	}
	if len(sb.regexps) < 256 && len(key) <= 4096 { // bounded: runtimes are pooled
		sb.regexps[key] = compiledRegexp{re, size}
	}
	return re, size
}

type compiledRegexp struct {
	re   *regexp.Regexp
	size int64
}
