package ui

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/shared"
)

// callTimeout bounds every admin call so a node that vanished mid-use turns
// into a message instead of a spinner that never stops. runTimeout is for
// Run, which lasts as long as the script may (timeout_ms ceiling: 30 s).
const (
	callTimeout = 15 * time.Second
	runTimeout  = 45 * time.Second
)

// tasks runs network calls off the UI goroutine. While any call is in
// flight the activity indicator spins; results and errors are handed back
// on the UI goroutine with fyne.Do. Each view runs its calls through its
// own tasks (within): once the view closes, its calls are cancelled and
// their answers dropped, so a screen the user left never reports into the
// one they are on (a deleted app's Logs poll, a slow load).
type tasks struct {
	*taskState
	ctx context.Context
	// answered, if set, runs on the UI goroutine after each call the node
	// answered (the node view notes when it last heard from its node).
	answered func()
	// quiet calls run in the background (the sidebar's probes): they do
	// not spin the activity indicator, whose animation repaints the window.
	quiet bool
}

// quietly returns tasks whose calls do not show the activity indicator.
func (t *tasks) quietly() *tasks {
	q := *t
	q.quiet = true
	return &q
}

// within returns tasks whose calls end with ctx, sharing the activity
// indicator and the count of calls in flight.
func (t *tasks) within(ctx context.Context) *tasks {
	return &tasks{taskState: t.taskState, ctx: ctx, answered: t.answered}
}

type taskState struct {
	post     func(func()) // runs a function on the UI goroutine
	activity *widget.Activity
	report   func(msg string, isErr bool)
	// netErr, if set, hears of calls that failed without an answer from
	// the node (offline, unreachable, wrong identity).
	netErr func(error)
	// failed and succeeded, if set, hear of each call's outcome by its
	// name, so a success can replace the error an earlier try reported.
	failed    func(what string, network bool)
	succeeded func(what string)

	mu       sync.Mutex
	inFlight int
	loud     int                    // calls in flight that show the indicator
	idle     chan struct{}          // closed while loud == 0: what wait waits for
	running  map[uint64]runningCall // calls in flight, for wait's error
	nextID   uint64
}

// runningCall is a call in flight: its name, when it began, whether it
// runs in the background.
type runningCall struct {
	what  string
	since time.Time
	quiet bool
}

func newTasks(ctx context.Context, post func(func()), activity *widget.Activity, report func(string, bool)) *tasks {
	idle := make(chan struct{})
	close(idle)
	return &tasks{taskState: &taskState{post: post, activity: activity, report: report, idle: idle}, ctx: ctx}
}

func (t *taskState) begin(what string, quiet bool) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.inFlight++
	if t.running == nil {
		t.running = make(map[uint64]runningCall)
	}
	t.nextID++
	t.running[t.nextID] = runningCall{what, time.Now(), quiet}
	if quiet {
		return t.nextID
	}
	if t.loud == 0 {
		t.idle = make(chan struct{})
		t.activity.Show()
		t.activity.Start()
	}
	t.loud++
	return t.nextID
}

// end runs on the UI goroutine after the result was delivered.
func (t *taskState) end(id uint64, quiet bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.inFlight--
	delete(t.running, id)
	if quiet {
		return
	}
	t.loud--
	if t.loud == 0 {
		close(t.idle)
		t.activity.Stop()
		t.activity.Hide()
	}
}

// wait blocks until no call of the screen's is in flight (the screenshot
// mode). Background calls (quiet: the sidebar's probes, on a timer) do not
// count: they never stop, and the tour waited for them, sometimes for
// minutes on a loaded machine. A call started by a result handler counts
// before the outer one ends, so a chain of calls is waited for as a whole.
func (t *taskState) wait(timeout time.Duration) error {
	deadline := time.After(timeout)
	for {
		t.mu.Lock()
		idle := t.idle
		t.mu.Unlock()
		select {
		case <-idle:
			// Re-check: a handler may have started another call.
			t.mu.Lock()
			n := t.loud
			t.mu.Unlock()
			if n == 0 {
				return nil
			}
		case <-deadline:
			return fmt.Errorf("calls still running after %v: %s", timeout, t.describeRunning())
		}
	}
}

// describeRunning lists the screen's calls in flight, oldest first, with
// their age.
func (t *taskState) describeRunning() string {
	t.mu.Lock()
	calls := slices.DeleteFunc(slices.Collect(maps.Values(t.running)), func(c runningCall) bool { return c.quiet })
	t.mu.Unlock()
	slices.SortFunc(calls, func(a, b runningCall) int { return a.since.Compare(b.since) })
	names := make([]string, len(calls))
	for i, c := range calls {
		names[i] = fmt.Sprintf("%s (%v)", c.what, time.Since(c.since).Round(time.Millisecond))
	}
	return strings.Join(names, ", ")
}

// call runs fn off the UI goroutine. On success, ok receives the result on
// the UI goroutine. On failure, fail (if not nil) gets the error first and
// returns whether it handled it; unhandled errors become a message in the
// status bar. what names the action for that message ("load apps").
func call[T any](t *tasks, what string, fn func(ctx context.Context) (T, error), ok func(T), fail func(error) bool) {
	callWithin(t, callTimeout, what, fn, ok, fail)
}

// callWithin is call with its own time limit.
func callWithin[T any](t *tasks, limit time.Duration, what string, fn func(ctx context.Context) (T, error), ok func(T), fail func(error) bool) {
	id := t.begin(what, t.quiet)
	go func() {
		ctx, cancel := context.WithTimeout(t.ctx, limit)
		v, err := func() (v T, err error) {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("internal error: %v", p)
				}
			}()
			return fn(ctx)
		}()
		cancel()
		t.post(func() {
			defer t.end(id, t.quiet)
			if t.ctx.Err() != nil { // the view that asked is gone
				return
			}
			if _, isContract := shared.AsError(err); (err == nil || isContract) && t.answered != nil {
				t.answered()
			}
			if err != nil {
				_, answered := shared.AsError(err)
				if !answered && t.netErr != nil {
					t.netErr(err)
				}
				if fail != nil && fail(err) {
					return
				}
				t.report(what+": "+Message(err), true)
				if t.failed != nil {
					t.failed(what, !answered)
				}
				return
			}
			if t.succeeded != nil {
				t.succeeded(what)
			}
			if ok != nil {
				ok(v)
			}
		})
	}()
}

// Message turns an error from the admin client into a sentence for a person:
// the node's own message for contract errors, and a plain explanation for
// the ways a network call fails.
func Message(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := shared.AsError(err); ok {
		switch {
		case e.Status == http.StatusUnauthorized || e.Code == shared.CodeUnauthorized:
			return "the node refused the admin token (401 unauthorized)"
		case e.Message != "":
			return e.Message
		default:
			return e.Code
		}
	}
	var mm *shared.IdentityMismatchError
	if errors.As(err, &mm) {
		return mm.Error()
	}
	var opErr *net.OpError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the node is offline (connection refused)"
	case errors.Is(err, context.DeadlineExceeded):
		return "the node did not answer in time"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.As(err, &opErr):
		return "the node cannot be reached: " + opErr.Err.Error()
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "unknown host " + dnsErr.Name
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		if urlErr.Timeout() {
			return "the node did not answer in time"
		}
		return urlErr.Err.Error()
	}
	return err.Error()
}
