package executor

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/shared"
)

// small are limits that stop every attack within milliseconds.
func small() shared.Limits {
	return shared.Limits{
		MaxOperations: 50_000,
		MaxStringSize: 64 << 10,
		MaxArraySize:  10_000,
		MaxMapSize:    10_000,
		MaxCallLevels: 64,
		MaxExprDepth:  64,
		TimeoutMS:     5_000, // the ops limit stops loops first, even under -race
	}
}

// regexpAttack prepares a 400 KB input and a pattern whose RE2 worst case
// takes seconds there; each case runs one regexp entry point on them.
const regexpAttack = `function handle(){ const s = 'ab'.repeat(200000); const re = /[a-z]{1,1000}!/; const rg = new RegExp(re.source, 'g'); return `

// regexpLimits leave the clock as the only bound of a 400 KB match.
func regexpLimits(l *shared.Limits) {
	l.MaxOperations = 1 << 40
	l.MaxStringSize = 1 << 20
	l.TimeoutMS = 1000
}

// shortStrings keeps string-growing-by-one loops (quadratic copying) fast.
func shortStrings(l *shared.Limits) { l.MaxStringSize = 4096 }

// TestAttackMatrix runs each attack and asserts what stopped it: a knob
// (LimitError) or a script error naming the reason. After every case a
// normal script must still run on the same executor.
func TestAttackMatrix(t *testing.T) {
	cases := []struct {
		name   string
		src    string
		limits func(*shared.Limits)
		knob   string // LimitError knob; "" means a ScriptError containing errSub
		errSub string
	}{
		{name: "expression nesting", src: "function handle(){ return " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + " }", knob: shared.KnobMaxExprDepth},
		{name: "expression nesting without brackets", src: "function handle(){ return " + strings.Repeat("!", 100) + "0 }", knob: shared.KnobMaxExprDepth},
		{name: "infinite loop", src: `function handle(){ for(;;){} }`, knob: shared.KnobMaxOperations},
		{name: "infinite while", src: `function handle(){ while(true); }`, knob: shared.KnobMaxOperations},
		{name: "infinite do-while", src: `function handle(){ do {} while(true) }`, knob: shared.KnobMaxOperations},
		{name: "infinite loop, timeout", src: `function handle(){ for(;;){} }`, limits: func(l *shared.Limits) { l.MaxOperations = 1 << 60; l.TimeoutMS = 50 }, knob: shared.KnobTimeoutMS},
		{name: "ops 10000 loop at 500", src: `function handle(){ let i=0; for(;i<10000;i++){} return i }`, limits: func(l *shared.Limits) { l.MaxOperations = 500 }, knob: shared.KnobMaxOperations},
		{name: "deep recursion", src: `function f(n){ return f(n+1) } function handle(){ return f(0) }`, knob: shared.KnobMaxCallLevels},
		{name: "recursion through forEach", src: `function f(n){ [1].forEach(() => f(n+1)) } function handle(){ f(0) }`, knob: shared.KnobMaxCallLevels},
		{name: "s+=s", src: `function handle(){ let s='x'; for(;;) s+=s; }`, knob: shared.KnobMaxStringSize},
		{name: "s=s+s unrolled", src: `function handle(){ let s='xxxxxxxxxxxxxxxx'; ` + strings.Repeat("s=s+s;", 14) + ` return s.length }`, knob: shared.KnobMaxStringSize},
		{name: "template literal", src: "function handle(){ let s='x'; for(;;) s=`${s}${s}`; }", knob: shared.KnobMaxStringSize},
		{name: "repeat 1e9", src: `function handle(){ return 'x'.repeat(1e9) }`, knob: shared.KnobMaxStringSize},
		{name: "padStart", src: `function handle(){ return 'x'.padStart(1e9) }`, knob: shared.KnobMaxStringSize},
		{name: "join", src: `function handle(){ const a=[]; for(let i=0;i<1000;i++) a.push('y'.repeat(1000)); return a.join('') }`, knob: shared.KnobMaxStringSize},
		{name: "join of native-converting objects", src: `function handle(){ const big = new String('y'.repeat(60000)); return Array(5000).fill(big).join('') }`, knob: shared.KnobMaxStringSize},
		{name: "join of bound valueOf", src: `function handle(){ const o = { toString: String.prototype.valueOf.bind('y'.repeat(60000)) }; return Array(5000).fill(o).join('') }`, knob: shared.KnobMaxStringSize},
		{name: "concat of String objects", src: `function handle(){ const big = new String('y'.repeat(60000)); return ''.concat(big, big) }`, knob: shared.KnobMaxStringSize},
		{name: "stringify of native toJSON", src: `function handle(){ const o = { toJSON: String.prototype.valueOf.bind('y'.repeat(60000)) }; return JSON.stringify(Array(5000).fill(o)) }`, knob: shared.KnobMaxStringSize},
		{name: "sort of long strings", src: `function handle(){ const a = []; const base = 'y'.repeat(60000); for (let i = 0; i < 2000; i++) a.push(base + (i * 7919 % 2000)); return a.sort()[0].length }`, limits: func(l *shared.Limits) { l.MaxArraySize = 100000 }, knob: shared.KnobMaxOperations},
		{name: "String.raw of String objects", src: `function handle(){ const big = new String('y'.repeat(60000)); return String.raw({raw: Array(5000).fill(big)}) }`, knob: shared.KnobMaxStringSize},
		{name: "native callback in map", src: `function handle(){ const a = Array(5000).fill(60000); return a.map(Function.prototype.call, String.prototype.repeat.bind('y')).length }`, limits: func(l *shared.Limits) { l.MaxOperations = 1000 }, knob: shared.KnobMaxOperations},
		{name: "Set of long strings", src: `function handle(){ const big = 'y'.repeat(60000); return new Set(Array(5000).fill(big)).size }`, limits: func(l *shared.Limits) { l.MaxOperations = 100_000 }, knob: shared.KnobMaxOperations},
		{name: "toLocaleString of String objects", src: `function handle(){ const big = new String('y'.repeat(60000)); return Array(5000).fill(big).toLocaleString() }`, knob: shared.KnobMaxStringSize},
		{name: "join big separator", src: `function handle(){ return Array(5000).join('x'.repeat(60000)) }`, knob: shared.KnobMaxStringSize},
		{name: "replaceAll growth", src: `function handle(){ return 'a'.repeat(60000).replaceAll('a', 'bbbbbbbbbb') }`, knob: shared.KnobMaxStringSize},
		{name: "regex replace growth", src: `function handle(){ return 'a'.repeat(60000).replace(/a/g, 'bbbbbbbbbb') }`, limits: func(l *shared.Limits) { l.MaxOperations = 1 << 40 }, knob: shared.KnobMaxStringSize},
		{name: "JSON.stringify nested sharing", src: `function handle(){ let a=['x'.repeat(1000)]; for(let i=0;i<30;i++) a=[a,a]; return JSON.stringify(a) }`, knob: shared.KnobMaxStringSize},
		{name: "s += 1 on a string", src: `function handle(){ let s = ''; for(;;) s += 1; }`, limits: shortStrings, knob: shared.KnobMaxStringSize},
		{name: "numeric var later a string", src: `function handle(){ let s = 0; s = 'x'; for(;;) s += 1; }`, limits: shortStrings, knob: shared.KnobMaxStringSize},
		{name: "numeric var made a string by a closure", src: `function handle(){ let s = 0; const f = () => { s = 'x' }; f(); for(;;) s += 1; }`, limits: shortStrings, knob: shared.KnobMaxStringSize},
		{name: "numeric var shadowed by a string", src: `let s = 0; function handle(){ let s = 'x'; for(;;) s += 1; }`, limits: shortStrings, knob: shared.KnobMaxStringSize},
		{name: "numeric var via destructuring", src: `function handle(){ let s = 0; [s] = ['x']; for(;;) s += 1; }`, limits: shortStrings, knob: shared.KnobMaxStringSize},
		{name: "numeric var via for-in", src: `function handle(){ var k = 0; for (k in {a: 1}) {} for(;;) k += 1; }`, limits: shortStrings, knob: shared.KnobMaxStringSize},
		{name: "numeric var via logical assignment", src: `function handle(){ let s = 0; s ||= 'x'; s &&= 'y'; for(;;) s += 1; }`, limits: shortStrings, knob: shared.KnobMaxStringSize},
		{name: "index write loop counts operations", src: `function handle(){ const a = [0]; for(;;) a[0] = 1; }`, knob: shared.KnobMaxOperations},
		{name: "push loop", src: `function handle(){ const a=[]; for(;;) a.push(1); }`, knob: shared.KnobMaxArraySize},
		{name: "index write far", src: `function handle(){ const a=[]; a[200000]=1; return 'ok' }`, knob: shared.KnobMaxArraySize},
		{name: "length = 1e9", src: `function handle(){ const a=[]; a.length=1e9; return 'ok' }`, knob: shared.KnobMaxArraySize},
		{name: "Reflect.set far index", src: `function handle(){ const a=[]; Reflect.set(a, 200000, 1); return 'ok' }`, knob: shared.KnobMaxArraySize},
		{name: "defineProperty length", src: `function handle(){ const a=[]; Object.defineProperty(a, 'length', {value: 1e9}); return 'ok' }`, knob: shared.KnobMaxArraySize},
		{name: "apply with a huge array-like", src: `function handle(){ return Math.max.apply(null, {length: 1e9}) }`, knob: shared.KnobMaxArraySize},
		{name: "Reflect.apply with a huge array-like", src: `function handle(){ return Reflect.apply(Math.max, null, {length: 1e9}) }`, knob: shared.KnobMaxArraySize},
		{name: "Reflect.construct with a huge array-like", src: `function handle(){ return Reflect.construct(Date, {length: 1e9}) }`, knob: shared.KnobMaxArraySize},
		{name: "new Array(1e9)", src: `function handle(){ return new Array(1e9).length }`, knob: shared.KnobMaxArraySize},
		{name: "Array(1e6).fill(0)", src: `function handle(){ return Array(1e6).fill(0).length }`, knob: shared.KnobMaxArraySize},
		{name: "spread keys", src: `function handle(){ return [...Array(1e6).keys()].length }`, knob: shared.KnobMaxArraySize},
		{name: "constructor escape", src: `function handle(){ return [].constructor(1e9).length }`, knob: shared.KnobMaxArraySize},
		{name: "Array.from length", src: `function handle(){ return Array.from({length: 1e9}).length }`, knob: shared.KnobMaxArraySize},
		{name: "concat doubling", src: `function handle(){ let a=[1,2,3,4]; for(;;) a=a.concat(a); }`, knob: shared.KnobMaxArraySize},
		{name: "array spread doubling", src: `function handle(){ let a=[1,2,3,4]; for(;;) a=[...a, ...a]; }`, knob: shared.KnobMaxArraySize},
		{name: "object spread", src: `function handle(){ const a={}, b={}; for(let i=0;i<6000;i++){ a['a'+i]=1; b['b'+i]=1 } return Object.keys({...a, ...b}).length }`, knob: shared.KnobMaxMapSize},
		{name: "new Set from big array", src: `function handle(){ const a=[]; for(let i=0;i<9000;i++) a.push(i); return new Set(a).size }`, limits: func(l *shared.Limits) { l.MaxMapSize = 1000 }, knob: shared.KnobMaxMapSize},
		{name: "flat of shared arrays", src: `function handle(){ let a = [1, 2]; for (let i = 0; i < 30; i++) a = [a, a]; return a.flat(Infinity).length }`, knob: shared.KnobMaxArraySize},
		{name: "split into characters", src: `function handle(){ return 'x'.repeat(60000).split('').length }`, knob: shared.KnobMaxArraySize},
		{name: "bind chain", src: `function handle(){ let f = function(){}; for(;;) f = f.bind(null) }`, limits: func(l *shared.Limits) { l.MaxStringSize = 6000; l.MaxOperations = 1 << 40 }, knob: shared.KnobMaxStringSize},
		{name: "typed array", src: `function handle(){ return new Uint8Array(1e9).length }`, knob: shared.KnobMaxArraySize},
		{name: "ArrayBuffer", src: `function handle(){ return new ArrayBuffer(1e10).byteLength }`, knob: shared.KnobMaxArraySize},
		{name: "big JSON.parse", src: `function handle(){ return JSON.parse('[' + '0,'.repeat(20000) + '0]').length }`, knob: shared.KnobMaxArraySize},
		{name: "big JSON.parse object", src: `function handle(){ let s = '{'; for (let i = 0; i < 12000; i++) s += '"k' + i + '":0,'; return Object.keys(JSON.parse(s + '"end":1}')).length }`, limits: func(l *shared.Limits) { l.MaxStringSize = 1 << 20 }, knob: shared.KnobMaxMapSize},
		{name: "object keys", src: `function handle(){ const o={}; for(let i=0;;i++) o['k'+i]=i; }`, knob: shared.KnobMaxMapSize},
		{name: "Map.set loop", src: `function handle(){ const m=new Map(); for(let i=0;;i++) m.set(i,i); }`, knob: shared.KnobMaxMapSize},
		{name: "Set.add loop", src: `function handle(){ const s=new Set(); for(let i=0;;i++) s.add(i); }`, knob: shared.KnobMaxMapSize},
		{name: "Object.assign", src: `function handle(){ const src={}; for(let i=0;i<9000;i++) src['a'+i]=1; const o=Object.assign({}, src); for(let i=0;i<9000;i++) o['b'+i]=1; }`, knob: shared.KnobMaxMapSize},
		{name: "limit inside try/catch/finally", src: `function handle(){ let n=0; for(;;){ try { for(;;){} } catch(e) { n++ } finally { n++ } } }`, knob: shared.KnobMaxOperations},
		{name: "string limit inside try", src: `function handle(){ try { 'x'.repeat(1e9) } catch(e) { return 'caught' } return 'ran on' }`, knob: shared.KnobMaxStringSize},
		{name: "limit in sort callback", src: `function handle(){ const a=[3,2,1]; try { a.sort(() => { for(;;){} }) } catch(e) {} return 'escaped' }`, knob: shared.KnobMaxOperations},
		{name: "limit in replace callback", src: `function handle(){ try { 'aaa'.replace(/a/g, () => 'x'.repeat(1e9)) } catch(e) {} return 'escaped' }`, knob: shared.KnobMaxStringSize},
		{name: "stack overflow caught", src: `function f(){ f() } function handle(){ try { f() } catch(e) { return 'caught' } }`, knob: shared.KnobMaxCallLevels},
		{name: "generator infinite", src: `function* g(){ for(;;) yield 1 } function handle(){ for (const x of g()) {} }`, limits: func(l *shared.Limits) { l.MaxOperations = 20_000; l.TimeoutMS = 2000 }, knob: shared.KnobMaxOperations},
		{name: "async loop", src: `async function handle(){ for(;;) await 1 }`, limits: func(l *shared.Limits) { l.MaxOperations = 20_000; l.TimeoutMS = 2000 }, knob: shared.KnobMaxOperations},
		{name: "regex bomb dynamic", src: `function handle(){ return new RegExp('^(a+)+\\1$').test('a'.repeat(30)+'b') }`, errSub: "backtracking"},
		{name: "regex linear but heavy", src: `function handle(){ return String('a'.repeat(60000).search(/(a|aa){0,100}b/)) }`, knob: shared.KnobMaxOperations},
		{name: "regex heavy in a loop", src: `function handle(){ const s = 'x'.repeat(60000); let n = 0; for(;;) n += s.search(/x{1,50}y/) }`, knob: shared.KnobMaxOperations},
		{name: "regex bomb via match string", src: `function handle(){ return 'aaaa'.match('(a)\\1') }`, errSub: "backtracking"},
		{name: "deeply nested join", src: `function handle(){ let a = [1]; for (let i = 0; i < 5000; i++) a = [a]; return String(a) }`, errSub: "nested deeper"},
		{name: "deeply nested JSON.stringify", src: `function handle(){ let a = [1]; for (let i = 0; i < 5000; i++) a = [a]; return JSON.stringify(a) }`, errSub: "nested deeper"},
		{name: "deeply nested object body", src: `function handle(){ let o = {}; for (let i = 0; i < 5000; i++) o = {o}; return { body: o } }`, errSub: "nested deeper"},
		{name: "deeply nested flat", src: `function handle(){ let a = [1]; for (let i = 0; i < 5000; i++) a = [a]; return a.flat(Infinity) }`, errSub: "nested deeper"},
		{name: "deep proxy chain", src: `function handle(){ let p = {}; for (let i = 0; i < 5000; i++) p = new Proxy(p, {}); return String(p.x) }`, errSub: "nested deeper"},
		{name: "deep revocable proxy chain", src: `function handle(){ let p = {}; for (let i = 0; i < 5000; i++) p = Proxy.revocable(p, {}).proxy; return String(p.x) }`, errSub: "nested deeper"},
		{name: "regexp exec on 400 KB", src: regexpAttack + `re.exec(s) }`, limits: regexpLimits, knob: shared.KnobTimeoutMS},
		{name: "regexp test on 400 KB", src: regexpAttack + `re.test(s) }`, limits: regexpLimits, knob: shared.KnobTimeoutMS},
		{name: "regexp match on 400 KB", src: regexpAttack + `s.match(re) }`, limits: regexpLimits, knob: shared.KnobTimeoutMS},
		{name: "regexp matchAll on 400 KB", src: regexpAttack + `[...s.matchAll(rg)] }`, limits: regexpLimits, knob: shared.KnobTimeoutMS},
		{name: "regexp replace on 400 KB", src: regexpAttack + `s.replace(re, 'x') }`, limits: regexpLimits, knob: shared.KnobTimeoutMS},
		{name: "regexp replaceAll on 400 KB", src: regexpAttack + `s.replaceAll(rg, 'x') }`, limits: regexpLimits, knob: shared.KnobTimeoutMS},
		{name: "regexp search on 400 KB", src: regexpAttack + `s.search(re) }`, limits: regexpLimits, knob: shared.KnobTimeoutMS},
		{name: "regexp split on 400 KB", src: regexpAttack + `s.split(re) }`, limits: regexpLimits, knob: shared.KnobTimeoutMS},
		{name: "regexp Symbol.match on 400 KB", src: regexpAttack + `re[Symbol.match](s) }`, limits: regexpLimits, knob: shared.KnobTimeoutMS},
		{name: "regexp Symbol.matchAll on 400 KB", src: regexpAttack + `[...re[Symbol.matchAll](s)] }`, limits: regexpLimits, knob: shared.KnobTimeoutMS},
		{name: "regexp Symbol.replace on 400 KB", src: regexpAttack + `re[Symbol.replace](s, 'x') }`, limits: regexpLimits, knob: shared.KnobTimeoutMS},
		{name: "regexp Symbol.search on 400 KB", src: regexpAttack + `re[Symbol.search](s) }`, limits: regexpLimits, knob: shared.KnobTimeoutMS},
		{name: "regexp Symbol.split on 400 KB", src: regexpAttack + `re[Symbol.split](s) }`, limits: regexpLimits, knob: shared.KnobTimeoutMS},
		{name: "regexp test of a subclass on 400 KB", src: regexpAttack + `new (class extends RegExp {})(re.source).test(s) }`, limits: regexpLimits, knob: shared.KnobTimeoutMS},
		{name: "regexp test after compile on 400 KB", src: regexpAttack + `/a/.compile(re.source).test(s) }`, limits: regexpLimits, knob: shared.KnobTimeoutMS},
		{name: "eval removed", src: `function handle(){ return eval('1+1') }`, errSub: "eval"},
		{name: "Function constructor", src: `function handle(){ return (function(){}).constructor('return 1')() }`, errSub: "code generation"},
		{name: "async Function constructor", src: `function handle(){ return Object.getPrototypeOf(async function(){}).constructor('return 1') }`, errSub: "code generation"},
		{name: "no require", src: `function handle(){ return require('fs') }`, errSub: "require"},
		{name: "no timers", src: `function handle(){ setTimeout(() => {}, 1) }`, errSub: "setTimeout"},
		{name: "arguments inside functions still work", src: "function f(){ return arguments.length } function handle(){ for(;;) f(1, 2) }", knob: shared.KnobMaxOperations},
		{name: "overwrite hidden tick", src: "function handle(){ globalThis['%tick'] = function(){}; for(;;){} }", knob: shared.KnobMaxOperations},
	}
	e := New(Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := small()
			if tc.limits != nil {
				tc.limits(&l)
			}
			// CPU time, not wall time: on a loaded machine a run that stops
			// on time can take seconds of wall time to be scheduled.
			start := cpuTime()
			if tc.knob == shared.KnobMaxExprDepth { // refused when saved or loaded
				_, err := e.Compile(0, 0, tc.src, l)
				se, ok := shared.AsError(err)
				if !ok || se.Code != shared.CodeValidationFailed || se.Detail("limit") != shared.KnobMaxExprDepth {
					t.Fatalf("want validation_failed naming max_expr_depth, got %v", err)
				}
				healthy(t, e)
				return
			}
			res := run(t, e, tc.src, l, &Request{Method: "GET", Path: "/"})
			assertStopped(t, res, tc.knob, tc.errSub)
			if d := cpuTime() - start; d > 5*time.Second {
				t.Fatalf("took %v of CPU", d)
			}
			healthy(t, e)
		})
	}
}

