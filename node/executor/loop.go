package executor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dop251/goja"

	"github.com/picloud/picloud/shared"
)

// The event loop lets a host API hand work to Go (a KV commit, an HTTP
// response) and give the script a promise that settles when the work is
// done. goja is not goroutine-safe: only the run's goroutine touches the
// runtime. So the work runs on a goroutine of its own and produces a
// completion, which the run's goroutine applies: it settles the promise,
// and goja runs the script's reactions to it.
//
// A run whose entry returned a promise still pending, with Go work
// outstanding, waits (await): without spinning, and without holding a run
// slot, which is for CPU-bound work; it takes one again to apply each
// completion. It ends when the entry's promise settles, at timeout_ms
// (wall clock: waiting counts), or when its context ends. Then the run's
// work context is cancelled; what completes later is never applied, and
// nothing of it reaches the runtime's next run.
//
// Memory: a waiting run holds its runtime, at most maxInFlight goroutines
// of work (a few KB of stack each, plus what the work itself holds) and at
// most maxPending unsettled operations (a promise and a queue entry each,
// some hundreds of bytes). BenchmarkWaitingRunMemory measures about 650 KB
// of heap and stacks per run waiting on one operation, nearly all of it
// the runtime: 200 waiting runs hold some 130 MB.

const (
	// maxInFlight bounds the goroutines of one run's work at once; more
	// work waits in the run's queue and starts as one finishes.
	maxInFlight = 16
	// maxPending bounds one run's unsettled operations; async rejects
	// more with a RangeError. Host APIs have lower per-run caps of their
	// own (1,000 KV calls, 50 fetches).
	maxPending = 1024
)

// AsyncWork is the Go side of one asynchronous host call. It runs on a
// goroutine of its own with the run's work context, which ends with the
// run (it must return then), and must not touch the runtime. It returns
// complete, which the run's goroutine calls to settle the promise: it
// resolves with complete's value, or rejects with its error (see
// rejection). complete may build JavaScript values, throw, and use the run
// state; it is never called once the run has ended.
type AsyncWork func(ctx context.Context) (complete func() (goja.Value, error))

// loop is the event-loop state of a run, made by its first async call.
type loop struct {
	ctx    context.Context // the work context: the run's, until its deadline
	cancel context.CancelFunc
	done   chan completion // buffered maxInFlight: a finishing goroutine never blocks
	wake   chan struct{}   // the run was stopped (runState.stop)

	queue     []queued // work not started yet, oldest first
	inFlight  int      // goroutines of work running
	unsettled int      // operations whose promise is not settled
}

type queued struct {
	work AsyncWork
	op   *operation
}

// operation is one asynchronous call: its promise's resolving functions.
type operation struct {
	resolve, reject func(any) error
}

type completion struct {
	op       *operation
	complete func() (goja.Value, error)
}

// async starts work for a host API called from the script and returns
// the promise the script gets. This is the one way for a host API to wait
// on Go: see AsyncWork. Call it on the run's goroutine, from a host
// function of the current run.
func (rs *runState) async(work AsyncWork) goja.Value {
	rt := rs.sb.rt
	p, resolve, reject := rt.NewPromise()
	if rs.sb.run != rs {
		_ = reject(rs.sb.newError("Error", "the run has ended"))
		return rt.ToValue(p)
	}
	lp := rs.eventLoop()
	if lp.unsettled >= maxPending {
		_ = reject(rs.sb.newError("RangeError", fmt.Sprintf("more than %d operations pending at once", maxPending)))
		return rt.ToValue(p)
	}
	lp.unsettled++
	op := &operation{resolve: resolve, reject: reject}
	if lp.inFlight < maxInFlight {
		lp.start(work, op)
	} else {
		lp.queue = append(lp.queue, queued{work, op})
	}
	return rt.ToValue(p)
}

// eventLoop returns the run's loop, making it on first use.
func (rs *runState) eventLoop() *loop {
	if rs.loop != nil {
		return rs.loop
	}
	ctx, cancel := context.WithDeadline(rs.ctx, rs.deadline)
	lp := &loop{ctx: ctx, cancel: cancel, done: make(chan completion, maxInFlight), wake: make(chan struct{}, 1)}
	rs.mu.Lock() // stop reads rs.loop from other goroutines
	rs.loop = lp
	rs.mu.Unlock()
	return lp
}

