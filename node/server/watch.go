package server

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// connLimits bound how long a data-plane connection may stay in one phase.
type connLimits struct {
	header time.Duration // from accepting it, or from a request's first byte, to the request's complete header
	idle   time.Duration // between requests on a keep-alive connection
	active time.Duration // from a request's complete header to the end of its response
}

// A connection's phases, each with its limit.
const (
	phaseNew    = iota // accepted, no request read yet: header limit
	phaseIdle          // waiting for the next request: idle limit
	phaseHeader        // reading a request's header: header limit
	phaseActive        // reading the body, running the script, writing: active limit
	phases
)

// connWatch enforces connLimits on the data plane's connections by closing
// the ones that overstay a phase, checked by a sweep every tick. It takes
// the place of net/http's ReadHeaderTimeout, ReadTimeout, WriteTimeout and
// IdleTimeout there: net/http moves a connection's read and write deadlines
// five times per request, each a runtime timer update and most a clock
// read, some 0.7 µs of CPU on a hello world that costs 18 µs in all
// (bench/RESULTS.md). Watched, a request costs two atomic stores and a
// load per read. The limits are only as sharp as the tick, which is all
// such limits need (Node.js's http server checks its timeouts the same
// way, every 30 s by default).
//
// A closed connection fails the read or write it is blocked in, and
// net/http drops it as it would on a missed deadline.
type connWatch struct {
	tick   time.Duration
	limits [phases]int64 // in ticks

	now   atomic.Int64 // ticks since the watch began
	mu    sync.Mutex
	conns map[*watchedConn]struct{}
}

func newConnWatch(l connLimits, tick time.Duration) *connWatch {
	w := &connWatch{tick: tick, conns: make(map[*watchedConn]struct{})}
	ticks := func(d time.Duration) int64 { return int64((d + tick - 1) / tick) }
	w.limits[phaseNew] = ticks(l.header)
	w.limits[phaseIdle] = ticks(l.idle)
	w.limits[phaseHeader] = ticks(l.header)
	w.limits[phaseActive] = ticks(l.active)
	return w
}

// listen wraps ln so that every connection it accepts is watched.
func (w *connWatch) listen(ln net.Listener) net.Listener { return watchedListener{ln, w} }

// run sweeps the connections every tick until ctx is done.
func (w *connWatch) run(ctx context.Context) {
	t := time.NewTicker(w.tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.sweep()
		}
	}
}

// sweep advances the clock one tick and closes every connection that has
// been in its phase for longer than the phase's limit.
func (w *connWatch) sweep() {
	now := w.now.Add(1)
	w.mu.Lock()
	defer w.mu.Unlock()
	for c := range w.conns {
		phase, since := c.state()
		if now-since > w.limits[phase] {
			c.Conn.Close()
			delete(w.conns, c)
		}
	}
}

// connState is the http.Server's ConnState hook: it moves a connection
// between the phases net/http knows about.
func (w *connWatch) connState(nc net.Conn, s http.ConnState) {
	c, ok := nc.(*watchedConn)
	if !ok {
		return
	}
	switch s {
	case http.StateActive:
		c.enter(phaseActive)
	case http.StateIdle:
		c.enter(phaseIdle)
	case http.StateHijacked, http.StateClosed:
		w.mu.Lock()
		delete(w.conns, c)
		w.mu.Unlock()
	}
}

type watchedListener struct {
	net.Listener
	w *connWatch
}

func (l watchedListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c := &watchedConn{Conn: nc, w: l.w}
	c.enter(phaseNew)
	l.w.mu.Lock()
	l.w.conns[c] = struct{}{}
	l.w.mu.Unlock()
	return c, nil
}

// watchedConn is a connection with its phase and the tick it began, packed
// in one word so that the sweep reads them together.
type watchedConn struct {
	net.Conn
	w     *connWatch
	phase atomic.Uint64 // since<<8 | phase
}

func (c *watchedConn) enter(phase uint64) {
	c.phase.Store(uint64(c.w.now.Load())<<8 | phase)
}

func (c *watchedConn) state() (phase int, since int64) {
	v := c.phase.Load()
	return int(v & 0xff), int64(v >> 8)
}

// Read starts the header phase when the first byte of the next request
// arrives on an idle connection, so the idle limit covers the wait and the
// header limit the request. (A new connection's header limit runs from the
// accept, as net/http's does.)
func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && c.phase.Load()&0xff == phaseIdle {
		c.enter(phaseHeader)
	}
	return n, err
}

// CloseWrite lets net/http half-close the connection before it closes it
// after a request it did not read whole, as it does a bare TCP connection.
func (c *watchedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
