package bench

import (
	"strings"
	"testing"
	"time"
)

func TestFetchChecks(t *testing.T) {
	alone := []measured{fakeRound(1000, 10*time.Millisecond, time.Microsecond)}
	for _, tc := range []struct {
		name     string
		busy     measured
		failed   int64
		wantPass [3]bool
	}{
		{"unaffected", fakeRound(950, 12*time.Millisecond, time.Microsecond), 0, [3]bool{true, true, true}},
		{"slowed down", fakeRound(700, 12*time.Millisecond, time.Microsecond), 0, [3]bool{false, true, true}},
		{"p99 up", fakeRound(950, 25*time.Millisecond, time.Microsecond), 0, [3]bool{true, false, true}},
		{"waiting runs failed", fakeRound(950, 12*time.Millisecond, time.Microsecond), 3, [3]bool{true, true, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &FetchReport{Opts: DefaultFetchOptions(), Alone: alone, Busy: []measured{tc.busy}, WaitsDone: 100, WaitErrors: tc.failed,
				Proxy: alone, NodeProxy: alone}
			for i, c := range r.Checks() {
				if c.Pass != tc.wantPass[i] {
					t.Errorf("%s: pass %v (%s), want %v", c.What, c.Pass, c.Measured, tc.wantPass[i])
				}
			}
			var b strings.Builder
			r.Print(&b)
			if !strings.Contains(b.String(), "hello world, 200 runs awaiting fetch") {
				t.Errorf("report:\n%s", b.String())
			}
		})
	}
}
