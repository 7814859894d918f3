package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Short limits so that each test runs in well under a second; a missed
// limit is given plenty of slack (closedWithin) so a loaded machine does not
// fail the tests, while a limit not enforced at all never closes anything.
var testLimits = connLimits{header: 100 * time.Millisecond, idle: 300 * time.Millisecond, active: 300 * time.Millisecond}

const (
	testTick     = 10 * time.Millisecond
	closedWithin = 3 * time.Second
)

// watchedServer serves h on a loopback listener under a connWatch with
// testLimits, or with limits if given.
func watchedServer(t *testing.T, h http.Handler, limits ...connLimits) string {
	t.Helper()
	l := testLimits
	if len(limits) > 0 {
		l = limits[0]
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := newConnWatch(l, testTick)
	srv := &http.Server{Handler: h, ConnState: w.connState}
	ctx, cancel := context.WithCancel(context.Background())
	go w.run(ctx)
	go srv.Serve(w.listen(ln))
	t.Cleanup(func() {
		srv.Close()
		cancel()
	})
	return ln.Addr().String()
}

var hello = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hi") })

// roundTrip sends one GET on c and reads its answer.
func roundTrip(t *testing.T, c net.Conn, br *bufio.Reader) {
	t.Helper()
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatalf("write request: %v", err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hi" {
		t.Fatalf("answer %d %q", resp.StatusCode, body)
	}
}

// waitClosed waits until the server closes c and returns how long that
// took, failing if it does not within closedWithin or if c carries data.
func waitClosed(t *testing.T, c net.Conn, br *bufio.Reader) time.Duration {
	t.Helper()
	start := time.Now()
	c.SetReadDeadline(start.Add(closedWithin))
	b, err := br.ReadByte()
	if err == nil {
		t.Fatalf("read %q, want the connection closed", b)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %v", closedWithin)
	}
	return time.Since(start)
}

func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

func TestConnWatchClosesConnectionThatSendsNothing(t *testing.T) {
	addr := watchedServer(t, hello)
	// The server's clock for the connection starts at its accept, which
	// may run before this goroutine resumes from Dial: measure from before.
	before := time.Now()
	c, br := dial(t, addr)
	waitClosed(t, c, br)
	if took := time.Since(before); took < testLimits.header {
		t.Errorf("closed after %v, before the header limit %v", took, testLimits.header)
	}
}

// A header sent a byte at a time must be complete within the header limit,
// however steadily the bytes come (slowloris), on a new connection and on
// a kept-alive one. The other limits are far away, so only the header limit
// can close the connection in time.
func TestConnWatchClosesSlowHeader(t *testing.T) {
	for _, keptAlive := range []bool{false, true} {
		name := "new connection"
		if keptAlive {
			name = "kept-alive connection"
		}
		t.Run(name, func(t *testing.T) {
			c, br := dial(t, watchedServer(t, hello, connLimits{header: testLimits.header, idle: time.Hour, active: time.Hour}))
			if keptAlive {
				roundTrip(t, c, br)
			}
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			go func() {
				io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n")
				for ctx.Err() == nil {
					if _, err := io.WriteString(c, "X: y\r\n"); err != nil {
						return
					}
					time.Sleep(testTick)
				}
			}()
			waitClosed(t, c, br)
		})
	}
}

// Requests spaced by less than the idle limit keep a connection for as long
// as they come; once they stop, the idle limit closes it.
func TestConnWatchKeepsBusyConnectionAndClosesIdleOne(t *testing.T) {
	c, br := dial(t, watchedServer(t, hello))
	roundTrip(t, c, br)
	for start := time.Now(); time.Since(start) < 3*testLimits.idle; {
		time.Sleep(testLimits.idle / 3)
		roundTrip(t, c, br)
	}
	if took := waitClosed(t, c, br); took < testLimits.idle {
		t.Errorf("closed after %v idle, before the idle limit %v", took, testLimits.idle)
	}
}

// The active limit bounds a request from its header to the end of its
// answer: a handler that never finishes, or a client that never reads a
// large answer.
func TestConnWatchBoundsActiveRequest(t *testing.T) {
	t.Run("handler never finishes", func(t *testing.T) {
		stuck := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
		})
		c, br := dial(t, watchedServer(t, stuck))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if took := waitClosed(t, c, br); took < testLimits.active {
			t.Errorf("closed after %v, before the active limit %v", took, testLimits.active)
		}
	})
	t.Run("client never reads", func(t *testing.T) {
		failed := make(chan error, 1)
		big := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			chunk := []byte(strings.Repeat("x", 1<<20))
			for range 1 << 10 { // 1 GiB: far more than the socket buffers hold
				if _, err := w.Write(chunk); err != nil {
					failed <- err
					return
				}
			}
			failed <- nil
		})
		c, _ := dial(t, watchedServer(t, big))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		select {
		case err := <-failed:
			if err == nil {
				t.Fatal("the handler wrote 1 GiB to a client that reads nothing")
			}
		case <-time.After(closedWithin):
			t.Fatalf("the handler's write still blocks after %v", closedWithin)
		}
	})
}

// The node's data plane is watched: a connection that sends nothing is
// closed after the header limit. (The admin API keeps net/http's deadlines.)
func TestDataPlaneConnectionsAreWatched(t *testing.T) {
	cfg := Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Bind, cfg.AdminBind = "127.0.0.1:0", "127.0.0.1:0"
	cfg.AdminTLS, cfg.MDNS = false, false
	n, err := New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	short := newConnWatch(testLimits, testTick)
	n.watch.tick, n.watch.limits = short.tick, short.limits
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})

	c, br := dial(t, n.DataAddr().String())
	waitClosed(t, c, br)

	// A request still gets its answer.
	resp, err := http.Get(n.DataURL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz: %s", resp.Status)
	}
}
