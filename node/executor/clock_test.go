package executor

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/shared"
)

// A loop that never ends is stopped by a cancellation that arrives while it
// runs, not only by one that came before it started.
func TestCancelWhileRunning(t *testing.T) {
	e := New(Options{})
	l := shared.DefaultLimits()
	l.MaxOperations = 1 << 60
	l.TimeoutMS = 30_000
	p, err := e.Compile(0, 0, `function handle(){ for(;;){} }`, l)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	res := e.Run(ctx, Invocation{Program: p, Limits: l})
	var se *ScriptError
	if !errors.As(res.Err, &se) || !strings.Contains(se.Message, "cancel") {
		t.Fatalf("got %v, want the run cancelled", res.Err)
	}
}

// The fence's sampler stops a run that is past its deadline or whose
// context ended even if the run never looks at its clock (a long native
// call): the runs here are registered but never tick.
func TestFenceStopsOverdueRuns(t *testing.T) {
	sb, err := newSandbox()
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name     string
		ctx      context.Context
		deadline time.Time
		knob     string
	}{
		{"deadline", context.Background(), time.Now().Add(-time.Millisecond), shared.KnobTimeoutMS},
		{"cancelled", cancelled, time.Now().Add(time.Hour), knobCancelled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFence(1<<62, slog.New(slog.DiscardHandler))
			rs := &runState{sb: sb, limits: shared.DefaultLimits(), ctx: tc.ctx, deadline: tc.deadline}
			f.enter(rs)
			defer f.leave(rs)
			for end := time.Now().Add(5 * time.Second); rs.limit.Load() == nil && time.Now().Before(end); {
				time.Sleep(time.Millisecond)
			}
			if le := rs.limit.Load(); le == nil || le.Knob != tc.knob {
				t.Fatalf("limit %v, want %s", le, tc.knob)
			}
		})
	}
}

// A run on time is left alone by the sampler.
func TestFenceLeavesRunsOnTime(t *testing.T) {
	sb, err := newSandbox()
	if err != nil {
		t.Fatal(err)
	}
	f := newFence(1<<62, slog.New(slog.DiscardHandler))
	rs := &runState{sb: sb, limits: shared.DefaultLimits(), ctx: context.Background(), deadline: time.Now().Add(time.Hour)}
	f.enter(rs)
	time.Sleep(10 * f.interval)
	f.leave(rs)
	if le := rs.limit.Load(); le != nil {
		t.Fatalf("stopped with %v", le)
	}
}
