package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/widget"
)

// The screenshot tour waits for the screen's calls, not for background
// probes, and a wait that gives up names what is still running.
func TestWaitIgnoresBackgroundCallsAndNamesTheRunningOnes(t *testing.T) {
	posted := make(chan func(), 16)
	ts := newTasks(context.Background(), func(f func()) { posted <- f }, widget.NewActivity(), func(string, bool) {})
	release := make(chan struct{})
	defer close(release)
	call(ts.quietly(), "check pi", func(ctx context.Context) (int, error) { <-release; return 0, nil }, nil, nil)
	if err := ts.wait(time.Second); err != nil {
		t.Fatalf("a background probe held the wait: %v", err)
	}
	call(ts, "load apps", func(ctx context.Context) (int, error) { <-release; return 0, nil }, nil, nil)
	err := ts.wait(200 * time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "load apps (") || strings.Contains(err.Error(), "check pi") {
		t.Fatalf("wait with a screen's call stuck = %v, want it named (and only it)", err)
	}
	release <- struct{}{} // one of the two returns; run its answer on "the UI goroutine"
	release <- struct{}{}
	for range 2 {
		(<-posted)()
	}
	if err := ts.wait(time.Second); err != nil {
		t.Errorf("after both answered: %v", err)
	}
}
