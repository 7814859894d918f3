package e2e

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// rawExchange writes raw to the data plane and reads until the node closes
// the connection or 5 s pass; closed tells which.
func (e *env) rawExchange(raw string) (reply string, closed bool) {
	e.t.Helper()
	u, err := url.Parse(e.n.DataURL)
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		e.t.Fatal(err)
	}
	b, err := io.ReadAll(bufio.NewReader(c))
	var ne net.Error
	timedOut := errors.As(err, &ne) && ne.Timeout()
	return string(b), !timedOut
}

// RFC 9112 §6.1 and SPEC §4: a request with both Content-Length and
// Transfer-Encoding is answered and its connection closed, so what a front
// proxy took for its body never runs as a request of its own; a declared
// body over the limit with Expect: 100-continue is refused at once.
func TestDataPlaneFraming(t *testing.T) {
	e := start(t)
	e.createApp("Frame", "")
	e.claim("frame", "frame.example.com")
	s := e.script("frame", "echo", `function handle(req){ return "got " + req.body.length }`, nil)
	e.route("frame", s.ID, "ANY", "/echo", "")
	smuggled := e.script("frame", "smuggled", `function handle(){ return "smuggled ran" }`, nil)
	e.route("frame", smuggled.ID, "GET", "/smuggled", "")

	t.Run("Content-Length and Transfer-Encoding", func(t *testing.T) {
		e.t = t
		reply, closed := e.rawExchange("POST /echo HTTP/1.1\r\nHost: frame.example.com\r\nContent-Length: 4\r\n" +
			"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: frame.example.com\r\n\r\n")
		if !closed {
			t.Fatalf("the connection stayed open after:\n%s", reply)
		}
		if n := strings.Count(reply, "HTTP/1.1 "); n != 1 || strings.Contains(reply, "smuggled ran") {
			t.Fatalf("%d answers on the connection, want 1:\n%s", n, reply)
		}
		if !strings.Contains(reply, "Connection: close") {
			t.Errorf("answer does not say Connection: close:\n%s", reply)
		}
	})
	t.Run("plain keep-alive requests keep the connection", func(t *testing.T) {
		e.t = t
		reply, closed := e.rawExchange("POST /echo HTTP/1.1\r\nHost: frame.example.com\r\nContent-Length: 4\r\n\r\nabcd" +
			"GET /echo HTTP/1.1\r\nHost: frame.example.com\r\nConnection: close\r\n\r\n")
		if n := strings.Count(reply, "HTTP/1.1 200"); n != 2 || !closed || !strings.Contains(reply, "got 4") {
			t.Fatalf("%d answers, want 2:\n%s", n, reply)
		}
	})
	t.Run("Expect 100-continue over the limit", func(t *testing.T) {
		e.t = t
		start := time.Now()
		reply, closed := e.rawExchange("POST /echo HTTP/1.1\r\nHost: frame.example.com\r\nContent-Length: 10000000\r\nExpect: 100-continue\r\n\r\n")
		if !strings.HasPrefix(reply, "HTTP/1.1 413 ") || strings.Contains(reply, "100 Continue") || !strings.Contains(reply, `"too_large"`) {
			t.Fatalf("answer:\n%s", reply)
		}
		if !closed || time.Since(start) > 3*time.Second {
			t.Errorf("closed %t after %v", closed, time.Since(start))
		}
	})
	t.Run("Expect 100-continue within the limit", func(t *testing.T) {
		e.t = t
		req, err := http.NewRequest(http.MethodPost, e.n.DataURL+"/echo", strings.NewReader("hello"))
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "frame.example.com"
		req.Header.Set("Expect", "100-continue")
		if r := e.do(req); r.Status != 200 || r.String() != "got 5" {
			t.Fatalf("%d %q", r.Status, r.Body)
		}
	})
}
