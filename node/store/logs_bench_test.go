//go:build unix

package store

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the user and system CPU time the process has used so far:
// on a machine shared with other work it varies far less than wall time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkInsertLogs measures writing execution logs in batches of the
// sizes the log writer produces: one at a time when idle, hundreds under
// load. ns/op is per batch; µs/log and cpu-µs/log per row.
func BenchmarkInsertLogs(b *testing.B) {
	for _, n := range []int{1, 64, 512} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			s, _ := openTest(b)
			ctx := context.Background()
			a := mkApp(b, s, "a")
			sc := mkScript(b, s, a.ID, "main")
			batch := logsFor(a.ID, sc.ID, n, time.Now())
			b.ReportAllocs()
			cpu := cpuTime(b)
			for b.Loop() {
				if err := s.InsertLogs(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/log")
			b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/float64(b.N*n), "cpu-µs/log")
		})
	}
}

// BenchmarkPruneLogs measures one prune of an app at the default retention
// with over logs past it: a batch's worth, and the log writer's slack (a
// tenth of the retention). µs/log and cpu-µs/log are per log deleted.
func BenchmarkPruneLogs(b *testing.B) {
	const keep = 10_000
	for _, over := range []int{64, keep / 10} {
		b.Run(fmt.Sprintf("over=%d", over), func(b *testing.B) {
			s, _ := openTest(b)
			ctx := context.Background()
			a := mkApp(b, s, "a")
			if err := s.InsertLogs(ctx, logsFor(a.ID, 1, keep, time.Now())); err != nil {
				b.Fatal(err)
			}
			extra := logsFor(a.ID, 1, over, time.Now())
			b.ReportAllocs()
			var cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				if err := s.InsertLogs(ctx, extra); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := cpuTime(b)
				if err := s.PruneLogs(ctx, a.ID, keep); err != nil {
					b.Fatal(err)
				}
				cpu += cpuTime(b) - start
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*over), "µs/log")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*over), "cpu-µs/log")
		})
	}
}

// BenchmarkLogsPage measures a logs page of an app at the default
// retention: unfiltered, and filtered by a rare script (10 of the 10,000
// logs, spread evenly), the worst case of a layout whose only log index is
// (app_id, id, script_id): the page walks every index entry of the app.
// ns/op is per page.
func BenchmarkLogsPage(b *testing.B) {
	const held, rareEvery = 10_000, 1_000
	s, _ := openTest(b)
	ctx := context.Background()
	a := mkApp(b, s, "a")
	common := mkScript(b, s, a.ID, "common")
	rare := mkScript(b, s, a.ID, "rare")
	logs := logsFor(a.ID, common.ID, held, time.Now())
	for i := rareEvery / 2; i < held; i += rareEvery {
		logs[i].ScriptID = rare.ID
	}
	if err := s.InsertLogs(ctx, logs); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		script int64
		want   int
	}{
		{"unfiltered", 0, DefaultLogLimit},
		{"rare-script", rare.ID, held / rareEvery},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := cpuTime(b)
			for b.Loop() {
				page, err := s.Logs(ctx, a.ID, c.script, DefaultLogLimit, 0)
				if err != nil {
					b.Fatal(err)
				}
				if len(page) != c.want {
					b.Fatalf("page of %d logs, want %d", len(page), c.want)
				}
			}
			b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/float64(b.N), "cpu-µs/page")
		})
	}
}
