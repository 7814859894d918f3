package executor

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dop251/goja"

	"github.com/picloud/picloud/shared"
)

// slowAPI is a host API for tests only: env.slow(x, ms) returns a promise
// that its Go side settles from a goroutine, after ms milliseconds or, with
// no ms, once release is closed: resolved with "got x", or rejected with a
// TypeError when x is "type:<message>". env.stubborn(x) is the same but
// ignores its context, as a careless host API might.
type slowAPI struct {
	release   chan struct{}
	started   atomic.Int64 // goroutines of work entered
	cancelled atomic.Int64 // works that saw their context end
	completed atomic.Int64 // completions applied
	inFlight  atomic.Int64
	peak      atomic.Int64 // most works running at once
	returned  chan struct{}
}

func newSlowAPI() *slowAPI {
	return &slowAPI{release: make(chan struct{}), returned: make(chan struct{}, 1<<12)}
}

func (s *slowAPI) bindings() *Bindings {
	return &Bindings{objects: map[string]func(*runState) goja.Value{
		"slow":     func(rs *runState) goja.Value { return s.function(rs, true) },
		"stubborn": func(rs *runState) goja.Value { return s.function(rs, false) },
	}}
}

func (s *slowAPI) function(rs *runState, honourCtx bool) goja.Value {
	return rs.sb.rt.ToValue(func(call goja.FunctionCall) goja.Value {
		arg := call.Argument(0).String()
		var delay <-chan time.Time
		if ms := call.Argument(1); !goja.IsUndefined(ms) {
			delay = time.After(time.Duration(ms.ToInteger()) * time.Millisecond)
		}
		return rs.async(func(ctx context.Context) func() (goja.Value, error) {
			defer func() { s.returned <- struct{}{} }()
			s.started.Add(1)
			n := s.inFlight.Add(1)
			defer s.inFlight.Add(-1)
			for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
			}
			done := ctx.Done()
			if !honourCtx {
				done = nil
			}
			select {
			case <-s.release:
			case <-delay:
			case <-done:
				s.cancelled.Add(1)
				return func() (goja.Value, error) { return nil, ctx.Err() }
			}
			return func() (goja.Value, error) {
				s.completed.Add(1)
				if msg, ok := strings.CutPrefix(arg, "type:"); ok {
					return nil, &hostError{"TypeError", msg}
				}
				return rs.sb.rt.ToValue("got " + arg), nil
			}
		})
	})
}

// eventually waits up to a minute for cond (building 200 runtimes under
// the race detector takes a while).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func runWith(t *testing.T, e *Executor, ctx context.Context, src string, l shared.Limits, b *Bindings) *Result {
	t.Helper()
	p, err := e.Compile(0, 0, src, l)
	if err != nil {
		t.Fatal(err)
	}
	return e.Run(ctx, Invocation{Program: p, Limits: l, Bindings: b})
}

