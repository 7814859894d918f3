package executor

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"

	"github.com/picloud/picloud/shared"
)

// DefaultHeapLimit is the heap fence when neither Options.HeapLimit nor a Go
// memory limit (GOMEMLIMIT / debug.SetMemoryLimit) is set.
const DefaultHeapLimit = 512 << 20

// Options configure an Executor; zero values are sensible defaults.
type Options struct {
	// HeapLimit is the node-wide heap fence in bytes: when the Go heap grows
	// past it, every running script is stopped with LimitError{KnobHeapLimit}.
	// Zero means 90% of the Go memory limit if one is set, else 512 MiB.
	HeapLimit uint64

	// PoolSize is how many scripts run at once (the run slots) and how
	// many idle runtimes the Executor keeps: with no more runs than that, a
	// runtime is never built once warm, whichever scripts run. Zero means
	// DefaultPoolSize().
	PoolSize int

	// SlotWait is how long a run waits for a slot before it may take one of
	// the 2×PoolSize extra slots: when every slot has been busy that long,
	// the runs holding them are slow (a loop until its timeout, say), and
	// a few slow scripts must not hold up every other one. Zero means 20 ms;
	// runs of ordinary scripts free a slot within microseconds to a few
	// milliseconds on a busy machine.
	SlotWait time.Duration

	// IdleTimeout is how long idle runtimes (about 1 MB each) outlive the
	// last run before they are dropped. Zero means 2 minutes.
	IdleTimeout time.Duration

	Logger *slog.Logger
}

// Defaults of Options.
const (
	defaultSlotWait    = 20 * time.Millisecond
	defaultIdleTimeout = 2 * time.Minute
)

// DefaultPoolSize is the pool size of Options{}: twice the CPUs this
// process may run on. It counts CPUs, not Ps: a node runs twice as many Ps
// as CPUs for its blocking file I/O (node/server/runtime.go), while goja
// runs are CPU-bound, so more runs at once than a couple per core only cost
// memory (a runtime each) and latency. runtime.NumCPU does not see a
// cgroup CPU quota; set PoolSize where one applies.
func DefaultPoolSize() int { return 2 * runtime.NumCPU() }

// Executor compiles and runs scripts. It is safe for concurrent use.
type Executor struct {
	logger *slog.Logger
	fence  *fence

	// slots bounds the scripts running at once (Options.PoolSize). A run
	// waits for a slot in arrival order, or until its context ends. When
	// every slot has been busy for slotWait, a run may take one of the
	// extra slots instead (Options.SlotWait).
	slots    chan struct{}
	extra    chan struct{}
	slotWait time.Duration
	// idle holds hardened runtimes between runs. They belong to no script:
	// each run loads its program afresh (see sandbox.load).
	// A sync.Pool would be emptied by every GC, and a cold runtime costs
	// milliseconds to harden; the janitor drops them once nothing has run
	// for idleTimeout.
	idle    chan *sandbox
	pool    int          // Options.PoolSize
	live    atomic.Int64 // runtimes held by runs, waiting ones included
	peaks   livePeaks
	lastRun atomic.Int64 // unix nanoseconds of the end of the last run

	mu             sync.Mutex
	cache          map[cacheKey]*Program
	idleTimeout    time.Duration
	janitorRunning atomic.Bool
}

// New returns an Executor. Its heap fence samples only while scripts run.
func New(opts Options) *Executor {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	limit := opts.HeapLimit
	if limit == 0 {
		limit = DefaultHeapLimit
		if ml := debug.SetMemoryLimit(-1); ml > 0 && ml < 1<<62 {
			limit = uint64(ml) / 10 * 9
		}
	}
	pool := opts.PoolSize
	if pool <= 0 {
		pool = DefaultPoolSize()
	}
	return &Executor{
		logger:      logger,
		fence:       newFence(limit, logger),
		slots:       make(chan struct{}, pool),
		extra:       make(chan struct{}, 2*pool),
		slotWait:    cmp.Or(opts.SlotWait, defaultSlotWait),
		idle:        make(chan *sandbox, max(pool, maxIdle)),
		pool:        pool,
		peaks:       livePeaks{window: peakWindow},
		cache:       make(map[cacheKey]*Program),
		idleTimeout: cmp.Or(opts.IdleTimeout, defaultIdleTimeout),
	}
}

// Invocation is one run of a program, whatever triggered it: which entry
// function to call with what, under which limits, with which bindings.
type Invocation struct {
	Program *Program
	// Limits are the effective limits; unset knobs take the defaults.
	Limits shared.Limits
	// Entry is the function to call: handle (the zero value) or scheduled.
	Entry Entry
	// Request is handle's req; nil is an empty request.
	Request *Request
	// Event is scheduled's event.
	Event *ScheduledEvent
	// Bindings are the app's env and host APIs; nil gives an empty env.
	Bindings *Bindings
}

