package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/node/nodetest"
	"github.com/picloud/picloud/shared"
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

// BenchmarkNodeUpdateToFirstResponse times PATCH of the hello-world script
// through the admin API until the data plane answers the new body: the
// path behind the "update → first response" target, for pprof.
func BenchmarkNodeUpdateToFirstResponse(b *testing.B) {
	ctx := context.Background()
	n := nodetest.Start(b)
	admin := NewAdmin(n.AdminURL, n.Token)
	scripts, err := n.Client.Scripts(ctx, "default")
	if err != nil || len(scripts) == 0 {
		b.Fatalf("seeded script: %v %v", scripts, err)
	}
	path := "/api/v1/admin/scripts/" + strconv.FormatInt(scripts[0].ID, 10)
	data := &http.Client{Timeout: 5 * time.Second}
	var total Histogram
	b.ResetTimer()
	for i := range b.N {
		marker := fmt.Sprintf("Hello, World! %d", i)
		src := fmt.Sprintf("function handle(req) { return %q; }", marker)
		t0 := time.Now()
		if err := admin.Do(ctx, http.MethodPatch, path, shared.UpdateScriptRequest{Source: &src}, nil); err != nil {
			b.Fatal(err)
		}
		for {
			status, body, err := Get(ctx, data, n.DataURL+"/", "localhost")
			if err != nil {
				b.Fatal(err)
			}
			if status == http.StatusOK && string(body) == marker {
				break
			}
		}
		total.Record(time.Since(t0))
	}
	b.ReportMetric(float64(total.Quantile(0.5).Microseconds()), "p50-µs")
}

// The KV handlers of `picloud-bench kv` in-process, for pprof.
func benchNodeKV(b *testing.B, path string) {
	n := nodetest.Start(b)
	if err := setupKVApp(context.Background(), NewAdmin(n.AdminURL, n.Token), n.Client); err != nil {
		b.Fatal(err)
	}
	benchLoad(b, strings.TrimPrefix(n.DataURL, "http://"), kvHost, path, HelloBody)
}

func BenchmarkNodeKVGet(b *testing.B) { benchNodeKV(b, kvGetPath) }
func BenchmarkNodeKVPut(b *testing.B) { benchNodeKV(b, kvPutPath) }
