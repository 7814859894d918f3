package server

import (
	"bufio"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// Memory limits for the Go runtime, as fractions of the machine's RAM.
const (
	minMemoryLimit = 128 << 20
	maxMemoryLimit = 1 << 30
)

// tuneRuntime sets the scheduler and the garbage collector for a node,
// unless the operator set GOMAXPROCS, GOGC or GOMEMLIMIT. Call it once.
//
// GOMAXPROCS: the execution-log writer's SQLite file I/O blocks its thread
// in system calls, and a P held by a system call runs no other goroutine
// until the runtime takes it back. Twice as many Ps as the CPUs Go found
// (its default honours cgroup quotas) keep every core serving requests
// meanwhile: at the CPUs' count the node uses as much CPU per request
// but serves fewer requests (7-15% on 2 cores, bench/RESULTS.md).
// Script runs stay bounded by the CPUs (the executor's pool).
//
// GC: measured under load (bench/RESULTS.md): GC was ~45% of
// the node's CPU at the default GOGC=100, because each request allocates a
// few tens of KB of short-lived script state over a small live heap.
// GOGC=400 trades idle-heap headroom for far fewer cycles, and a soft memory
// limit of half the RAM (clamped to 128 MiB–1 GiB) makes the GC work harder
// before a small Pi runs out of memory. The executor's heap fence derives
// from that limit, so it also scales with the machine.
func tuneRuntime(getenv func(string) string) {
	if getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(2 * runtime.GOMAXPROCS(0))
	}
	if getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if getenv("GOMEMLIMIT") == "" {
		if total := memTotal(); total > 0 {
			debug.SetMemoryLimit(min(max(total/2, minMemoryLimit), maxMemoryLimit))
		}
	}
}

// memTotal reads MemTotal from /proc/meminfo; 0 when unknown.
func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}
