package server

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestMemTotalReadsThisMachine(t *testing.T) {
	if got := memTotal(); got < 64<<20 {
		t.Errorf("memTotal = %d, want this machine's RAM", got)
	}
}

func TestTuneRuntimeRespectsOperatorSettings(t *testing.T) {
	oldGC := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(-1)
	procs := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { debug.SetGCPercent(oldGC); debug.SetMemoryLimit(oldLimit); runtime.GOMAXPROCS(procs) })

	tuneRuntime(envMap(map[string]string{"GOGC": "50", "GOMEMLIMIT": "1GiB", "GOMAXPROCS": "1"}))
	if gc := debug.SetGCPercent(100); gc != 100 {
		t.Errorf("GOGC set by the operator was overridden: %d", gc)
	}
	if p := runtime.GOMAXPROCS(0); p != procs {
		t.Errorf("GOMAXPROCS set by the operator was overridden: %d, want %d", p, procs)
	}

	tuneRuntime(envMap(nil))
	if gc := debug.SetGCPercent(100); gc != 400 {
		t.Errorf("GC percent = %d, want 400", gc)
	}
	if p := runtime.GOMAXPROCS(0); p != 2*procs {
		t.Errorf("GOMAXPROCS = %d, want twice the default %d", p, procs)
	}
	if l := debug.SetMemoryLimit(-1); l < minMemoryLimit || l > maxMemoryLimit {
		t.Errorf("memory limit = %d, want within [%d, %d]", l, minMemoryLimit, maxMemoryLimit)
	}
}
