package scheduler

import (
	"context"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/node/executor"
	"github.com/picloud/picloud/node/nodetest/storetest"
	"github.com/picloud/picloud/node/orchestrator"
	"github.com/picloud/picloud/node/store"
	"github.com/picloud/picloud/shared"
)

// node is a real store, executor and orchestrator with a scheduler whose
// clock the test moves: the clock is the only thing replaced.
type node struct {
	t     *testing.T
	ctx   context.Context
	store *store.Store
	orch  *orchestrator.Orchestrator
	clock *fakeClock
	sched *Scheduler
	app   shared.App
	stop  func()

	sentinels int64 // log entries logs has queued
}

var start = time.Date(2026, 12, 2, 12, 0, 30, 0, time.UTC)

func newNode(t *testing.T) *node {
	t.Helper()
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	st := storetest.Open(t)
	orch := orchestrator.New(orchestrator.Config{
		Store: st, Executor: executor.New(executor.Options{}), Defaults: shared.DefaultLimits(), Logger: logger,
	})
	a, err := st.CreateApp(ctx, shared.App{Slug: "jobs", Name: "jobs"}, false)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, ctx: ctx, store: st, orch: orch, clock: newFakeClock(start), app: a}
	n.sched = New(Config{Store: st, Executor: orch, Clock: n.clock, Logger: logger})
	t.Cleanup(func() {
		if n.stop != nil {
			n.stop()
		}
		orch.Close(ctx)
	})
	return n
}

// run starts the scheduler and waits until it waits for its first tick.
func (n *node) run() {
	n.t.Helper()
	ctx, cancel := context.WithCancel(n.ctx)
	done := make(chan struct{})
	go func() { defer close(done); n.sched.Run(ctx) }()
	n.stop = func() { cancel(); <-done }
	n.settle()
}

// settle waits until the scheduler is waiting on a new timer, after
// whatever the last clock move made it do.
func (n *node) settle() {
	n.t.Helper()
	deadline := time.After(10 * time.Second)
	// Drain the timers armed so far, then wait for the newest to be the
	// one the scheduler waits on (a poke may arm several in a row).
	for {
		select {
		case <-n.clock.armed:
		case <-time.After(50 * time.Millisecond):
			if n.clock.Pending() > 0 {
				return
			}
		case <-deadline:
			n.t.Fatal("the scheduler never waited again")
		}
	}
}

// advance moves both clocks by d, one minute at a time as real time
// does, letting the scheduler act after each step.
func (n *node) advance(d time.Duration) {
	n.t.Helper()
	for d > 0 {
		step := min(d, time.Minute)
		n.clock.Advance(step)
		n.settle()
		d -= step
	}
}

func (n *node) script(name, source string, sandbox shared.Overrides) shared.Script {
	n.t.Helper()
	sc, err := n.store.CreateScript(n.ctx, shared.Script{AppID: n.app.ID, Name: name, Source: source, Sandbox: sandbox})
	if err != nil {
		n.t.Fatal(err)
	}
	return sc
}

func (n *node) schedule(scriptID int64, cron, tz string) shared.Schedule {
	n.t.Helper()
	s, err := n.store.CreateSchedule(n.ctx, shared.Schedule{AppID: n.app.ID, ScriptID: scriptID, Cron: cron, Timezone: tz}, nil)
	if err != nil {
		n.t.Fatal(err)
	}
	return s
}

// logs returns the script's execution logs, oldest first, once every run
// the scheduler has started has ended and its log is written.
func (n *node) logs(scriptID int64) []shared.Log {
	n.t.Helper()
	n.sched.runs.Wait() // no run starts meanwhile: the clock stands still
	// The log writer is first in, first out: once an entry queued now is
	// in the store, so is every run's.
	n.sentinels++
	sentinel := int64(1<<40) + n.sentinels // a script id of its own: one entry per call
	n.orch.Record(shared.Log{AppID: n.app.ID, ScriptID: sentinel, Trigger: shared.TriggerExecute, StartedAt: n.clock.Now()})
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := n.store.Logs(n.ctx, n.app.ID, sentinel, 1, 0)
		if err != nil {
			n.t.Fatal(err)
		}
		if len(got) > 0 {
			break
		}
		if time.Now().After(deadline) {
			n.t.Fatal("the log writer never wrote")
		}
		time.Sleep(5 * time.Millisecond)
	}
	got, err := n.store.Logs(n.ctx, n.app.ID, scriptID, 1000, 0)
	if err != nil {
		n.t.Fatal(err)
	}
	slices.Reverse(got)
	return got
}

// quiet asserts the script has exactly want runs logged.
func (n *node) quiet(scriptID int64, want int) []shared.Log {
	n.t.Helper()
	got := n.logs(scriptID)
	if len(got) != want {
		n.t.Fatalf("script %d has %d runs logged, want %d: %+v", scriptID, len(got), want, got)
	}
	return got
}

// ticks are the scheduled times the script printed, one run per line.
func ticks(logs []shared.Log) []string {
	var out []string
	for _, l := range logs {
		out = append(out, strings.TrimSpace(l.Output))
	}
	return out
}

