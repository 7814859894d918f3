package executor

import (
	"log/slog"
	"runtime"
	"runtime/metrics"
	"sync"
	"time"
)

// fence watches running scripts from one goroutine, which samples every
// few milliseconds while any script runs. It is the node-wide last line of
// defence against memory: when the Go heap passes the limit even after a
// collection, it interrupts every running script with
// LimitError{KnobHeapLimit}. The knobs bound what one script builds; the
// fence covers what they cannot see (many scripts at once, or native code
// building a value whose size no argument tells).
//
// It also stops runs past their deadline or whose context ended: a run
// checks its clock itself every few operations (runState.checkClock), so
// the fence only catches runs inside a long native call. One sampler
// instead of a timer and a context callback per run keeps short runs free
// of timer and allocation costs.
type fence struct {
	limit    uint64
	interval time.Duration
	logger   *slog.Logger

	mu       sync.Mutex
	runs     map[*runState]struct{}
	running  bool
	lastBusy time.Time
}

// fenceIdle is how long the sampler outlives the last running script, so a
// steady stream of short requests does not start a goroutine each.
const fenceIdle = time.Second

func newFence(limit uint64, logger *slog.Logger) *fence {
	return &fence{limit: limit, interval: 5 * time.Millisecond, logger: logger, runs: make(map[*runState]struct{})}
}

// enter registers a running script until leave.
func (f *fence) enter(rs *runState) {
	f.mu.Lock()
	f.runs[rs] = struct{}{}
	if !f.running {
		f.running = true
		f.lastBusy = time.Now()
		go f.watch()
	}
	f.mu.Unlock()
}

func (f *fence) leave(rs *runState) {
	f.mu.Lock()
	delete(f.runs, rs)
	f.mu.Unlock()
}

const heapMetric = "/memory/classes/heap/objects:bytes"

func (f *fence) watch() {
	sample := []metrics.Sample{{Name: heapMetric}}
	t := time.NewTicker(f.interval)
	defer t.Stop()
	var late []*runState
	for now := range t.C {
		f.mu.Lock()
		if len(f.runs) == 0 {
			if now.Sub(f.lastBusy) > fenceIdle {
				f.running = false
				f.mu.Unlock()
				return
			}
			f.mu.Unlock()
			continue
		}
		f.lastBusy = now
		late = late[:0]
		for rs := range f.runs {
			if rs.overdue(now) {
				late = append(late, rs)
			}
		}
		f.mu.Unlock()
		for _, rs := range late {
			rs.checkClock(now)
		}
		clear(late) // a finished run must not stay reachable from here
		if f.heap(sample) <= f.limit {
			continue
		}
		// Garbage counts too until the next collection; only a live heap
		// over the limit stops scripts.
		runtime.GC()
		heap := f.heap(sample)
		if heap <= f.limit {
			continue
		}
		f.mu.Lock()
		victims := make([]*runState, 0, len(f.runs))
		for rs := range f.runs {
			victims = append(victims, rs)
		}
		f.mu.Unlock()
		f.logger.Warn("heap fence: stopping running scripts", "heap_bytes", heap, "limit_bytes", f.limit, "scripts", len(victims))
		for _, rs := range victims {
			rs.stop(KnobHeapLimit)
		}
	}
}

func (f *fence) heap(sample []metrics.Sample) uint64 {
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return sample[0].Value.Uint64()
}
