package executor

import (
	"context"
	"strings"
	"testing"

	"github.com/picloud/picloud/shared"
)

// oneRuntime returns an Executor that runs one script at a time and keeps
// one idle runtime, so consecutive runs of different scripts share it.
func oneRuntime() *Executor {
	return New(Options{PoolSize: 1})
}

// pooled is the runtime waiting in e's single pool slot, or nil.
func pooled(e *Executor) *sandbox {
	select {
	case sb := <-e.idle:
		e.idle <- sb
		return sb
	default:
		return nil
	}
}

// TestNothingLeaksBetweenScriptsOnOneRuntime: app A's script does what it
// can to leave something behind in the runtime, then app B's script runs on
// that same runtime and must find nothing of it.
func TestNothingLeaksBetweenScriptsOnOneRuntime(t *testing.T) {
	cases := []struct {
		name, a, b, want string
	}{
		{"top-level names",
			`var secret = 'a'; let kept = ['a']; function helper(){ return 'a' } function handle(){ return secret }`,
			`function handle(){ return [typeof secret, typeof kept, typeof helper].join() }`,
			"undefined,undefined,undefined"},
		{"globals",
			`function handle(){ try { globalThis.x = 'a' } catch (e) {} try { leaked = 'a' } catch (e) {}
				try { this.y = 'a' } catch (e) {} return 'wrote' }`,
			`function handle(){ return [typeof x, typeof leaked, typeof globalThis.y].join() }`,
			"undefined,undefined,undefined"},
		{"prototypes",
			`function handle(){ for (const P of [Object.prototype, Array.prototype, Function.prototype, String.prototype,
				Promise.prototype, Symbol.prototype, Date.prototype, RegExp.prototype, Error.prototype]) {
				try { P.leak = 'a' } catch (e) {} try { Object.defineProperty(P, 'leak2', {value: 'a'}) } catch (e) {} }
				try { Object.setPrototypeOf(Object.prototype, {leak3: 'a'}) } catch (e) {}
				return 'wrote' }`,
			`function handle(){ const seen = [({}).leak, [].leak, (function(){}).leak, ''.leak, Promise.resolve().leak,
				Symbol().leak, new Date().leak, /x/.leak, new Error().leak, ({}).leak2, ({}).leak3]
				return seen.filter(v => v !== undefined).join() }`,
			""},
		{"built-in functions replaced",
			`function handle(){ const f = () => 'a'
				for (const [o, k] of [[JSON, 'stringify'], [Math, 'random'], [Date, 'now'], [Array.prototype, 'map'],
					[Object, 'keys'], [Promise.prototype, 'then'], [String.prototype, 'replace'], [console, 'log'], [Symbol, 'for']]) {
					try { o[k] = f } catch (e) {} }
				return 'wrote' }`,
			`function handle(){ return [JSON.stringify([1]), typeof Math.random(), typeof Date.now(), [1].map(x => x + 1)[0],
				Object.keys({k: 1})[0], typeof Symbol.for('k')].join() }`,
			"[1],number,number,2,k,symbol"},
		{"stored closures",
			`function handle(){ const grab = () => 'a'
				try { Object.prototype.toString = grab } catch (e) {}
				try { Object.defineProperty(Object.prototype, 'valueOf', {get: grab}) } catch (e) {}
				try { Symbol.for('picloud').hook = grab } catch (e) {}
				try { Array.prototype[Symbol.iterator] = grab } catch (e) {}
				return 'wrote' }`,
			`function handle(){ return [String({}), typeof Symbol.for('picloud').hook, [...[1, 2]].length].join() }`,
			"[object Object],undefined,2"},
		{"tamed built-in methods themselves",
			`function handle(){ for (const f of [Object.prototype.toString, Object.prototype.hasOwnProperty, Function.prototype.call,
					Array.prototype.toString, Error.prototype.toString, Promise.prototype.then, Boolean.prototype.valueOf, RegExp.prototype.toString]) {
					try { f.leak = 'a' } catch (e) {} try { delete f.length } catch (e) {} try { Object.setPrototypeOf(f, null) } catch (e) {} }
				return 'wrote' }`,
			`function handle(){ const fs = [Object.prototype.toString, Object.prototype.hasOwnProperty, Function.prototype.call,
					Array.prototype.toString, Error.prototype.toString, Promise.prototype.then, Boolean.prototype.valueOf, RegExp.prototype.toString]
				return fs.map(f => [f.leak, f.length, Object.getPrototypeOf(f) === Function.prototype, Object.isFrozen(f)].join()).join(' ') }`,
			",0,true,true ,1,true,true ,1,true,true ,0,true,true ,0,true,true ,2,true,true ,0,true,true ,0,true,true"},
		{"WeakMap keyed by a built-in",
			`const wm = new WeakMap(); function handle(){ wm.set(Object.prototype, 'a'); wm.set(Math, 'a'); return 'wrote' }`,
			`function handle(){ const wm = new WeakMap(); return String(wm.has(Object.prototype) || wm.has(Math)) }`,
			"false"},
		{"regular expression state",
			`function handle(){ const re = /(a)/g; re.exec('aaa'); re.exec('aaa'); 'xay'.replace(/(a)/, '$1'); return String(re.lastIndex) }`,
			`function handle(){ const re = /(a)/g; return [re.lastIndex, typeof RegExp.$1, typeof RegExp.lastMatch].join() }`,
			"0,undefined,undefined"},
		{"console",
			`function handle(){ console.log('secret of a'); try { console.log = () => {} } catch (e) {} return 'wrote' }`,
			`function handle(){ console.log('b speaks'); return 'read' }`,
			"read"},
		{"error machinery",
			`function handle(){ try { Error.stackTraceLimit = 0 } catch (e) {} try { Error.prepareStackTrace = () => 'a' } catch (e) {}
				try { Error.captureStackTrace = () => 'a' } catch (e) {} return 'wrote' }`,
			`function handle(){ return [typeof Error.prepareStackTrace, String(new Error('x').stack).includes('x')].join() }`,
			"undefined,true"},
		{"promise job left queued by a response getter",
			`function handle(){ return { get status() { Promise.resolve().then(() => console.log('job of a')); return 200 }, body: 'a' } }`,
			`function handle(){ return 'b' }`,
			"b"},
		{"async handle",
			`async function handle(){ await null; Promise.resolve().then(() => console.log('late job of a')); return 'a' }`,
			`function handle(){ return 'b' }`,
			"b"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := oneRuntime()
			l := shared.DefaultLimits()
			pa, err := e.Compile(int64(2*i+1), 1, tc.a, l)
			if err != nil {
				t.Fatal(err)
			}
			pb, err := e.Compile(int64(2*i+2), 1, tc.b, l)
			if err != nil {
				t.Fatal(err)
			}
			for n := 0; n < 2; n++ {
				resA := e.Run(context.Background(), Invocation{Program: pa, Limits: l, Request: &Request{App: "a"}})
				if resA.Err != nil {
					t.Fatalf("app a: %v", resA.Err)
				}
				sb := pooled(e)
				if sb == nil {
					t.Fatal("app a's clean run left no runtime in the pool")
				}
				resB := e.Run(context.Background(), Invocation{Program: pb, Limits: l, Request: &Request{App: "b"}})
				if got := body(t, resB); got != tc.want {
					t.Fatalf("app b got %q, want %q", got, tc.want)
				}
				if strings.Contains(resB.Output, "of a") {
					t.Fatalf("app b's output holds app a's: %q", resB.Output)
				}
				if pooled(e) != sb {
					t.Fatal("app b did not run on app a's runtime")
				}
			}
		})
	}
}

