package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Load describes one bounded load run: Concurrency keep-alive connections,
// each sending the same request back to back until Duration has passed or
// Requests have been sent in total, whichever comes first.
type Load struct {
	Addr        string // host:port to connect to
	Host        string // Host header; the data plane routes by it
	Method      string // default GET
	Path        string // default /
	Concurrency int    // default 1
	Duration    time.Duration
	Requests    int64 // 0: no count limit (Duration must be set)
	// Rate, when set, paces requests at this many per second in total
	// (open loop, like wrk2) instead of sending them back to back; latency
	// then counts from when a request was due, so a server that falls
	// behind is charged for the queue it builds.
	Rate    float64
	Timeout time.Duration // per request; default 10 s
	// Expect, when set, is the body every answer must carry; another body
	// counts as a BodyMismatch error.
	Expect []byte
}

// LoadResult is what a Load measured. Latency holds successful requests
// only (2xx with the expected body).
type LoadResult struct {
	OK           int64
	ConnErrors   int64         // dial, write, read or parse failures, timeouts
	Non2xx       int64         // answers with a status outside 200–299
	BodyMismatch int64         // 2xx with another body than Expect
	Statuses     map[int]int64 // every status seen
	FirstError   string        // the first connection error, for the report
	Elapsed      time.Duration
	Latency      Histogram
}

// Errors is the count of every failed request.
func (r *LoadResult) Errors() int64 { return r.ConnErrors + r.Non2xx + r.BodyMismatch }

// RPS is successful requests per second.
func (r *LoadResult) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

func (r *LoadResult) String() string {
	return fmt.Sprintf("%d ok in %v (%.0f req/s), p50 %v p99 %v max %v, errors: %d conn, %d non-2xx, %d body",
		r.OK, r.Elapsed.Round(time.Millisecond), r.RPS(), r.Latency.Quantile(0.5), r.Latency.Quantile(0.99),
		r.Latency.Max(), r.ConnErrors, r.Non2xx, r.BodyMismatch)
}

