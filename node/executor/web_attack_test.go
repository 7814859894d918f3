package executor

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/shared"
)

// TestWebAttacks is the attack matrix for the web globals: each case makes
// a global allocate or work past a knob, and must be stopped by that knob
// (or refused with the error the Web platform throws), quickly, leaving
// the executor healthy.
func TestWebAttacks(t *testing.T) {
	defaults := func(l *shared.Limits) { *l = shared.DefaultLimits() }
	cases := []struct {
		name   string
		src    string
		limits func(*shared.Limits)
		knob   string // "" means a ScriptError containing errSub
		errSub string
	}{
		{name: "btoa of a huge string", src: `function handle(){ return btoa("x".repeat(60000)) }`, knob: shared.KnobMaxStringSize},
		{name: "btoa in a loop", src: `function handle(){ const s = "x".repeat(40000); for(;;) btoa(s) }`, knob: shared.KnobMaxOperations},
		{name: "atob in a loop", src: `function handle(){ const s = "QUFB".repeat(10000); for(;;) atob(s) }`, knob: shared.KnobMaxOperations},
		{name: "URLSearchParams appended forever", src: `function handle(){ const p = new URLSearchParams(); for(;;) p.append("a", "b") }`, knob: shared.KnobMaxArraySize},
		{name: "URLSearchParams with 400,000 entries", src: `function handle(){ return new URLSearchParams("a&".repeat(4e5)).size }`, limits: defaults, knob: shared.KnobMaxArraySize},
		{name: "URLSearchParams from a big string", src: `function handle(){ return new URLSearchParams("a&".repeat(30000)).size }`, knob: shared.KnobMaxArraySize},
		{name: "URLSearchParams from a big record", src: `function handle(){ const o = {}; for (let i = 0; i < 9000; i++) o["k" + i] = 1; return new URLSearchParams(o).size }`, knob: shared.KnobMaxArraySize},
		{name: "URLSearchParams from many pairs", src: `function handle(){ const a = []; for (let i = 0; i < 9000; i++) a.push(["k", "v"]); return new URLSearchParams(a).size }`, knob: shared.KnobMaxArraySize},
		{name: "URLSearchParams serialised past the string knob", src: `function handle(){ const p = new URLSearchParams(); for (let i = 0; i < 4000; i++) p.append("é".repeat(10), "x"); return p.toString() }`, knob: shared.KnobMaxStringSize},
		{name: "URLSearchParams get in a loop", src: `function handle(){ const p = new URLSearchParams("a&".repeat(4000)); for(;;) p.get("zz") }`, knob: shared.KnobMaxOperations},
		{name: "URL whose href grows past the string knob", src: `function handle(){ return new URL("http://h/" + "é".repeat(30000)).href }`, limits: func(l *shared.Limits) { l.MaxOperations = 1e6 }, knob: shared.KnobMaxStringSize},
		{name: "URL parsed in a loop", src: `function handle(){ const s = "http://h/" + "a".repeat(60000); for(;;) new URL(s) }`, knob: shared.KnobMaxOperations},
		{name: "URL setter in a loop", src: `function handle(){ const u = new URL("http://h/"); const s = "a".repeat(60000); for(;;) u.pathname = s }`, knob: shared.KnobMaxOperations},
		{name: "TextEncoder past the buffer bound", src: `function handle(){ return new TextEncoder().encode("€".repeat(30000)).length }`, knob: shared.KnobMaxArraySize},
		{name: "TextDecoder past the string knob", src: `function handle(){ return new TextDecoder().decode(new Uint8Array(70000)).length }`, limits: func(l *shared.Limits) { l.MaxArraySize = 100_000 }, knob: shared.KnobMaxStringSize},
		{name: "TextEncoder in a loop", src: `function handle(){ const s = "x".repeat(60000); const e = new TextEncoder(); for(;;) e.encode(s) }`, knob: shared.KnobMaxOperations},
		{name: "getRandomValues over 65536 bytes", src: `function handle(){ crypto.getRandomValues(new Uint8Array(65537)) }`, limits: defaults, errSub: "QuotaExceededError"},
		{name: "getRandomValues in a loop", src: `function handle(){ const a = new Uint8Array(65536); for(;;) crypto.getRandomValues(a) }`, limits: func(l *shared.Limits) { defaults(l); l.TimeoutMS = 30_000 }, knob: shared.KnobMaxOperations},
		{name: "digest in a loop", src: `async function handle(){ const b = new Uint8Array(10000); for(;;) await crypto.subtle.digest("SHA-256", b) }`, knob: shared.KnobMaxOperations},
		{name: "HMAC in a loop", src: `async function handle(){ const k = await crypto.subtle.importKey("raw", new Uint8Array(64), {name: "HMAC", hash: "SHA-512"}, false, ["sign"]); const b = new Uint8Array(10000); for(;;) await crypto.subtle.sign("HMAC", k, b) }`, knob: shared.KnobMaxOperations},
		{name: "structuredClone of a big array in a loop", src: `function handle(){ const a = Array(9000).fill(0); for(;;) structuredClone(a) }`, knob: shared.KnobMaxOperations},
		{name: "structuredClone of a big Map in a loop", src: `function handle(){ const m = new Map(); for (let i = 0; i < 5000; i++) m.set(i, i); for(;;) structuredClone(m) }`, limits: func(l *shared.Limits) { l.MaxOperations = 200_000 }, knob: shared.KnobMaxOperations},
		{name: "structuredClone of a deep structure", src: `function handle(){ let o = {}; for (let i = 0; i < 100000; i++) o = {o}; return structuredClone(o) }`, limits: func(l *shared.Limits) { l.MaxOperations = 1 << 40; l.TimeoutMS = 30_000 }, knob: shared.KnobMaxMapSize},
		{name: "structuredClone getter that loops", src: `function handle(){ structuredClone({get x() { for(;;){} }}) }`, knob: shared.KnobMaxOperations},
		{name: "structuredClone of a function", src: `function handle(){ structuredClone({f: function(){}}) }`, errSub: "DataCloneError"},
		{name: "atob of junk", src: `function handle(){ atob("*") }`, errSub: "InvalidCharacterError"},
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
			res := run(t, e, tc.src, l, &Request{Method: "GET", Path: "/"})
			if tc.knob != "" {
				var le *LimitError
				if !errors.As(res.Err, &le) || le.Knob != tc.knob {
					t.Fatalf("want limit %s, got %v (body %q)", tc.knob, res.Err, res.Body)
				}
			} else {
				var se *ScriptError
				if !errors.As(res.Err, &se) || !strings.Contains(se.Error(), tc.errSub) {
					t.Fatalf("want script error with %q, got %v (body %q)", tc.errSub, res.Err, res.Body)
				}
			}
			if d := cpuTime() - start; d > 5*time.Second {
				t.Fatalf("took %v of CPU", d)
			}
			healthy(t, e)
		})
	}
}

