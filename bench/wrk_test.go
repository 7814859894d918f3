package bench

import (
	"testing"
	"time"
)

// wrk's report as wrk 4.1 prints it with --latency.
const wrkReport = `Running 8s test @ http://127.0.0.1:40123/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.02ms  450.12us  12.34ms   80.00%
    Req/Sec    31.45k     2.10k   36.00k    70.00%
  Latency Distribution
     50%  0.95ms
     75%    1.20ms
     90%    1.60ms
     99%    2.80ms
  500123 requests in 8.00s, 61.05MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  62515.37
Transfer/sec:      7.63MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkReport)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK != 500116 || r.Non2xx != 7 || r.ConnErrors != 3 || r.Elapsed != 8*time.Second {
		t.Fatalf("parsed %+v", r)
	}
	if rps := r.RPS(); rps < 62514 || rps > 62515 {
		t.Errorf("RPS %.1f", rps)
	}
	if p50, p99 := r.Latency.Quantile(0.5), r.Latency.Quantile(0.99); p50 < 900*time.Microsecond || p50 > time.Millisecond ||
		p99 < 2500*time.Microsecond || p99 > 3*time.Millisecond {
		t.Errorf("p50 %v p99 %v", p50, p99)
	}
	if m := r.Latency.Max(); m != 12340*time.Microsecond {
		t.Errorf("max %v", m)
	}
	if _, err := parseWrk("wrk: connection refused\n"); err == nil {
		t.Error("an output without figures parsed")
	}
}