// assertStopped asserts what stopped a run: the limit knob, or when knob
// is "" a script error containing errSub; and that it answered nothing.
func assertStopped(t *testing.T, res *Result, knob, errSub string) {
	t.Helper()
	if knob != "" {
		var le *LimitError
		if !errors.As(res.Err, &le) || le.Knob != knob {
			t.Fatalf("want limit %s, got %v (body %q)", knob, res.Err, res.Body)
		}
		if res.Err.Error() != "sandbox limit "+knob+" exceeded" {
			t.Fatalf("message %q", res.Err.Error())
		}
	} else {
		var se *ScriptError
		if !errors.As(res.Err, &se) || !strings.Contains(se.Message, errSub) {
			t.Fatalf("want script error with %q, got %v", errSub, res.Err)
		}
	}
	if res.Body != nil || res.Status != 0 {
		t.Fatalf("a stopped script returned a response: %d %q", res.Status, res.Body)
	}
}

// healthy asserts a normal script still runs.
func healthy(t *testing.T, e *Executor) {
	t.Helper()
	res := run(t, e, `function handle(req){ const a=[1,2,3]; return a.map(x => x*2).join(',') + req.path }`, shared.DefaultLimits(), &Request{Path: "/ok"})
	if res.Err != nil || string(res.Body) != "2,4,6/ok" {
		t.Fatalf("node unhealthy after attack: %v %q", res.Err, res.Body)
	}
}

// TestOperationsExample is SPEC §5's example: 10,000 iterations fail at 500
// operations and answer 10000 at 1,000,000.
func TestOperationsExample(t *testing.T) {
	e := New(Options{})
	src := `function handle(){ let i=0; for(;i<10000;i++){} return i }`
	l := shared.DefaultLimits()
	l.MaxOperations = 500
	p, err := e.Compile(7, 1, src, l)
	if err != nil {
		t.Fatal(err)
	}
	res := e.Run(context.Background(), Invocation{Program: p, Limits: l})
	var le *LimitError
	if !errors.As(res.Err, &le) || le.Knob != shared.KnobMaxOperations {
		t.Fatalf("want max_operations, got %v", res.Err)
	}
	l.MaxOperations = 1_000_000
	res = e.Run(context.Background(), Invocation{Program: p, Limits: l})
	if res.Err != nil || string(res.Body) != "10000" {
		t.Fatalf("got %v %q", res.Err, res.Body)
	}
}