// Request is what a script sees as req.
type Request struct {
	Method, Host, Path, App string
	Params                  map[string]string
	Query                   url.Values
	Header                  http.Header
	Body                    []byte
}

// Result is the outcome of one execution. A run of scheduled that returned
// (or whose promise resolved) has Status 200 and no header or body.
type Result struct {
	Status     int
	Header     http.Header // read-only: results may share it
	Body       []byte
	Output     string // console lines, capped at 64 KiB
	Operations int64
	// Subrequests counts the fetches the script made (SPEC §10).
	Subrequests int
	Duration    time.Duration
	Err         error // nil, *LimitError or *ScriptError
}

// Run executes inv: the program's handle(req, env) or scheduled(event, env)
// under inv.Limits. It never panics and reports script faults only in
// Result.Err.
func (e *Executor) Run(ctx context.Context, inv Invocation) *Result {
	start := time.Now()
	res := &Result{}
	if res.Err = checkInvocation(&inv); res.Err != nil {
		return res
	}
	rs, err := e.begin(ctx, start, &inv)
	if err != nil {
		res.Err = err
		res.Duration = time.Since(start)
		return res
	}
	defer rs.releaseSlot() // the slot it holds at the end: waiting may change it

	clean := e.protect(rs.sb, &inv, res)
	// Once finished, no deadline, cancellation or fence can interrupt this
	// run any more. execute checked for limits at its end, so a limit that
	// arrives after that is too late to matter.
	rs.finish()
	e.fence.leave(rs)
	clean = rs.conclude(res, clean)
	end := time.Now()
	res.Duration = end.Sub(start)

	sb := rs.sb
	rs.end()
	e.live.Add(-1)
	e.lastRun.Store(end.UnixNano())
	if clean && !sb.retire {
		sb.rt.ClearInterrupt()
		e.put(sb)
		e.watchIdle()
	}
	return res
}

// checkInvocation refuses what cannot run and fills the defaults.
func checkInvocation(inv *Invocation) error {
	p := inv.Program
	if p == nil || p.prg == nil {
		return &ScriptError{Message: "no program"}
	}
	if !p.Has(inv.Entry) {
		return &ScriptError{Message: "script defines no " + inv.Entry.String() + " function"}
	}
	inv.Limits = fillLimits(inv.Limits)
	if inv.Request == nil {
		inv.Request = &Request{}
	}
	return nil
}

// begin takes a run slot and a runtime and starts the run's state on it.
func (e *Executor) begin(ctx context.Context, start time.Time, inv *Invocation) (*runState, error) {
	slot, waited := e.acquire(ctx, nil)
	if slot == nil {
		return nil, ctxError(ctx)
	}
	sb, built, err := e.get()
	if err != nil {
		<-slot
		e.logger.Error("prepare sandbox", "script", inv.Program.ScriptID, "err", err)
		return nil, &ScriptError{Message: "internal error preparing the sandbox"}
	}
	e.peaks.saw(e.live.Add(1))
	// The timeout counts from when the script can start: after any wait
	// for a slot and any build of a runtime. A warm node does neither, and
	// the clock read at the start serves (a clock read is some 90 ns in a
	// VM, a few percent of a hello world's run).
	began := start
	if waited || built {
		began = time.Now()
	}
	limits := inv.Limits
	rs := &runState{sb: sb, limits: limits, ctx: ctx, exec: e, slot: slot,
		deadline: began.Add(time.Duration(limits.TimeoutMS) * time.Millisecond)}
	sb.run = rs
	// goja refuses a call once the stack already holds size frames; the
	// bottom one is the entry function, which calls handle (level 1).
	sb.rt.SetMaxCallStackSize(int(min(limits.MaxCallLevels, 1<<20)))
	sb.rt.ClearInterrupt()
	e.fence.enter(rs)
	return rs, nil
}

// protect is sb.execute, with a panic reported as an internal error.
func (e *Executor) protect(sb *sandbox, inv *Invocation, res *Result) (clean bool) {
	defer func() {
		if x := recover(); x != nil {
			e.logger.Error("script run panicked", "script", inv.Program.ScriptID, "panic", x, "stack", string(debug.Stack()))
			res.Err = &ScriptError{Message: fmt.Sprintf("internal error: %v", x)}
			clean = false
		}
	}()
	return sb.execute(inv, res)
}