// TestAsyncHostCalls: promises a Go goroutine settles resume the script on
// its own runtime, in sequence and in parallel, and a rejection reaches the
// script as the error the host API chose, catchable or failing the run.
func TestAsyncHostCalls(t *testing.T) {
	e := New(Options{})
	l := shared.DefaultLimits()
	api := newSlowAPI()
	for _, tc := range []struct{ name, src, want, wantErr string }{
		{"sequence and parallel", `async function handle(req, env) {
			const a = await env.slow("a", 5)
			const [b, c] = await Promise.all([env.slow("b", 5), env.slow("c", 1)])
			return [a, b, c].join() }`, "got a,got b,got c", ""},
		{"caught rejection", `async function handle(req, env) {
			try { await env.slow("type:bad key", 1) } catch (e) { return e.name + " " + e.message + " " + (e instanceof TypeError) } }`,
			"TypeError bad key true", ""},
		{"uncaught rejection", `async function handle(req, env) { await env.slow("type:bad key", 1); return "not here" }`,
			"", "handle rejected: TypeError: bad key"},
		{"then chains", `function handle(req, env) { return env.slow("x", 1).then(v => env.slow(v + "!", 1)) }`, "got got x!", ""},
		{"many at once", `async function handle(req, env) {
			const all = await Promise.all(Array.from({length: 100}, (_, i) => env.slow(String(i), 2)))
			return String(all.length) + " " + all[99] }`, "100 got 99", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runWith(t, e, context.Background(), tc.src, l, api.bindings())
			if tc.wantErr != "" {
				var se *ScriptError
				if !errors.As(res.Err, &se) || !strings.Contains(se.Message, tc.wantErr) {
					t.Fatalf("got %v, want a script error with %q", res.Err, tc.wantErr)
				}
				return
			}
			if got := body(t, res); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	if p := api.peak.Load(); p > maxInFlight {
		t.Fatalf("%d works ran at once for one run, want at most %d", p, maxInFlight)
	}
}

// TestWaitingRunsHoldNoSlot: 200 runs waiting on slow completions hold no
// run slot, so other scripts keep running meanwhile; released, the 200 all
// finish with their own results.
func TestWaitingRunsHoldNoSlot(t *testing.T) {
	e := New(Options{})
	// Long enough for the first run to outwait building 200 runtimes, even
	// under the race detector.
	l := shared.DefaultLimits().Apply(shared.Overrides{shared.KnobTimeoutMS: 120_000})
	api := newSlowAPI()
	slow, err := e.Compile(1, 1, `async function handle(req, env) { return await env.slow(req.path) }`, l)
	if err != nil {
		t.Fatal(err)
	}
	hello, err := e.Compile(2, 1, `function handle(req) { return "hello " + req.path }`, l)
	if err != nil {
		t.Fatal(err)
	}
	const waiting = 200
	results := make([]*Result, waiting)
	var wg sync.WaitGroup
	for i := range waiting {
		wg.Go(func() {
			results[i] = e.Run(context.Background(), Invocation{Program: slow, Limits: l,
				Request: &Request{Path: fmt.Sprint(i)}, Bindings: api.bindings()})
		})
	}
	eventually(t, "200 runs waiting", func() bool { return api.started.Load() == waiting })
	if n := len(e.slots) + len(e.extra); n != 0 {
		t.Fatalf("%d run slots held by waiting runs", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 50 {
		res := e.Run(ctx, Invocation{Program: hello, Limits: l, Request: &Request{Path: fmt.Sprint(i)}})
		if got := body(t, res); got != fmt.Sprint("hello ", i) {
			t.Fatalf("hello world while 200 wait: %q", got)
		}
	}
	if n := api.completed.Load(); n != 0 {
		t.Fatalf("%d waiting runs completed before the release", n)
	}
	close(api.release)
	wg.Wait()
	for i, res := range results {
		if got := body(t, res); got != fmt.Sprint("got ", i) {
			t.Fatalf("waiting run %d: %q", i, got)
		}
	}
}

// TestTimeoutWhileWaiting: waiting counts toward timeout_ms: a run still
// waiting at its deadline stops with the timeout_ms limit (507 at the
// edge), and its Go work is cancelled.
func TestTimeoutWhileWaiting(t *testing.T) {
	e := New(Options{})
	l := shared.DefaultLimits().Apply(shared.Overrides{shared.KnobTimeoutMS: 100})
	api := newSlowAPI()
	res := runWith(t, e, context.Background(), `async function handle(req, env) { await env.slow("never"); return "no" }`, l, api.bindings())
	var le *LimitError
	if !errors.As(res.Err, &le) || le.Knob != shared.KnobTimeoutMS {
		t.Fatalf("got %v, want the timeout_ms limit", res.Err)
	}
	if res.Duration < 100*time.Millisecond || res.Duration > 2*time.Second {
		t.Fatalf("stopped after %v, want about 100ms", res.Duration)
	}
	eventually(t, "the work cancelled", func() bool { return api.cancelled.Load() == 1 })
}

// TestCancelWhileWaiting: a run whose context ends while it waits stops as
// cancelled, and its Go work is cancelled with it.
func TestCancelWhileWaiting(t *testing.T) {
	e := New(Options{})
	api := newSlowAPI()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *Result)
	go func() {
		done <- runWith(t, e, ctx, `async function handle(req, env) { await env.slow("never"); return "no" }`, shared.DefaultLimits(), api.bindings())
	}()
	eventually(t, "the run waiting", func() bool { return api.started.Load() == 1 })
	cancel()
	res := <-done
	var se *ScriptError
	if !errors.As(res.Err, &se) || !strings.Contains(se.Message, "cancelled") {
		t.Fatalf("got %v, want a cancelled run", res.Err)
	}
	eventually(t, "the work cancelled", func() bool { return api.cancelled.Load() == 1 })
}

// TestLimitAfterResuming: a script that resumes after a completion runs
// under its limits as before it waited.
func TestLimitAfterResuming(t *testing.T) {
	e := New(Options{})
	l := shared.DefaultLimits().Apply(shared.Overrides{shared.KnobMaxOperations: 10_000})
	for _, tc := range []struct{ knob, src string }{
		{shared.KnobMaxOperations, `async function handle(req, env) { await env.slow("x", 1); for (;;) {} }`},
		{shared.KnobMaxCallLevels, `async function handle(req, env) { await env.slow("x", 1); function f() { return f() } return f() }`},
		{shared.KnobMaxStringSize, `async function handle(req, env) { let s = await env.slow("x", 1); for (;;) s += s }`},
	} {
		t.Run(tc.knob, func(t *testing.T) {
			res := runWith(t, e, context.Background(), tc.src, l, newSlowAPI().bindings())
			var le *LimitError
			if !errors.As(res.Err, &le) || le.Knob != tc.knob {
				t.Fatalf("got %v, want the %s limit", res.Err, tc.knob)
			}
		})
	}
}

// TestCompletionsAfterTheRunEnd: work still outstanding when a run ends
// (handle did not wait for it, or the run timed out) is cancelled; a
// completion that arrives anyway is never applied, and the runtime's next
// run, another script's, sees nothing of it.
func TestCompletionsAfterTheRunEnd(t *testing.T) {
	e := New(Options{PoolSize: 1})
	l := shared.DefaultLimits()
	api := newSlowAPI()
	res := runWith(t, e, context.Background(), `async function handle(req, env) {
		env.slow("ignored"); env.stubborn("late").then(v => console.log("applied", v)); return "early" }`, l, api.bindings())
	if got := body(t, res); got != "early" {
		t.Fatalf("got %q", got)
	}
	sb := pooled(e)
	if sb == nil || sb.run != nil {
		t.Fatal("the run did not leave a clean runtime in the pool")
	}
	eventually(t, "the ignored work cancelled", func() bool { return api.cancelled.Load() == 1 })
	close(api.release) // the stubborn work completes now, after its run
	<-api.returned
	<-api.returned

	next := runWith(t, e, context.Background(), `async function handle(req, env) { return await env.slow("next", 1) }`, l, newSlowAPI().bindings())
	if got := body(t, next); got != "got next" || next.Output != "" {
		t.Fatalf("next run: %q, output %q", got, next.Output)
	}
	if pooled(e) != sb {
		t.Fatal("the next run did not reuse the runtime")
	}
	if n := api.completed.Load(); n != 0 {
		t.Fatalf("%d completions applied after their run ended", n)
	}
}

// TestPendingOperationsBounded: one run cannot queue unbounded Go work:
// past maxPending unsettled operations, a call rejects with a RangeError.
func TestPendingOperationsBounded(t *testing.T) {
	e := New(Options{})
	res := runWith(t, e, context.Background(), fmt.Sprintf(`async function handle(req, env) {
		const all = await Promise.allSettled(Array.from({length: %d}, () => env.slow("x", 1)))
		const bad = all.filter(r => r.status === "rejected")
		return bad.length + " " + bad[0].reason.name }`, maxPending+10), shared.DefaultLimits(), newSlowAPI().bindings())
	if got := body(t, res); got != "10 RangeError" {
		t.Fatalf("got %q", got)
	}
}

// BenchmarkWaitingRunMemory reports the heap a run holds while it waits
// on Go work (its runtime, event loop and work goroutine).
func BenchmarkWaitingRunMemory(b *testing.B) {
	const waiting = 100
	e := New(Options{})
	l := shared.DefaultLimits()
	p, err := e.Compile(1, 1, `async function handle(req, env) { return await env.slow("x") }`, l)
	if err != nil {
		b.Fatal(err)
	}
	var perRun float64
	for b.Loop() {
		api := newSlowAPI()
		before := heapInUse()
		var wg sync.WaitGroup
		for range waiting {
			wg.Go(func() { e.Run(context.Background(), Invocation{Program: p, Limits: l, Bindings: api.bindings()}) })
		}
		for api.started.Load() < waiting {
			time.Sleep(time.Millisecond)
		}
		perRun = float64(heapInUse()-before) / waiting
		close(api.release)
		wg.Wait()
	}
	b.ReportMetric(perRun, "heap-B/waiting-run")
}

func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}
