package executor

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/picloud/picloud/shared"
)

// TestWaitingRunRespectsContext: with every run slot taken, extra ones too, a run waits,
// and one whose context ends while waiting fails as a run stopped by that
// context would; once a slot frees, runs go through again.
func TestWaitingRunRespectsContext(t *testing.T) {
	e := New(Options{})
	p, err := e.Compile(1, 1, `function handle(){ return "ran" }`, shared.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	takeAllSlots(e)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	res := e.Run(ctx, Invocation{Program: p, Limits: shared.DefaultLimits()})
	var le *LimitError
	if !errors.As(res.Err, &le) || le.Knob != shared.KnobTimeoutMS {
		t.Fatalf("deadline while waiting: %v, want the timeout_ms limit", res.Err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	res = e.Run(ctx, Invocation{Program: p, Limits: shared.DefaultLimits()})
	var se *ScriptError
	if !errors.As(res.Err, &se) {
		t.Fatalf("cancelled while waiting: %v, want a ScriptError", res.Err)
	}

	done := make(chan *Result)
	go func() {
		done <- e.Run(context.Background(), Invocation{Program: p, Limits: shared.DefaultLimits()})
	}()
	select {
	case res := <-done:
		t.Fatalf("ran without a free slot: %v", res)
	case <-time.After(20 * time.Millisecond):
	}
	<-e.slots
	if got := body(t, <-done); got != "ran" {
		t.Fatalf("got %q", got)
	}
	for range cap(e.slots) - 1 {
		<-e.slots
	}
}

// TestSlowRunsDoNotHoldUpOthers: when every slot stays busy (scripts
// looping until their timeout), a run takes an extra slot after slotWait
// instead of waiting for them, and gives it back.
func TestSlowRunsDoNotHoldUpOthers(t *testing.T) {
	e := New(Options{SlotWait: 5 * time.Millisecond})
	l := shared.DefaultLimits()
	slow, err := e.Compile(1, 1, `function handle(){ for (;;) {} }`, l)
	if err != nil {
		t.Fatal(err)
	}
	quick, err := e.Compile(2, 1, `function handle(){ return "quick" }`, l)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	slowDone := make(chan *Result, cap(e.slots))
	for range cap(e.slots) {
		go func() { slowDone <- e.Run(ctx, Invocation{Program: slow, Limits: l}) }()
	}
	for len(e.slots) < cap(e.slots) {
		time.Sleep(time.Millisecond)
	}
	if got := body(t, e.Run(context.Background(), Invocation{Program: quick, Limits: l})); got != "quick" {
		t.Fatalf("got %q", got)
	}
	if n := len(e.extra); n != 0 {
		t.Fatalf("%d extra slots still held", n)
	}
	cancel()
	for range cap(e.slots) {
		if res := <-slowDone; res.Err == nil {
			t.Fatal("the looping script was not stopped")
		}
	}
}

// TestWaitForSlotDoesNotCountTowardsTimeout: timeout_ms bounds the script's
// run, not the wait for a slot before it, so a run that waited longer than
// its timeout still runs.
func TestWaitForSlotDoesNotCountTowardsTimeout(t *testing.T) {
	e := New(Options{})
	l := shared.DefaultLimits().Apply(shared.Overrides{shared.KnobTimeoutMS: 30})
	p, err := e.Compile(1, 1, `function handle(){ return "ran" }`, l)
	if err != nil {
		t.Fatal(err)
	}
	takeAllSlots(e)
	done := make(chan *Result)
	go func() { done <- e.Run(context.Background(), Invocation{Program: p, Limits: l}) }()
	time.Sleep(100 * time.Millisecond) // > timeout_ms
	<-e.slots
	if got := body(t, <-done); got != "ran" {
		t.Fatalf("got %q", got)
	}
}

// takeAllSlots occupies every run slot, extra ones too, as runs would.
func takeAllSlots(e *Executor) {
	for range cap(e.slots) {
		e.slots <- struct{}{}
	}
	for range cap(e.extra) {
		e.extra <- struct{}{}
	}
}

// TestPoolSizeOption: Options.PoolSize sets the run slots, the extra slots
// (twice as many) and the idle runtimes kept when no run waits; zero
// means twice the CPUs.
func TestPoolSizeOption(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       Options
		wantSlots  int
		wantIdle   int
		wantExtras int
	}{
		{"default", Options{}, DefaultPoolSize(), DefaultPoolSize(), 2 * DefaultPoolSize()},
		{"three", Options{PoolSize: 3}, 3, 3, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := New(tc.opts)
			if cap(e.slots) != tc.wantSlots || e.pool != tc.wantIdle || cap(e.extra) != tc.wantExtras {
				t.Fatalf("slots %d, idle %d, extra %d; want %d, %d, %d",
					cap(e.slots), e.pool, cap(e.extra), tc.wantSlots, tc.wantIdle, tc.wantExtras)
			}
		})
	}
	if got, want := DefaultPoolSize(), 2*runtime.NumCPU(); got != want {
		t.Fatalf("DefaultPoolSize() = %d, want %d", got, want)
	}
}

// TestIdleRuntimesFollowWaitingRuns: runs waiting on Go each hold a
// runtime; when a burst of them ends, their runtimes stay idle for the
// runs that follow (instead of each building one), and the idle ones
// shrink back to PoolSize as single runs go by.
func TestIdleRuntimesFollowWaitingRuns(t *testing.T) {
	const burst = 40
	e := New(Options{PoolSize: 2})
	e.peaks.window = 50 * time.Millisecond
	api := newSlowAPI()
	p, err := e.Compile(0, 0, `async function handle(req, env) { return await env.slow("x") }`, shared.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	// Building 40 runtimes takes a while on a busy machine: the runs
	// must not reach their timeout meanwhile.
	patient := shared.DefaultLimits()
	patient.TimeoutMS = 30_000
	done := make(chan *Result, burst)
	for range burst {
		go func() {
			done <- e.Run(context.Background(), Invocation{Program: p, Limits: patient, Bindings: api.bindings()})
		}()
	}
	eventually(t, "every run waiting", func() bool { return api.started.Load() == burst })
	close(api.release)
	for range burst {
		if res := <-done; res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	if n := len(e.idle); n < burst/2 {
		t.Fatalf("%d runtimes idle after a burst of %d waiting runs, want most of them kept", n, burst)
	}
	hello, err := e.Compile(1, 1, `function handle() { return "hi" }`, shared.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * e.peaks.window) // the burst's peak is over
	for range burst {
		e.Run(context.Background(), Invocation{Program: hello, Limits: shared.DefaultLimits()})
		time.Sleep(e.peaks.window / 10)
	}
	if n := len(e.idle); n > e.pool {
		t.Fatalf("%d runtimes still idle after %d single runs, want at most PoolSize %d", n, burst, e.pool)
	}
}
