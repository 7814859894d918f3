package scheduler

import (
	"sync"
	"time"
)

// fakeClock is the one thing the scheduler tests replace: its wall clock
// and its monotonic clock move only when the test says so. Advance moves
// both and fires the timers that come due; Jump moves only the wall
// clock, as NTP or an operator setting the date does.
type fakeClock struct {
	mu     sync.Mutex
	wall   time.Time
	mono   time.Duration
	timers []*fakeTimer
	armed  chan struct{} // a timer was created: the scheduler is waiting again
}

type fakeTimer struct {
	c    chan time.Time
	at   time.Duration // monotonic deadline
	done bool
}

func newFakeClock(wall time.Time) *fakeClock {
	return &fakeClock{wall: wall, armed: make(chan struct{}, 1<<16)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wall
}

func (c *fakeClock) Monotonic() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mono
}

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	t := &fakeTimer{c: make(chan time.Time, 1), at: c.mono + d}
	if d <= 0 {
		t.done = true
		t.c <- c.wall
	} else {
		c.timers = append(c.timers, t)
	}
	c.mu.Unlock()
	c.armed <- struct{}{}
	return fakeTimerHandle{c, t}
}

// Advance moves both clocks by d and fires every timer due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wall = c.wall.Add(d)
	c.mono += d
	live := c.timers[:0]
	for _, t := range c.timers {
		if t.done {
			continue
		}
		if t.at <= c.mono {
			t.done = true
			t.c <- c.wall
			continue
		}
		live = append(live, t)
	}
	c.timers = live
}

// Jump moves the wall clock alone.
func (c *fakeClock) Jump(d time.Duration) {
	c.mu.Lock()
	c.wall = c.wall.Add(d)
	c.mu.Unlock()
}

// Pending is the number of timers set and not yet fired or stopped.
func (c *fakeClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.done {
			n++
		}
	}
	return n
}

type fakeTimerHandle struct {
	c *fakeClock
	t *fakeTimer
}

func (h fakeTimerHandle) C() <-chan time.Time { return h.t.c }

func (h fakeTimerHandle) Stop() bool {
	h.c.mu.Lock()
	defer h.c.mu.Unlock()
	was := !h.t.done
	h.t.done = true
	return was
}