const printTick = `function scheduled(event) { console.log(new Date(event.scheduledTime).toISOString()) }`

func TestFiresAtItsCronTimes(t *testing.T) {
	n := newNode(t)
	sc := n.script("tick", printTick, nil)
	sched := n.schedule(sc.ID, "*/5 * * * *", "UTC")
	n.run()
	n.advance(12 * time.Minute) // 12:00:30 → 12:12:30
	got := n.quiet(sc.ID, 2)
	if want := []string{"2026-12-02T12:05:00.000Z", "2026-12-02T12:10:00.000Z"}; strings.Join(ticks(got), " ") != strings.Join(want, " ") {
		t.Errorf("ran for %q, want %q", ticks(got), want)
	}
	for _, l := range got {
		if l.Trigger != shared.TriggerCron || l.Status != 200 || l.Method != "" || l.Path != "" {
			t.Errorf("log %+v: want trigger cron, status 200, no method or path", l)
		}
	}
	s, err := n.store.Schedule(n.ctx, n.app.ID, sched.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s.LastRun == nil || !s.LastRun.Equal(time.Date(2026, 12, 2, 12, 10, 0, 0, time.UTC)) || s.LastStatus == nil || *s.LastStatus != 200 {
		t.Errorf("last run %v status %v, want 12:10 and 200", s.LastRun, s.LastStatus)
	}
	if next, ok := n.sched.NextRun(sched.ID); !ok || !next.Equal(time.Date(2026, 12, 2, 12, 15, 0, 0, time.UTC)) {
		t.Errorf("next run %v, want 12:15", next)
	}
}

func TestTimeZoneOfTheSchedule(t *testing.T) {
	n := newNode(t)
	sc := n.script("tick", `function scheduled(event) { console.log(event.cron, event.timezone) }`, nil)
	// 13:00 in Berlin (winter, UTC+1) is 12:00 UTC: not yet at 12:00:30,
	// so the first run is the next day's.
	s := n.schedule(sc.ID, "0 13 * * *", "Europe/Berlin")
	n.run()
	if next, _ := n.sched.NextRun(s.ID); !next.Equal(time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)) {
		t.Fatalf("next run %v, want 2026-12-03 12:00 UTC", next)
	}
	n.clock.Advance(24 * time.Hour) // one wake at MaxSleep granularity is enough: the timer is capped
	n.settle()
	if got := n.quiet(sc.ID, 1); got[0].Output != "0 13 * * * Europe/Berlin\n" {
		t.Errorf("output %q", got[0].Output)
	}
}

func TestMissedTicksAreNotReplayed(t *testing.T) {
	n := newNode(t)
	sc := n.script("tick", printTick, nil)
	s := n.schedule(sc.ID, "* * * * *", "UTC")
	// The schedule last ran hours before the node (re)started.
	if err := n.store.RecordScheduleRun(n.ctx, s.ID, start.Add(-5*time.Hour), 200); err != nil {
		t.Fatal(err)
	}
	n.run()
	n.quiet(sc.ID, 0)
	n.advance(time.Minute)
	if got := ticks(n.quiet(sc.ID, 1)); got[0] != "2026-12-02T12:01:00.000Z" {
		t.Errorf("first run for %s, want the first tick after start", got[0])
	}
}

func TestClockJumps(t *testing.T) {
	for _, tc := range []struct {
		name string
		jump time.Duration
		// the one run expected in the 5 minutes after the jump
		want string
	}{
		// A Pi without a real-time clock boots in 1970-ish and NTP moves
		// it forward: no burst of the runs "missed" in between.
		{"forward", 3 * time.Hour, "2026-12-02T15:05:00.000Z"},
		// Corrected backwards: schedules keep running at once rather
		// than waiting for the old time to come round again.
		{"backward", -3 * time.Hour, "2026-12-02T09:05:00.000Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t)
			sc := n.script("tick", printTick, nil)
			n.schedule(sc.ID, "*/5 * * * *", "UTC")
			n.run()
			n.clock.Jump(tc.jump)
			n.advance(6 * time.Minute)
			if got := ticks(n.quiet(sc.ID, 1)); got[0] != tc.want {
				t.Errorf("after a jump of %v ran for %s, want %s", tc.jump, got[0], tc.want)
			}
		})
	}
}