// Deep and shared structures clone without recursion in Go, and sharing
// keeps a structure that doubles at every level small.
func TestStructuredCloneDeepAndShared(t *testing.T) {
	got := webEval(t, New(Options{}), `let o = {v: 0}; for (let i = 0; i < 3000; i++) o = {o};
		let a = [1]; for (let i = 0; i < 40; i++) a = [a, a];
		const c = structuredClone({o, a});
		let d = 0; for (let x = c.o; x.o; x = x.o) d++;
		return d + " " + (c.a[0] === c.a[1]) + " " + (c.a[0][0] === c.a[1][1])`, shared.DefaultLimits())
	if got != "3000 true true" {
		t.Errorf("got %q", got)
	}
}

// The state web objects keep out of the scripts' reach (a WeakMap of the
// runtime) goes with them: a pooled runtime that served thousands of runs
// making URLs, params, keys and decoders holds no more than after a few.
func TestWebObjectsDoNotOutliveTheirRun(t *testing.T) {
	e := New(Options{PoolSize: 1})
	l := shared.DefaultLimits()
	src := `async function handle(){
		for (let i = 0; i < 20; i++) {
			const u = new URL("http://h/p?a=" + i); u.searchParams.append("b", "x".repeat(200));
			new TextDecoder().decode(new Uint8Array([0xE2]), {stream: true});
			await crypto.subtle.importKey("raw", new Uint8Array(64), {name: "HMAC", hash: "SHA-256"}, false, ["sign"]);
		}
		return "ok" }`
	p, err := e.Compile(1, 1, src, l)
	if err != nil {
		t.Fatal(err)
	}
	runs := func(n int) {
		for range n {
			if res := e.Run(context.Background(), Invocation{Program: p, Limits: l, Request: &Request{}}); res.Err != nil {
				t.Fatal(res.Err)
			}
		}
	}
	runs(100)
	before := heapInUse()
	runs(600)    // 12,000 of each object: a leak of one is over 4 KiB
	runtime.GC() // cleanups of collected keys run after a first collection
	if grew := heapInUse() - before; grew > 8<<20 {
		t.Errorf("the heap grew by %d MiB over 600 runs", grew>>20)
	}
}
