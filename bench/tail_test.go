package bench

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestTailChecks(t *testing.T) {
	none := []measured{fakeRound(1000, 10*time.Millisecond, 40*time.Microsecond), fakeRound(800, 10*time.Millisecond, 40*time.Microsecond)}
	for _, tc := range []struct {
		name     string
		tailed   []measured
		dropped  []int64
		wantPass [2]bool
	}{
		{"unaffected", []measured{fakeRound(980, 10*time.Millisecond, 41*time.Microsecond), fakeRound(790, 10*time.Millisecond, 41*time.Microsecond)},
			[]int64{900, 700}, [2]bool{true, true}},
		// req/s moves with the machine's load: reported, not judged.
		{"fewer req/s at the same cost", []measured{fakeRound(500, 10*time.Millisecond, 41*time.Microsecond), fakeRound(400, 10*time.Millisecond, 41*time.Microsecond)},
			[]int64{900, 700}, [2]bool{true, true}},
		{"costlier per request", []measured{fakeRound(980, 10*time.Millisecond, 50*time.Microsecond), fakeRound(790, 10*time.Millisecond, 50*time.Microsecond)},
			[]int64{900, 700}, [2]bool{false, true}},
		// A round where the stuck client lost nothing was not stuck: it proves nothing.
		{"a round that never stalled the client", []measured{fakeRound(980, 10*time.Millisecond, 41*time.Microsecond), fakeRound(790, 10*time.Millisecond, 41*time.Microsecond)},
			[]int64{900, 0}, [2]bool{true, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &TailReport{Opts: DefaultTailOptions(), None: none, Tailed: tc.tailed, Dropped: tc.dropped}
			for i, c := range r.Checks() {
				if c.Pass != tc.wantPass[i] {
					t.Errorf("%s: pass %v (%s), want %v", c.What, c.Pass, c.Measured, tc.wantPass[i])
				}
			}
			var b strings.Builder
			r.Print(&b)
			if !strings.Contains(b.String(), "a stuck tail + 50 idle tails") || !strings.Contains(b.String(), "req/s with tails / without") {
				t.Errorf("report:\n%s", b.String())
			}
		})
	}
}

// One short round against the real node: every request is answered while
// a client tails the app without reading, and that client, once it reads,
// is told how many entries it lost. Speed is the benchmark's to judge.
func TestRunTailStuckClientIsToldOfDrops(t *testing.T) {
	bin := buildNode(t)
	rep, err := RunTail(context.Background(), TailOptions{NodeBin: bin, Rounds: 1, Warmup: 500 * time.Millisecond,
		Duration: 2 * time.Second, Concurrency: 8, Idle: 5, Progress: tlog{t}})
	if err != nil {
		t.Fatal(err) // a request that failed or a stuck client never told of drops
	}
	if len(rep.None) != 1 || len(rep.Tailed) != 1 || rep.Tailed[0].OK == 0 {
		t.Fatalf("rounds: %d without, %d with tails", len(rep.None), len(rep.Tailed))
	}
	if rep.Dropped[0] <= 0 {
		t.Errorf("the stuck client was told of %d drops", rep.Dropped[0])
	}
}

// tlog shows a run's progress in the test's log (-v).
type tlog struct{ t *testing.T }

func (l tlog) Write(p []byte) (int, error) { l.t.Log(strings.TrimSpace(string(p))); return len(p), nil }