func TestNeverOverlapsItself(t *testing.T) {
	n := newNode(t)
	// Runs until its limits stop it: far longer than the test needs to
	// bring the next tick.
	sc := n.script("slow", `function scheduled() { for (;;) {} }`, shared.Overrides{shared.KnobTimeoutMS: 2000})
	s := n.schedule(sc.ID, "* * * * *", "UTC")
	n.run()
	n.advance(time.Minute) // 12:01 starts the run
	n.advance(time.Minute) // 12:02 comes while it runs
	got := n.quiet(sc.ID, 2)
	var skipped, ran int
	for _, l := range got {
		switch {
		case l.Error == shared.SkippedStillRunning:
			skipped++
			if !l.StartedAt.Equal(time.Date(2026, 12, 2, 12, 2, 0, 0, time.UTC)) || l.Trigger != shared.TriggerCron {
				t.Errorf("skip logged as %+v, want the 12:02 tick with trigger cron", l)
			}
		case l.Status == 507:
			ran++
		}
	}
	if skipped != 1 || ran != 1 {
		t.Errorf("%d runs and %d skips logged, want 1 and 1: %+v", ran, skipped, got)
	}
	// Once the run has ended the schedule fires again.
	n.advance(time.Minute)
	n.quiet(sc.ID, 3)
	if last, _ := n.store.Schedule(n.ctx, n.app.ID, s.ID); last.LastRun == nil || !last.LastRun.Equal(time.Date(2026, 12, 2, 12, 3, 0, 0, time.UTC)) {
		t.Errorf("last run %v, want 12:03", last.LastRun)
	}
}

// Changes reach the scheduler from the store's subscription alone: nothing
// here calls Reload.
func TestReloadTakesChangesAtTheNextTick(t *testing.T) {
	n := newNode(t)
	a := n.script("a", printTick, nil)
	b := n.script("b", printTick, nil)
	sa := n.schedule(a.ID, "* * * * *", "UTC")
	n.run()
	n.advance(time.Minute) // a: 12:01

	n.schedule(b.ID, "* * * * *", "UTC") // added while running
	if err := n.store.DeleteSchedule(n.ctx, n.app.ID, sa.ID); err != nil {
		t.Fatal(err)
	}
	n.settle()
	n.advance(time.Minute) // b: 12:02, a no more

	if got := ticks(n.quiet(a.ID, 1)); got[0] != "2026-12-02T12:01:00.000Z" {
		t.Errorf("a ran for %q", got)
	}
	if got := ticks(n.quiet(b.ID, 1)); got[0] != "2026-12-02T12:02:00.000Z" {
		t.Errorf("b ran for %q", got)
	}
}

func TestRunNow(t *testing.T) {
	n := newNode(t)
	sc := n.script("job", `async function scheduled(event) { await null; console.log("cleaned", event.cron) }`, nil)
	s := n.schedule(sc.ID, "0 3 * * *", "UTC")
	n.run()
	got, err := n.sched.RunNow(n.ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != 200 || got.Output != "cleaned 0 3 * * *\n" || got.Error != "" || got.DurationUS <= 0 {
		t.Errorf("run now answered %+v", got)
	}
	logged := n.quiet(sc.ID, 1)[0]
	if logged.Trigger != shared.TriggerCron || logged.Output != got.Output {
		t.Errorf("run now logged as %+v", logged)
	}

	gone := s
	gone.ScriptID = sc.ID + 100
	if _, err := n.sched.RunNow(n.ctx, gone); !shared.IsCode(err, shared.CodeNotFound) {
		t.Errorf("run now of a missing script: %v, want not_found", err)
	}
}

// TestIdleCost: a thousand schedules cost one timer and no goroutine
// each, and a node whose schedules are all far off wakes only every
// MaxSleep.
func TestIdleCost(t *testing.T) {
	n := newNode(t)
	sc := n.script("nightly", printTick, nil)
	for range 1000 {
		if _, err := n.store.CreateSchedule(n.ctx, shared.Schedule{AppID: n.app.ID, ScriptID: sc.ID, Cron: "0 3 * * *", Timezone: "UTC"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	before := runtime.NumGoroutine()
	n.run()
	if pending := n.clock.Pending(); pending != 1 {
		t.Errorf("%d timers pending, want one for every schedule", pending)
	}
	if extra := runtime.NumGoroutine() - before; extra > 2 {
		t.Errorf("%d goroutines more while idle with 1000 schedules", extra)
	}
	for range 10 {
		n.clock.Advance(DefaultMaxSleep)
		n.settle()
	}
	n.quiet(sc.ID, 0)
}

// TestPassive: a passive scheduler (a cluster member that is not the
// leader) fires nothing but keeps its next runs current, so once active
// it fires the very next tick and none of those it let pass.
func TestPassive(t *testing.T) {
	n := newNode(t)
	sc := n.script("tick", printTick, nil)
	s := n.schedule(sc.ID, "* * * * *", "UTC")
	n.run()
	n.sched.SetPassive(true)
	n.settle()
	n.advance(3 * time.Minute) // 12:01, 12:02, 12:03 pass
	n.quiet(sc.ID, 0)
	if next, _ := n.sched.NextRun(s.ID); !next.Equal(time.Date(2026, 12, 2, 12, 4, 0, 0, time.UTC)) {
		t.Errorf("next run while passive %v, want 12:04", next)
	}
	n.sched.SetPassive(false)
	n.settle()
	n.advance(time.Minute)
	if got := ticks(n.quiet(sc.ID, 1)); got[0] != "2026-12-02T12:04:00.000Z" {
		t.Errorf("after becoming active ran for %q, want only 12:04", got)
	}
}
