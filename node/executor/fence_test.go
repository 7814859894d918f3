package executor

import (
	"errors"
	"runtime"
	"runtime/metrics"
	"testing"

	"github.com/picloud/picloud/shared"
)

// TestHeapFence: a script that stays inside generous knobs but keeps
// allocating is stopped by the node-wide heap fence.
func TestHeapFence(t *testing.T) {
	runtime.GC()
	sample := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(sample)
	e := New(Options{HeapLimit: sample[0].Value.Uint64() + 48<<20})

	l := shared.DefaultLimits()
	l.MaxStringSize = 1 << 30
	l.MaxArraySize = 1 << 30
	l.MaxOperations = 1 << 40
	l.TimeoutMS = 20_000
	res := run(t, e, `function handle(){ const keep = []; for (;;) keep.push('x'.repeat(1 << 20) + keep.length) }`, l, nil)
	var le *LimitError
	if !errors.As(res.Err, &le) || le.Knob != KnobHeapLimit {
		t.Fatalf("want heap_limit, got %v", res.Err)
	}
	runtime.GC()
	healthy(t, e)
}

func TestDefaultHeapLimit(t *testing.T) {
	e := New(Options{})
	if e.fence.limit == 0 {
		t.Fatal("no heap fence")
	}
	if e2 := New(Options{HeapLimit: 1234}); e2.fence.limit != 1234 {
		t.Fatalf("limit %d", e2.fence.limit)
	}
}