// conclude puts the run's limit, output and operations into res, and
// reports whether the runtime may be reused.
func (rs *runState) conclude(res *Result, clean bool) bool {
	if le := rs.limit.Load(); le != nil && !clean {
		if le.Knob == knobCancelled {
			res.Err = &ScriptError{Message: "execution cancelled: " + context.Cause(rs.ctx).Error()}
		} else {
			res.Err = le
		}
	}
	if res.Err != nil {
		clean = false
		res.Status, res.Header, res.Body = 0, nil, nil
	}
	res.Output = rs.out.String()
	res.Operations = rs.ops
	if rs.fetch != nil {
		res.Subrequests = rs.fetch.made
	}
	return clean
}

// acquire waits for a run slot and returns the channel to release it to,
// or nil if ctx ended or stop fired first (a nil stop never does); waited
// tells whether a slot was not free at once.
func (e *Executor) acquire(ctx context.Context, stop <-chan struct{}) (slot chan struct{}, waited bool) {
	select {
	case e.slots <- struct{}{}:
		return e.slots, false
	default:
	}
	t := time.NewTimer(e.slotWait)
	defer t.Stop()
	select {
	case e.slots <- struct{}{}:
		return e.slots, true
	case <-ctx.Done():
		return nil, true
	case <-stop:
		return nil, true
	case <-t.C:
	}
	select {
	case e.slots <- struct{}{}:
		return e.slots, true
	case e.extra <- struct{}{}:
		return e.extra, true
	case <-ctx.Done():
		return nil, true
	case <-stop:
		return nil, true
	}
}

// ctxError is the error of a run whose context ended: the timeout knob for
// a deadline, a ScriptError for a cancellation.
func ctxError(ctx context.Context) error {
	if errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		return &LimitError{Knob: shared.KnobTimeoutMS}
	}
	return &ScriptError{Message: "execution cancelled: " + context.Cause(ctx).Error()}
}

// knobCancelled marks a run stopped because its context was cancelled; it
// is reported as a ScriptError, not as a knob.
const knobCancelled = "cancelled"

// fillLimits replaces unset knobs by the defaults, so a zero Limits is usable.
func fillLimits(l shared.Limits) shared.Limits {
	if l.MaxOperations > 0 && l.MaxStringSize > 0 && l.MaxArraySize > 0 && l.MaxMapSize > 0 &&
		l.MaxCallLevels > 0 && l.MaxExprDepth > 0 && l.TimeoutMS > 0 {
		return l // what the node passes: effective limits, every knob set
	}
	d := shared.DefaultLimits()
	for _, k := range shared.Knobs {
		if l.Get(k) <= 0 {
			l = l.Apply(shared.Overrides{k: d.Get(k)})
		}
	}
	return l
}

// get takes an idle runtime, or builds one (built).
func (e *Executor) get() (sb *sandbox, built bool, err error) {
	select {
	case sb := <-e.idle:
		return sb, false, nil
	default:
		sb, err := newSandbox()
		return sb, true, err
	}
}

// maxIdle bounds the idle runtimes kept beyond PoolSize.
const maxIdle = 256

// peakWindow is how long a peak of runtimes in use keeps as many idle.
const peakWindow = 10 * time.Second

// put keeps sb for a later run while fewer runtimes are idle than runs
// held at once lately (at least PoolSize, at most maxIdle): runs waiting
// on fetch each hold a runtime, and when a burst of them ends, as many new
// runs may follow, which would otherwise each build one (some 5 ms of
// CPU). Past that, sb goes, and so does one more idle runtime, so the
// idle ones shrink back once the peak is over. Memory stays within twice
// the recent peak of runtimes in use.
func (e *Executor) put(sb *sandbox) {
	if len(e.idle) >= max(e.pool, int(e.peaks.recent(time.Now()))) {
		select {
		case <-e.idle:
		default:
		}
		return
	}
	select {
	case e.idle <- sb:
	default:
	}
}

// livePeaks is the most runtimes runs held at once in the current and
// the previous window: a heuristic, so its updates may race.
type livePeaks struct {
	window    time.Duration
	start     atomic.Int64 // unix nanoseconds the current window began
	cur, prev atomic.Int64
}

// saw notes n runtimes in use.
func (p *livePeaks) saw(n int64) {
	for c := p.cur.Load(); n > c && !p.cur.CompareAndSwap(c, n); c = p.cur.Load() {
	}
}

// recent is the peak of the current and previous windows, moving to a
// new window when the current one is over.
func (p *livePeaks) recent(now time.Time) int64 {
	if s := p.start.Load(); now.UnixNano()-s > int64(p.window) && p.start.CompareAndSwap(s, now.UnixNano()) {
		p.prev.Store(p.cur.Swap(0))
	}
	return max(p.cur.Load(), p.prev.Load())
}

