package bench

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

func TestLoadCountsEveryRequest(t *testing.T) {
	srv := httptest.NewServer(BareHandler())
	defer srv.Close()
	res, err := Load{
		Addr:        strings.TrimPrefix(srv.URL, "http://"),
		Host:        "localhost",
		Concurrency: 8,
		Requests:    2000,
		Expect:      []byte(HelloBody),
	}.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 2000 || res.Errors() != 0 {
		t.Fatalf("want 2000 ok and no errors, got %v (statuses %v, first error %q)", res, res.Statuses, res.FirstError)
	}
	if res.Latency.Count() != 2000 || res.Latency.Quantile(0.5) <= 0 || res.RPS() <= 0 {
		t.Fatalf("latency not recorded: %v", res)
	}
}

func TestLoadSortsErrorsByKind(t *testing.T) {
	var n int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++ // one connection: no race
		switch n % 3 {
		case 0:
			w.Write([]byte(HelloBody))
		case 1:
			http.Error(w, "boom", http.StatusInternalServerError)
		case 2:
			w.Write([]byte("something else"))
		}
	}))
	defer srv.Close()
	res, err := Load{Addr: strings.TrimPrefix(srv.URL, "http://"), Concurrency: 1, Requests: 30, Expect: []byte(HelloBody)}.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.OK != 10 || res.Non2xx != 10 || res.BodyMismatch != 10 || res.ConnErrors != 0 {
		t.Fatalf("want 10 ok, 10 non-2xx, 10 wrong bodies; got %v", res)
	}
	if res.Statuses[500] != 10 || res.Statuses[200] != 20 {
		t.Fatalf("statuses %v", res.Statuses)
	}
}

func TestLoadCountsRefusedConnections(t *testing.T) {
	addr, err := FreePort() // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	res, err := Load{Addr: addr, Concurrency: 2, Duration: 200 * time.Millisecond}.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.ConnErrors == 0 || res.OK != 0 || res.FirstError == "" {
		t.Fatalf("want connection errors only, got %v (first error %q)", res, res.FirstError)
	}
}

// A server that stops answering must not hold the run past its duration.
func TestLoadStopsOnTimeWithAHungServer(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	start := time.Now()
	res, err := Load{Addr: strings.TrimPrefix(srv.URL, "http://"), Concurrency: 2, Duration: 300 * time.Millisecond}.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("run took %v with a 300ms duration", took)
	}
	if res.OK != 0 || res.ConnErrors != 0 {
		t.Fatalf("requests cut by the end of the run are not errors: %v", res)
	}
}

func TestReadMemOfThisProcess(t *testing.T) {
	m, err := ReadMem(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS < 1<<20 || m.Peak < m.RSS {
		t.Fatalf("implausible memory: rss %d peak %d", m.RSS, m.Peak)
	}
}

// The client's own response parser must read what net/http servers send:
// fixed length, chunked, empty bodies and Connection: close.
func TestLoadReadsEveryResponseFraming(t *testing.T) {
	long := strings.Repeat("0123456789", 5000)
	for _, c := range []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"content-length", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(HelloBody)) }, HelloBody},
		{"chunked", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("Hello, "))
			w.(http.Flusher).Flush()
			w.Write([]byte("World!"))
		}, HelloBody},
		{"long chunked", func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i < len(long); i += 7000 {
				w.Write([]byte(long[i:min(i+7000, len(long))]))
				w.(http.Flusher).Flush()
			}
		}, long},
		{"empty", func(w http.ResponseWriter, r *http.Request) {}, ""},
		{"connection close", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
			w.Write([]byte(HelloBody))
		}, HelloBody},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(c.handler)
			defer srv.Close()
			res, err := Load{Addr: strings.TrimPrefix(srv.URL, "http://"), Concurrency: 2, Requests: 50, Expect: []byte(c.want)}.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if res.OK != 50 || res.Errors() != 0 {
				t.Fatalf("%v (statuses %v, first error %q)", res, res.Statuses, res.FirstError)
			}
		})
	}
}

func TestReadCPUOfThisProcessGrows(t *testing.T) {
	before, err := ReadCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for start := time.Now(); time.Since(start) < 300*time.Millisecond; {
		x++
	}
	after, err := ReadCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Fatalf("CPU time did not grow over 300ms of spinning (%d loops): %v → %v", x, before, after)
	}
}

func TestLoadAtAFixedRate(t *testing.T) {
	srv := httptest.NewServer(BareHandler())
	defer srv.Close()
	res, err := Load{Addr: strings.TrimPrefix(srv.URL, "http://"), Concurrency: 4, Rate: 400, Duration: time.Second, Expect: []byte(HelloBody)}.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.OK < 340 || res.OK > 410 || res.Errors() != 0 {
		t.Fatalf("400 req/s for 1s: %v", res)
	}
}

// At a fixed rate a server that cannot keep up is charged for the queue it
// builds, not only for the requests it answers (no coordinated omission).
func TestLoadAtAFixedRateChargesTheQueue(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond) // at most 50 req/s on one connection
	}))
	defer srv.Close()
	res, err := Load{Addr: strings.TrimPrefix(srv.URL, "http://"), Concurrency: 1, Rate: 100, Duration: time.Second}.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p99 := res.Latency.Quantile(0.99); p99 < 200*time.Millisecond {
		t.Fatalf("p99 %v: the queue of a server at half the asked rate was not counted (%v)", p99, res)
	}
}

// FuzzReadResponse feeds the client's response parser arbitrary server
// output: it must never panic, and where net/http reads the same bytes as
// one response, both must agree on the status and the body.
func FuzzReadResponse(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\n\r\nHello, World!",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\nHello, \r\n6;ext=1\r\nWorld!\r\n0\r\nTrailer: x\r\n\r\n",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nbody until close",
		"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 4\r\n\r\nboom",
		"HTTP/1.1 200 OK\nContent-Length: 2\n\nhi",
		"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
		"garbage",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		w := worker{br: bufio.NewReader(bytes.NewReader(b))}
		status, _, err := w.readResponse()
		if err != nil {
			return
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(b)), nil)
		if err != nil {
			return
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return
		}
		if resp.StatusCode != status {
			t.Fatalf("status %d, net/http reads %d", status, resp.StatusCode)
		}
		if !bytes.Equal(body, w.body.Bytes()) {
			t.Fatalf("body %q, net/http reads %q", w.body.Bytes(), body)
		}
	})
}