// start runs work on a goroutine of its own.
func (lp *loop) start(work AsyncWork, op *operation) {
	lp.inFlight++
	go func() {
		var complete func() (goja.Value, error)
		defer func() {
			if x := recover(); x != nil {
				err := fmt.Errorf("internal error: %v", x)
				complete = func() (goja.Value, error) { return nil, err }
			}
			lp.done <- completion{op, complete}
		}()
		complete = work(lp.ctx)
	}()
}

// await runs the loop until v, the entry's return value, is no longer a
// pending promise, the run has no more work outstanding, or the run is
// stopped (the error is then its limit).
func (sb *sandbox) await(v goja.Value) error {
	rs, lp := sb.run, sb.run.loop
	p := promiseOf(v)
	for p != nil && p.State() == goja.PromiseStatePending && lp.unsettled > 0 && !rs.stopped() {
		c, ok := rs.wait()
		if !ok {
			break
		}
		if err := sb.apply(c); err != nil {
			return err
		}
	}
	if le := rs.limit.Load(); le != nil {
		return le
	}
	return nil
}

// wait blocks until the next completion, without a run slot, and takes a
// slot again to apply it. It reports false when the run was stopped, timed
// out or cancelled meanwhile (its limit is then set).
func (rs *runState) wait() (completion, bool) {
	lp := rs.loop
	rs.releaseSlot()
	var c completion
	select {
	case c = <-lp.done:
	case <-lp.wake:
		return c, false
	case <-lp.ctx.Done():
		rs.stopContext()
		return c, false
	}
	if rs.slot, _ = rs.exec.acquire(lp.ctx, lp.wake); rs.slot == nil {
		if !rs.stopped() {
			rs.stopContext()
		}
		return c, false
	}
	return c, true
}

// stopContext stops a run whose work context ended: at the run's deadline,
// or because the caller's context ended.
func (rs *runState) stopContext() {
	if rs.ctx.Err() == nil {
		rs.stop(shared.KnobTimeoutMS)
		return
	}
	rs.checkClock(time.Now())
}

// apply settles c's promise with what c's work produced, on the run's
// goroutine; goja then runs the reactions. It starts queued work in the
// goroutine c's work left. The error is uncatchable: an interrupt (a
// limit, the deadline) or too deep a stack while reactions ran.
func (sb *sandbox) apply(c completion) error {
	lp := sb.run.loop
	lp.inFlight--
	lp.unsettled--
	if len(lp.queue) > 0 {
		next := lp.queue[0]
		lp.queue[0] = queued{}
		lp.queue = lp.queue[1:]
		lp.start(next.work, next.op)
	}
	var v goja.Value
	var err error
	if ex := sb.rt.Try(func() { v, err = c.complete() }); ex != nil {
		err = ex
	}
	if err != nil {
		return c.op.reject(sb.rejection(err))
	}
	return c.op.resolve(v)
}

// hostError is an error a host API rejects with as a JavaScript error of
// a built-in type: TypeError, RangeError or Error.
type hostError struct {
	name, message string
}

func (e *hostError) Error() string { return e.name + ": " + e.message }

// rejection is the reason a promise rejects with for err: a JavaScript
// exception's value as thrown, a hostError as its type, a limit stops the
// run (the script cannot catch it), anything else an Error with err's
// message.
func (sb *sandbox) rejection(err error) goja.Value {
	var ex *goja.Exception
	var he *hostError
	var le *LimitError
	switch {
	case errors.As(err, &ex):
		return ex.Value()
	case errors.As(err, &he):
		return sb.newError(he.name, he.message)
	case errors.As(err, &le):
		sb.run.stop(le.Knob)
		return sb.newError("Error", le.Error())
	}
	return sb.newError("Error", err.Error())
}

// newError makes a JavaScript error of the named built-in type.
func (sb *sandbox) newError(ctor, message string) goja.Value {
	obj, err := sb.rt.New(sb.rt.GlobalObject().Get(ctor), sb.rt.ToValue(message))
	if err != nil {
		return sb.rt.ToValue(message)
	}
	return obj
}