// execute runs the program's entry function, which calls handle or
// scheduled, and fills res. It reports whether the runtime is clean enough
// to be reused.
func (sb *sandbox) execute(inv *Invocation, res *Result) bool {
	p := inv.Program
	entry, err := sb.load(p)
	if err != nil {
		res.Err = sb.scriptError(err)
		return false
	}
	var arg goja.Value
	if inv.Entry == EntryScheduled {
		arg = sb.event(inv.Event)
	} else if arg, err = sb.request(inv.Request, p.req); err != nil {
		res.Err = sb.scriptError(err)
		return false
	}
	env := sb.install(inv.Bindings, p.shape.env(inv.Entry))
	v, err := sb.call(p, entry, arg, env, inv.Entry)
	if err == nil && sb.run.loop != nil {
		err = sb.await(v)
	}
	if err != nil {
		res.Err = sb.scriptError(err)
		return false
	}
	v, err = sb.settle(v, inv.Entry)
	if err != nil {
		res.Err = sb.scriptError(err)
		return false
	}
	sb.checkTargets()
	if sb.run.stopped() {
		return false
	}
	if inv.Entry == EntryScheduled {
		// What scheduled returns is not used (SPEC §9); reading it runs
		// no script code.
		res.Status = http.StatusOK
		return true
	}
	// A Response returned (fetch.go) becomes a plain result; a body of
	// bytes, a fetched one read first, is sent as it is.
	v, raw, err := sb.responseOf(v)
	if err != nil {
		res.Err = sb.scriptError(err)
		return false
	}
	if err := sb.response(v, res); err != nil {
		res.Err = err
		return false
	}
	if raw != nil {
		res.Body = raw
	}
	// Promise jobs queued while the response was read (a getter, toJSON)
	// would otherwise run at the start of the runtime's next run, which may
	// be another script's: run them now, under this run's limits. Reading
	// a primitive runs no script code.
	if _, ok := v.(*goja.Object); ok {
		if _, err := sb.flush(goja.Undefined()); err != nil {
			res.Err = sb.scriptError(err)
			return false
		}
	}
	return !sb.run.stopped()
}

// scriptError converts what goja returned into the contract's error types.
func (sb *sandbox) scriptError(err error) error {
	if le := sb.run.limit.Load(); le != nil {
		return le
	}
	var so *goja.StackOverflowError
	if errors.As(err, &so) {
		le := &LimitError{Knob: shared.KnobMaxCallLevels}
		sb.run.limit.CompareAndSwap(nil, le)
		return sb.run.limit.Load()
	}
	var ie *goja.InterruptedError
	if errors.As(err, &ie) {
		if le, ok := ie.Value().(*LimitError); ok {
			return le
		}
	}
	var le *LimitError
	var se *ScriptError
	var ex *goja.Exception
	switch {
	case errors.As(err, &le):
		return le
	case errors.As(err, &se):
		return se
	case !errors.As(err, &ex):
		return &ScriptError{Message: capText(err.Error(), maxErrorText)}
	}
	se = sb.thrown(ex)
	// Describing the thrown value runs its toString and stack getter,
	// which a limit may have stopped.
	if le := sb.run.limit.Load(); le != nil {
		return le
	}
	return se
}

// thrown describes what the script threw: its message, position and stack,
// Message and Stack together at most maxErrorText bytes, the stack cut
// first. goja's Exception.Error and String would run the value's toString
// outside any guard.
func (sb *sandbox) thrown(ex *goja.Exception) *ScriptError {
	se := &ScriptError{}
	v := ex.Value()
	_ = sb.guard(func() error {
		se.Message = sb.safeText(v, maxErrorText)
		if obj, ok := v.(*goja.Object); ok {
			if s := obj.Get("stack"); s != nil && !goja.IsUndefined(s) {
				se.Stack = sb.safeText(s, maxErrorText)
			}
		}
		return nil
	})
	frames := ex.Stack()
	for _, f := range frames {
		if pos := f.Position(); pos.Line > 0 {
			se.Line, se.Column = pos.Line, pos.Column
			break
		}
	}
	if se.Stack == "" {
		var b bytes.Buffer
		b.WriteString(se.Message)
		b.WriteByte('\n')
		for _, f := range frames {
			if b.Len() > maxErrorText {
				break
			}
			b.WriteString("\tat ")
			f.Write(&b)
			b.WriteByte('\n')
		}
		se.Stack = b.String()
	}
	se.Stack = capText(se.Stack, maxErrorText-len(se.Message))
	return se
}
