package bench

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeRound is a measured round with the given throughput, p99 and server
// CPU per request.
func fakeRound(rps float64, p99 time.Duration, cpuPerReq time.Duration) measured {
	r := &LoadResult{OK: int64(rps * 10), Elapsed: 10 * time.Second}
	for range r.OK {
		r.Latency.Record(p99 / 2)
	}
	for range r.OK / 50 { // 2% at p99: the 99th percentile
		r.Latency.Record(p99)
	}
	return measured{r, cpuPerReq * time.Duration(r.OK)}
}

func TestChecksJudgeEachTarget(t *testing.T) {
	round := func(pico, bare, js float64, picoP99, bareP99 time.Duration) [3]measured {
		return [3]measured{fakeRound(pico, picoP99, 50*time.Microsecond), fakeRound(bare, bareP99, 10*time.Microsecond), fakeRound(js, bareP99, 10*time.Microsecond)}
	}
	for _, c := range []struct {
		name   string
		rounds [][3]measured
		big    time.Duration // CPU/req at the big dispatch table (small: 50µs)
		update time.Duration
		idle   int64
		atRate []time.Duration // p99 of PiCloud and bare Go at the same rate, when measured
		want   map[string]bool
	}{
		{
			name:   "all met",
			rounds: [][3]measured{round(900, 1000, 800, 8*time.Millisecond, 5*time.Millisecond)},
			big:    55 * time.Microsecond, update: 3 * time.Millisecond, idle: 20 << 20,
			want: map[string]bool{"throughput PiCloud / bare Go": true, "throughput PiCloud / Node.js": true, "p99 PiCloud / bare Go": true,
				"update": true, "dispatch": true, "idle RSS": true},
		},
		{
			name:   "all missed",
			rounds: [][3]measured{round(500, 1000, 800, 20*time.Millisecond, 5*time.Millisecond)},
			big:    70 * time.Microsecond, update: 9 * time.Millisecond, idle: 40 << 20,
			want: map[string]bool{"throughput PiCloud / bare Go": false, "throughput PiCloud / Node.js": false, "p99 PiCloud / bare Go": false,
				"update": false, "dispatch": false, "idle RSS": false},
		},
		{
			// One round disturbed by the machine must not decide: the median
			// of the per-round ratios does.
			name: "median round ratio",
			rounds: [][3]measured{
				round(800, 1000, 700, 5*time.Millisecond, 5*time.Millisecond),
				round(100, 1000, 700, 5*time.Millisecond, 5*time.Millisecond),
				round(900, 1000, 700, 5*time.Millisecond, 5*time.Millisecond),
			},
			big: 50 * time.Microsecond, update: time.Millisecond, idle: 1,
			want: map[string]bool{"throughput PiCloud / bare Go": true, "throughput PiCloud / Node.js": true},
		},
		{
			// The p99 target is judged at the same load when that was
			// measured: a slower server's closed-loop p99 is longer by
			// Little's law alone.
			name:   "p99 at the same rate",
			rounds: [][3]measured{round(500, 1000, 800, 40*time.Millisecond, 2*time.Millisecond)},
			big:    50 * time.Microsecond, update: time.Millisecond, idle: 1,
			atRate: []time.Duration{3 * time.Millisecond, 2 * time.Millisecond},
			want:   map[string]bool{"p99 PiCloud / bare Go": true},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep := &Report{Opts: DefaultOptions(), NodeIdle: Mem{RSS: c.idle}}
			rep.Servers = make([]ServerResult, 3)
			for _, r := range c.rounds {
				for i := range 3 {
					rep.Servers[i].Rounds = append(rep.Servers[i].Rounds, r[i])
					rep.Servers[i].Load = r[i].LoadResult
				}
			}
			for i, p99 := range c.atRate {
				rep.Servers[i].AtRate = fakeRound(250, p99, 0).LoadResult
			}
			rep.Update.Record(c.update)
			small := fakeRound(1000, time.Millisecond, 50*time.Microsecond)
			big := fakeRound(1000, time.Millisecond, c.big)
			rep.Dispatch = []DispatchResult{{What: "hosts", Small: []measured{small}, Big: []measured{big}}}
			got := map[string]bool{}
			for _, ch := range rep.Checks() {
				for key := range c.want {
					if strings.Contains(ch.What, key) {
						got[key] = ch.Pass
					}
				}
			}
			for key, want := range c.want {
				if got[key] != want {
					t.Errorf("%s: pass = %v, want %v (checks %+v)", key, got[key], want, rep.Checks())
				}
			}
			var out strings.Builder
			rep.Print(&out)
			if !strings.Contains(out.String(), "targets met") {
				t.Errorf("report without a verdict line:\n%s", out.String())
			}
		})
	}
}

// Servers that do different work must not be compared.
func TestSameAnswersRefusesDifferentWork(t *testing.T) {
	good := httptest.NewServer(BareHandler())
	defer good.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(HelloBody))
	}))
	defer other.Close()
	addr := func(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }
	ctx := context.Background()
	if err := SameAnswers(ctx, []*Proc{{Name: "a", Addr: addr(good)}, {Name: "b", Addr: addr(good)}}); err != nil {
		t.Fatalf("same server twice: %v", err)
	}
	if err := SameAnswers(ctx, []*Proc{{Name: "a", Addr: addr(good)}, {Name: "b", Addr: addr(other)}}); err == nil {
		t.Fatal("a different content type was accepted as the same work")
	}
}

// A node binary that dies at once is reported with its output, after a
// bounded number of attempts, not waited for until the timeout.
func TestStartNodeReportsANodeThatDies(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "picloud-node")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho 'picloud-node: invalid listen address' >&2\nexit 2\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := StartNode(context.Background(), bin, filepath.Join(dir, "data"))
	if err == nil || !errors.Is(err, errExitedEarly) || !strings.Contains(err.Error(), "invalid listen address") {
		t.Fatalf("got %v, want the node's own message and errExitedEarly", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("took %v to notice a node that exits at once", took)
	}
}
