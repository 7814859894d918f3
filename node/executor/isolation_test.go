package executor

import (
	"context"
	"testing"
	"time"

	"github.com/picloud/picloud/shared"
)

func body(t *testing.T, res *Result) string {
	t.Helper()
	if res.Err != nil {
		t.Fatalf("run: %v (output %q)", res.Err, res.Output)
	}
	return string(res.Body)
}

// TestStateDoesNotLeakBetweenRequests runs each script several times on the
// same cached program (so pooled runtimes are reused) and expects every
// request to start from scratch.
func TestStateDoesNotLeakBetweenRequests(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"top-level var", `var n = 0; function handle(){ n++; return String(n) }`, "1"},
		{"top-level let", `let cache = []; function handle(){ cache.push(1); return String(cache.length) }`, "1"},
		{"implicit global", `function handle(){ const before = typeof leaked; try { leaked = 1 } catch (e) {} return before }`, "undefined"},
		{"globalThis property", `function handle(){ const before = typeof globalThis.leaked; try { globalThis.leaked = 1 } catch (e) {} return before }`, "undefined"},
		{"Object.prototype", `function handle(){ const before = ({}).polluted; try { Object.prototype.polluted = 1 } catch (e) {} return String(before) }`, "undefined"},
		{"Array.prototype.push", `function handle(){ try { Array.prototype.push = function(){ return 'pwned' } } catch (e) {} const a = []; return String(a.push(1)) }`, "1"},
		{"defineProperty on prototype", `function handle(){ try { Object.defineProperty(String.prototype, 'x', {value: 1}) } catch (e) {} return String(''.x) }`, "undefined"},
		{"generator prototype", `function handle(){ const G = Object.getPrototypeOf(function*(){}); const before = G.polluted; try { G.polluted = 1 } catch (e) {} return String(before) }`, "undefined"},
		{"iterator prototype", `function handle(){ const I = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())); const before = I.polluted; try { I.polluted = 1 } catch (e) {} return String(before) }`, "undefined"},
		{"JSON replaced", `function handle(){ const before = JSON.stringify([1]); try { JSON.stringify = () => 'pwned' } catch (e) {} return before }`, "[1]"},
		{"console replaced", `function handle(){ const ok = typeof console.log; try { console.log = null } catch (e) {} return ok }`, "function"},
		{"Math state", `function handle(){ const before = Math.leak; try { Math.leak = 1 } catch (e) {} return String(before) }`, "undefined"},
	}
	e := New(Options{})
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := e.Compile(int64(100+i), 1, tc.src, shared.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			for n := 0; n < 3; n++ {
				if got := body(t, e.Run(context.Background(), Invocation{Program: p, Limits: shared.DefaultLimits(), Request: &Request{}})); got != tc.want {
					t.Fatalf("request %d: got %q, want %q", n+1, got, tc.want)
				}
			}
		})
	}
}

// TestNothingLeaksBetweenApps: one app's script writes everywhere it can,
// another app's script (a different program) sees none of it.
func TestNothingLeaksBetweenApps(t *testing.T) {
	e := New(Options{})
	writer := `function handle(){
		try { globalThis.shared = 'from app a' } catch (e) {}
		try { Object.prototype.shared = 'from app a' } catch (e) {}
		try { leakedGlobal = 'from app a' } catch (e) {}
		return 'wrote'
	}`
	reader := `function handle(){
		return [typeof shared, typeof ({}).shared, typeof leakedGlobal].join(',')
	}`
	pw, err := e.Compile(1, 1, writer, shared.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	pr, err := e.Compile(2, 1, reader, shared.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < 3; n++ {
		body(t, e.Run(context.Background(), Invocation{Program: pw, Limits: shared.DefaultLimits(), Request: &Request{App: "a"}}))
		if got := body(t, e.Run(context.Background(), Invocation{Program: pr, Limits: shared.DefaultLimits(), Request: &Request{App: "b"}})); got != "undefined,undefined,undefined" {
			t.Fatalf("app b sees %q", got)
		}
	}
}

// TestRuntimeDiscardedAfterLimit: a run stopped by a limit does not poison
// the next run of the same program.
func TestRuntimeDiscardedAfterLimit(t *testing.T) {
	e := New(Options{})
	src := `function handle(req){ if (req.path === '/loop') { for(;;){} } return 'fine' }`
	l := small()
	p, err := e.Compile(3, 1, src, l)
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < 3; n++ {
		res := e.Run(context.Background(), Invocation{Program: p, Limits: l, Request: &Request{Path: "/loop"}})
		if res.Err == nil {
			t.Fatal("loop was not stopped")
		}
		if got := body(t, e.Run(context.Background(), Invocation{Program: p, Limits: l, Request: &Request{Path: "/"}})); got != "fine" {
			t.Fatalf("got %q", got)
		}
	}
}

// TestNoHostAPIs lists what a script must not find. fetch is there, but
// reaches only the app's egress allowlist (fetch_test.go).
func TestNoHostAPIs(t *testing.T) {
	e := New(Options{})
	src := `function handle(){
		const names = ['require', 'process', 'XMLHttpRequest', 'setTimeout', 'setInterval',
			'setImmediate', 'queueMicrotask', 'eval', 'Function', 'GoError', 'module', 'exports', 'Deno', 'Bun', 'WebSocket',
			'BigInt', 'BigInt64Array', 'BigUint64Array'];
		return names.filter(n => { try { return typeof globalThis[n] !== 'undefined' && n !== 'Function' } catch (e) { return false } }).join(',')
	}`
	if got := body(t, run(t, e, src, shared.DefaultLimits(), nil)); got != "" {
		t.Fatalf("reachable: %q", got)
	}
}

// TestConcurrentRuns shares programs across goroutines (run with -race).
func TestConcurrentRuns(t *testing.T) {
	e := New(Options{})
	p, err := e.Compile(9, 1, `var n = 0; function handle(req){ n++; return req.path + n }`, shared.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 20; i++ {
				res := e.Run(context.Background(), Invocation{Program: p, Limits: shared.DefaultLimits(), Request: &Request{Path: "/p"}})
				if res.Err != nil || string(res.Body) != "/p1" {
					done <- string(res.Body)
					return
				}
			}
			done <- "/p1"
		}()
	}
	for g := 0; g < 8; g++ {
		if got := <-done; got != "/p1" {
			t.Fatalf("got %q", got)
		}
	}
}

// TestIdleRuntimesReleased: pooled runtimes are dropped after nothing has
// run for a while, and a later request still runs.
func TestIdleRuntimesReleased(t *testing.T) {
	e := New(Options{IdleTimeout: 40 * time.Millisecond})
	p, err := e.Compile(11, 1, `function handle(){ return "x" }`, shared.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	body(t, e.Run(context.Background(), Invocation{Program: p, Limits: shared.DefaultLimits()}))
	if len(e.idle) != 1 {
		t.Fatalf("idle runtimes after a run: %d", len(e.idle))
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(e.idle) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("idle runtime never released")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := body(t, e.Run(context.Background(), Invocation{Program: p, Limits: shared.DefaultLimits()})); got != "x" {
		t.Fatalf("got %q", got)
	}
}
