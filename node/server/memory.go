package server

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Memory return: with GOGC=400 (tuneRuntime) the heap may sit at five
// times the live data, and after a burst (an attack, a big response) the
// runtime returns the pages it no longer needs only slowly. A node that
// has gone quiet gives them back at once instead: a Pi has little RAM and
// other programs on it.
const (
	// quietTick is how often the node looks whether it is quiet.
	quietTick = 5 * time.Second
	// quietAlloc is the most the node may allocate in a tick and still be
	// quiet: a few idle connections and timers, not a request a second.
	quietAlloc = 1 << 20
	// returnAfter is how much the node must have allocated since it last
	// returned memory for another return to be worth a collection: a
	// burst, or a long trickle of requests.
	returnAfter = 16 << 20
)

// returnMemory collects garbage and returns the free heap to the operating
// system whenever the process has been quiet for a tick after allocating
// returnAfter bytes, until ctx ends. Garbage is only found by a collection,
// which a quiet process does not start by itself for minutes.
func returnMemory(ctx context.Context, tick time.Duration) {
	samples := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	t := time.NewTicker(tick)
	defer t.Stop()
	metrics.Read(samples)
	allocs := samples[0].Value.Uint64()
	returned := allocs // allocation count at the last return
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(samples)
		now := samples[0].Value.Uint64()
		quiet := now-allocs < quietAlloc
		allocs = now
		if quiet && now-returned >= returnAfter {
			debug.FreeOSMemory()
			returned = now
		}
	}
}
