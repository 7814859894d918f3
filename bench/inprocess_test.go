package bench

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/node/nodetest"
)

// In-process benchmarks: the node (or the bare baseline) and the client in
// one process, so that `go test -bench . -cpuprofile cpu.out ./bench` shows
// where a request's time goes. The side-by-side figures come from
// `make bench`, which runs each server as its own process.

func benchLoad(b *testing.B, addr, host, path, expect string) {
	ctx := context.Background()
	warm := Load{Addr: addr, Host: host, Path: path, Concurrency: DefaultOptions().Concurrency, Duration: 500 * time.Millisecond, Expect: []byte(expect)}
	if _, err := warm.Run(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	l := warm
	l.Duration, l.Requests = 0, int64(b.N)
	res, err := l.Run(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if res.Errors() > 0 {
		b.Fatalf("%v (statuses %v, first error %q)", res, res.Statuses, res.FirstError)
	}
	b.ReportMetric(res.RPS(), "req/s")
	b.ReportMetric(float64(res.Latency.Quantile(0.5).Microseconds()), "p50-µs")
	b.ReportMetric(float64(res.Latency.Quantile(0.99).Microseconds()), "p99-µs")
}

func BenchmarkNodeHelloWorld(b *testing.B) {
	n := nodetest.Start(b)
	benchLoad(b, strings.TrimPrefix(n.DataURL, "http://"), "localhost", "/", HelloBody)
}

func BenchmarkBareHelloWorld(b *testing.B) {
	srv := httptest.NewServer(BareHandler())
	defer srv.Close()
	benchLoad(b, strings.TrimPrefix(srv.URL, "http://"), "localhost", "/", HelloBody)
}