// Run sends the load and returns what it measured. It stops early when ctx
// is done. The client is a minimal HTTP/1.1 keep-alive client over raw TCP
// (one connection per worker), so that the same cheap client drives every
// server under test and leaves them most of the CPU.
func (l Load) Run(ctx context.Context) (*LoadResult, error) {
	if l.Concurrency < 1 {
		l.Concurrency = 1
	}
	if l.Method == "" {
		l.Method = http.MethodGet
	}
	if l.Path == "" {
		l.Path = "/"
	}
	if l.Timeout <= 0 {
		l.Timeout = 10 * time.Second
	}
	if l.Duration <= 0 && l.Requests <= 0 {
		return nil, errors.New("load: neither a duration nor a request count")
	}
	host := l.Host
	if host == "" {
		host = l.Addr
	}
	req := fmt.Appendf(nil, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: picloud-bench\r\nAccept: */*\r\n\r\n", l.Method, l.Path, host)

	if l.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.Duration)
		defer cancel()
	}
	next := l.pace(ctx)
	results := make([]*LoadResult, l.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range results {
		res := &LoadResult{Statuses: map[int]int64{}}
		results[i] = res
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := worker{load: &l, req: req, res: res}
			w.run(ctx, next)
		}()
	}
	wg.Wait()
	// Answers that came after the end of a timed run are not counted, so the
	// run lasted exactly Duration even if a worker noticed the end late.
	elapsed := time.Since(start)
	if l.Duration > 0 {
		elapsed = min(elapsed, l.Duration)
	}
	total := &LoadResult{Statuses: map[int]int64{}, Elapsed: elapsed}
	for _, r := range results {
		total.OK += r.OK
		total.ConnErrors += r.ConnErrors
		total.Non2xx += r.Non2xx
		total.BodyMismatch += r.BodyMismatch
		for s, n := range r.Statuses {
			total.Statuses[s] += n
		}
		if total.FirstError == "" {
			total.FirstError = r.FirstError
		}
		total.Latency.Merge(&r.Latency)
	}
	return total, nil
}

type worker struct {
	load *Load
	req  []byte
	res  *LoadResult

	conn     net.Conn
	stopConn func()
	br       *bufio.Reader
	body     bytes.Buffer
}

// pace returns what workers call before each request: whether to send one
// more, and when it was due (zero: now).
func (l *Load) pace(ctx context.Context) func() (time.Time, bool) {
	var remaining atomic.Int64
	remaining.Store(l.Requests)
	counted := func() bool { return l.Requests <= 0 || remaining.Add(-1) >= 0 }
	if l.Rate <= 0 {
		return func() (time.Time, bool) { return time.Time{}, ctx.Err() == nil && counted() }
	}
	due := make(chan time.Time, max(int(l.Rate), 1))
	go func() {
		defer close(due)
		interval := float64(time.Second) / l.Rate
		begin := time.Now()
		for i := 0; ctx.Err() == nil && counted(); i++ {
			at := begin.Add(time.Duration(float64(i) * interval))
			// Sleep in steps of at least half a millisecond and send what
			// became due meanwhile: a timer per request would cost more
			// than the requests.
			if wait := time.Until(at); wait > 500*time.Microsecond {
				time.Sleep(wait)
			}
			select {
			case due <- at:
			case <-ctx.Done():
				return
			}
		}
	}()
	return func() (time.Time, bool) {
		select {
		case at, ok := <-due:
			return at, ok
		case <-ctx.Done():
			return time.Time{}, false
		}
	}
}

func (w *worker) run(ctx context.Context, next func() (time.Time, bool)) {
	defer w.close()
	for ctx.Err() == nil {
		due, ok := next()
		if !ok {
			return
		}
		if w.conn == nil {
			if err := w.dial(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				w.connError(err)
				// Don't spin on a server that refuses connections.
				select {
				case <-ctx.Done():
				case <-time.After(10 * time.Millisecond):
				}
				continue
			}
		}
		w.one(ctx, due)
	}
}

func (w *worker) dial(ctx context.Context) error {
	d := net.Dialer{Timeout: w.load.Timeout}
	c, err := d.DialContext(ctx, "tcp", w.load.Addr)
	if err != nil {
		return err
	}
	w.conn = c
	// End an in-flight request at once when the run is over.
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	w.stopConn = func() { stop(); c.Close() }
	if w.br == nil {
		w.br = bufio.NewReaderSize(c, 16<<10)
	} else {
		w.br.Reset(c)
	}
	return nil
}

func (w *worker) close() {
	if w.conn != nil {
		w.stopConn()
		w.conn = nil
	}
}

func (w *worker) connError(err error) {
	w.res.ConnErrors++
	if w.res.FirstError == "" {
		w.res.FirstError = err.Error()
	}
}

func (w *worker) one(ctx context.Context, due time.Time) {
	t0 := time.Now()
	if due.IsZero() {
		due = t0
	}
	w.conn.SetDeadline(t0.Add(w.load.Timeout))
	if _, err := w.conn.Write(w.req); err != nil {
		w.fail(ctx, err)
		return
	}
	status, closeConn, err := w.readResponse()
	if err != nil {
		w.fail(ctx, err)
		return
	}
	d := time.Since(due)
	if ctx.Err() != nil {
		return // finished after the end of the run: not part of it
	}
	w.res.Statuses[status]++
	switch {
	case status < 200 || status > 299:
		w.res.Non2xx++
	case w.load.Expect != nil && !bytes.Equal(w.body.Bytes(), w.load.Expect):
		w.res.BodyMismatch++
	default:
		w.res.OK++
		w.res.Latency.Record(d)
	}
	if closeConn {
		w.close()
	}
}

// readResponse reads one HTTP/1.1 response into w.body. It is a small
// parser of just what the client needs (status, Content-Length, chunked,
// Connection: close) so that the client costs the servers under test as
// little CPU as possible; it is checked against net/http's in the tests.
func (w *worker) readResponse() (status int, closeConn bool, err error) {
	line, err := w.br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, false, fmt.Errorf("malformed status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("malformed status line %q", line)
	}
	http10 := line[7] == '0'
	closeConn = http10 // HTTP/1.0 closes unless told otherwise
	length, chunked := int64(-1), false
	for {
		line, err = w.br.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, false, fmt.Errorf("malformed header line %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.ParseInt(string(value), 10, 64); err != nil || length < 0 {
				return 0, false, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = !http10 && bytes.EqualFold(value, []byte("chunked")) // HTTP/1.0 has no chunking
		case bytes.EqualFold(name, []byte("Connection")):
			closeConn = bytes.EqualFold(value, []byte("close"))
		}
	}
	w.body.Reset()
	switch {
	case status == http.StatusNoContent || status == http.StatusNotModified || status >= 100 && status < 200:
	case chunked:
		err = w.readChunked()
	case length >= 0:
		_, err = io.CopyN(&w.body, w.br, length)
	default: // delimited by the end of the connection
		_, err = w.body.ReadFrom(w.br)
		closeConn = true
	}
	return status, closeConn, err
}

func (w *worker) readChunked() error {
	for {
		line, err := w.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("bad chunk size %q", line)
		}
		if n == 0 {
			for { // trailers, then the final empty line
				line, err := w.br.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if _, err := io.CopyN(&w.body, w.br, n); err != nil {
			return err
		}
		if _, err := w.br.Discard(2); err != nil { // CRLF after the data
			return err
		}
	}
}

// fail drops the connection; an error caused by our own deadline at the end
// of the run is not the server's fault and is not counted.
func (w *worker) fail(ctx context.Context, err error) {
	w.close()
	if ctx.Err() != nil {
		return
	}
	w.connError(err)
}
