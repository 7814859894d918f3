package scheduler

import "time"

// Clock is the scheduler's time: the wall clock for cron arithmetic, and
// a monotonic clock and timers for waiting, which a change of the wall
// clock does not move. Tests inject one they move by hand.
type Clock interface {
	Now() time.Time
	// Monotonic is the time elapsed since an arbitrary fixed point.
	Monotonic() time.Duration
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer on the monotonic clock.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

// SystemClock is the real clock. Go's timers and time.Since use the
// monotonic clock, so they are immune to wall-clock jumps.
func SystemClock() Clock { return systemClock{start: time.Now()} }

type systemClock struct{ start time.Time }

func (systemClock) Now() time.Time                 { return time.Now() }
func (c systemClock) Monotonic() time.Duration     { return time.Since(c.start) }
func (systemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time { return t.t.C }
func (t systemTimer) Stop() bool          { return t.t.Stop() }
