package executor

import (
	"log/slog"
	"runtime"
	"runtime/metrics"
	"sync"
	"time"
)

// fence is the node-wide last line of defence against memory: while any
// script runs, a goroutine samples the Go heap every few milliseconds and,
// when it passes the limit even after a collection, interrupts every
// running script with LimitError{KnobHeapLimit}. The knobs bound what one
// script builds; the fence covers what they cannot see (many scripts at
// once, or native code building a value whose size no argument tells).
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

// enter registers a running script; the returned func unregisters it.
func (f *fence) enter(rs *runState) (release func()) {
	f.mu.Lock()
	f.runs[rs] = struct{}{}
	if !f.running {
		f.running = true
		go f.watch()
	}
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		delete(f.runs, rs)
		f.lastBusy = time.Now()
		f.mu.Unlock()
	}
}

const heapMetric = "/memory/classes/heap/objects:bytes"

func (f *fence) watch() {
	sample := []metrics.Sample{{Name: heapMetric}}
	t := time.NewTicker(f.interval)
	defer t.Stop()
	for range t.C {
		f.mu.Lock()
		if len(f.runs) == 0 {
			if time.Since(f.lastBusy) > fenceIdle {
				f.running = false
				f.mu.Unlock()
				return
			}
			f.mu.Unlock()
			continue
		}
		f.lastBusy = time.Now()
		f.mu.Unlock()
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