// TestSharedRuntimeDiscardedAfterFault: a runtime that hit a limit, timed
// out or ended in an uncaught error is not handed to the next script.
func TestSharedRuntimeDiscardedAfterFault(t *testing.T) {
	faults := []struct{ name, src string }{
		{"operations", `function handle(){ for (;;) {} }`},
		{"uncaught error", `function handle(){ throw new Error('boom') }`},
		{"string size", `function handle(){ let s = 'x'; for (;;) s += s }`},
	}
	for i, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			e := oneRuntime()
			l := small()
			good, err := e.Compile(100, 1, `function handle(){ return 'fine' }`, l)
			if err != nil {
				t.Fatal(err)
			}
			bad, err := e.Compile(int64(200+i), 1, f.src, l)
			if err != nil {
				t.Fatal(err)
			}
			body(t, e.Run(context.Background(), Invocation{Program: good, Limits: l}))
			before := pooled(e)
			if res := e.Run(context.Background(), Invocation{Program: bad, Limits: l}); res.Err == nil {
				t.Fatal("fault not reported")
			}
			if pooled(e) != nil {
				t.Fatal("the faulted runtime went back to the pool")
			}
			if got := body(t, e.Run(context.Background(), Invocation{Program: good, Limits: l})); got != "fine" {
				t.Fatalf("got %q", got)
			}
			if after := pooled(e); after == nil || after == before {
				t.Fatal("the next run did not get a fresh runtime")
			}
		})
	}
}

// TestNewVersionRunsWarm: a script version seen for the first time runs on
// an already hardened runtime instead of building one.
func TestNewVersionRunsWarm(t *testing.T) {
	e := oneRuntime()
	l := shared.DefaultLimits()
	for v := int64(1); v <= 3; v++ {
		p, err := e.Compile(1, v, `function handle(){ return "v`+string(rune('0'+v))+`" }`, l)
		if err != nil {
			t.Fatal(err)
		}
		before := pooled(e)
		if got := body(t, e.Run(context.Background(), Invocation{Program: p, Limits: l})); got != "v"+string(rune('0'+v)) {
			t.Fatalf("version %d answered %q", v, got)
		}
		if v > 1 && pooled(e) != before {
			t.Fatalf("version %d built a new runtime", v)
		}
	}
}

// TestSymbolRegistryDoesNotGrowAcrossRuns: Symbol.for keeps keys for the
// runtime's lifetime, so a runtime whose scripts registered many keys is
// retired instead of pooled; reusing one key does not count.
func TestSymbolRegistryDoesNotGrowAcrossRuns(t *testing.T) {
	e := oneRuntime()
	l := shared.DefaultLimits()
	same, err := e.Compile(1, 1, `function handle(){ for (let i = 0; i < 10000; i++) Symbol.for('k'); return String(Symbol.keyFor(Symbol.for('k'))) }`, l)
	if err != nil {
		t.Fatal(err)
	}
	many, err := e.Compile(2, 1, `function handle(){ const pad = 'x'.repeat(1000); for (let i = 0; i < 300; i++) Symbol.for(pad + i); return 'ok' }`, l)
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < 3; n++ {
		if got := body(t, e.Run(context.Background(), Invocation{Program: same, Limits: l})); got != "k" {
			t.Fatalf("got %q", got)
		}
	}
	if pooled(e) == nil {
		t.Fatal("reusing one Symbol.for key retired the runtime")
	}
	body(t, e.Run(context.Background(), Invocation{Program: many, Limits: l}))
	if pooled(e) != nil {
		t.Fatal("a runtime holding 300 KB of Symbol.for keys went back to the pool")
	}
}
