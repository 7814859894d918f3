// Package scheduler fires the apps' cron schedules (SPEC §9).
//
// One goroutine and one timer serve every schedule of the node: the timer
// is set for the earliest next run across all apps (a linear scan: a few
// thousand schedules cost microseconds once per tick), so an idle node
// with a thousand schedules wakes once per due minute and not otherwise.
// Runs go through the node's one execution path (the Executor), each on
// its own goroutine, so a slow script never delays another schedule's
// tick.
//
// Rules:
//   - A schedule never overlaps itself: a tick that comes while its
//     previous run still runs is skipped, and the skip is logged.
//   - Ticks missed while the node was down are not replayed: next runs are
//     computed from the time of loading.
//   - The wall clock may jump (NTP correcting a Pi that booted without a
//     real-time clock, or an operator setting the date): timers wait on
//     the monotonic clock, and a wake whose wall-clock elapsed time
//     differs from the monotonic elapsed time recomputes every next run
//     from the new time, so a jump forward fires no burst and a jump back
//     does not stall schedules until the old time comes round again. A
//     timer never waits longer than MaxSleep, so a jump is noticed within
//     it even when nothing is due.
package scheduler

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/picloud/picloud/node/executor"
	"github.com/picloud/picloud/node/store"
	"github.com/picloud/picloud/shared"
)

// Store is what the scheduler needs of the database.
type Store interface {
	// Schedules lists every schedule of the node.
	Schedules(ctx context.Context) ([]shared.Schedule, error)
	// RecordScheduleRun notes a schedule's latest tick and its status.
	RecordScheduleRun(ctx context.Context, id int64, tick time.Time, status int) error
	// Subscribe calls fn after every committed change.
	Subscribe(fn func(context.Context, store.Change)) (unsubscribe func())
}

// Executor runs scripts through the node's one execution path (the
// orchestrator), which records every run in the execution logs.
type Executor interface {
	RunScheduled(ctx context.Context, scriptID int64, ev executor.ScheduledEvent) (shared.Log, error)
	// Record logs an entry for a tick that ran nothing.
	Record(entry shared.Log)
}

// Defaults of Config.
const (
	DefaultMaxSleep = time.Minute
	// jumpTolerance is how far the wall clock may drift from the
	// monotonic clock between two wakes before it counts as a jump. NTP's
	// slewing moves it by at most 0.5 ms per second.
	jumpTolerance = 2 * time.Second
)

// Config configures a Scheduler. Store and Executor are required.
type Config struct {
	Store    Store
	Executor Executor
	// Clock is the scheduler's time; nil means the system clock.
	Clock Clock
	// MaxSleep bounds one wait of the timer; 0 means DefaultMaxSleep.
	MaxSleep time.Duration
	Logger   *slog.Logger
}

// Scheduler fires schedules at their cron times. Call Run to start it.
type Scheduler struct {
	store    Store
	exec     Executor
	clock    Clock
	maxSleep time.Duration
	log      *slog.Logger
	poke     chan struct{} // the entries changed: compute the wait again

	mu      sync.Mutex
	entries map[int64]*entry
	running map[int64]chan struct{} // closed when the schedule's run ends
	passive bool                    // compute, but fire nothing (a cluster follower)
	runs    sync.WaitGroup
}

// entry is one schedule as loaded, with its next run.
type entry struct {
	sched shared.Schedule
	cron  *shared.Cron
	next  time.Time // zero: never
}

// New returns a scheduler; nothing fires before Run. It reloads after every
// committed change that can touch a schedule, for as long as the store is
// open.
func New(cfg Config) *Scheduler {
	if cfg.Clock == nil {
		cfg.Clock = SystemClock()
	}
	if cfg.MaxSleep <= 0 {
		cfg.MaxSleep = DefaultMaxSleep
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Scheduler{
		store:    cfg.Store,
		exec:     cfg.Executor,
		clock:    cfg.Clock,
		maxSleep: cfg.MaxSleep,
		log:      cfg.Logger,
		poke:     make(chan struct{}, 1),
		entries:  make(map[int64]*entry),
		running:  make(map[int64]chan struct{}),
	}
	cfg.Store.Subscribe(s.changed)
	return s
}

// changed reloads after a change of a schedule or of what holds one:
// deleting an app or a script deletes its schedules.
func (s *Scheduler) changed(ctx context.Context, c store.Change) {
	switch c.Kind {
	case store.ChangeSchedule, store.ChangeApp, store.ChangeScript:
		s.Reload(ctx)
	}
}

// Run fires schedules until ctx ends, then waits for the runs it started.
func (s *Scheduler) Run(ctx context.Context) {
	s.Reload(ctx)
	lastWall, lastMono := s.clock.Now(), s.clock.Monotonic()
	for {
		t := s.clock.NewTimer(s.wait(s.clock.Now()))
		select {
		case <-ctx.Done():
			t.Stop()
			s.runs.Wait()
			return
		case <-s.poke:
			t.Stop()
		case <-t.C():
		}
		now, mono := s.clock.Now(), s.clock.Monotonic()
		if drift := now.Sub(lastWall) - (mono - lastMono); drift > jumpTolerance || drift < -jumpTolerance {
			s.log.Warn("the wall clock jumped; next runs computed from the new time", "by", drift.Round(time.Second))
			s.recompute(now)
		}
		lastWall, lastMono = now, mono
		s.fire(ctx, now)
	}
}

// Reload reads every schedule from the source, so a change takes effect
// before its next tick. Schedules whose expression and zone are unchanged
// keep their next run; new and changed ones start from now. New's
// subscription to the store calls it after every change of a schedule.
func (s *Scheduler) Reload(ctx context.Context) {
	list, err := s.store.Schedules(ctx)
	if err != nil {
		// The old entries stay in force; the next change reloads again.
		s.log.Error("load schedules", "err", err)
		return
	}
	now := s.clock.Now()
	s.mu.Lock()
	old := s.entries
	s.entries = make(map[int64]*entry, len(list))
	for _, sc := range list {
		if e, ok := old[sc.ID]; ok && e.sched.Cron == sc.Cron && e.sched.Timezone == sc.Timezone {
			e.sched = sc
			s.entries[sc.ID] = e
			continue
		}
		c, err := shared.ParseCron(sc.Cron, sc.Timezone)
		if err != nil { // the manager validates; only a hand-edited database gets here
			s.log.Error("schedule skipped: it does not parse", "schedule", sc.ID, "cron", sc.Cron, "err", err)
			continue
		}
		s.entries[sc.ID] = &entry{sched: sc, cron: c, next: c.Next(now)}
	}
	s.mu.Unlock()
	s.wake()
}

// SetPassive stops (true) or resumes (false) firing. A passive scheduler
// keeps its next runs current, so the member that becomes leader of a
// cluster fires the very next tick and no earlier one.
func (s *Scheduler) SetPassive(passive bool) {
	s.mu.Lock()
	s.passive = passive
	s.mu.Unlock()
	s.wake()
}

// NextRun is when the schedule fires next as loaded; false when it is not
// loaded or never fires.
func (s *Scheduler) NextRun(id int64) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[id]
	if !ok || e.next.IsZero() {
		return time.Time{}, false
	}
	return e.next, true
}

// RunNow runs sc at once (POST .../schedules/{id}/run) and returns the
// outcome. It keeps the no-overlap rule: it first waits for a run of the
// schedule in progress to end, and a tick that comes meanwhile is skipped.
func (s *Scheduler) RunNow(ctx context.Context, sc shared.Schedule) (shared.ScheduleRun, error) {
	for {
		s.mu.Lock()
		done, busy := s.running[sc.ID]
		if !busy {
			done = make(chan struct{})
			s.running[sc.ID] = done
			s.mu.Unlock()
			break
		}
		s.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return shared.ScheduleRun{}, ctx.Err()
		}
	}
	defer s.finished(sc.ID)
	return s.run(ctx, sc, s.clock.Now())
}

func (s *Scheduler) wake() {
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

// wait is how long the timer waits: until the earliest next run, at most
// maxSleep.
func (s *Scheduler) wait(now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.maxSleep
	for _, e := range s.entries {
		if !e.next.IsZero() {
			d = min(d, e.next.Sub(now))
		}
	}
	return max(d, 0)
}

// recompute restarts every next run from now.
func (s *Scheduler) recompute(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.entries {
		e.next = e.cron.Next(now)
	}
}

// fire starts the run of every schedule due at now, or records its skip.
// The next run is computed from now, not from the tick, so a late wake
// never fires a burst.
func (s *Scheduler) fire(ctx context.Context, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, e := range s.entries {
		if e.next.IsZero() || e.next.After(now) {
			continue
		}
		tick := e.next
		e.next = e.cron.Next(now)
		if s.passive {
			continue
		}
		sc := e.sched
		if _, busy := s.running[id]; busy {
			s.runs.Add(1)
			go func() { defer s.runs.Done(); s.skip(ctx, sc, tick) }()
			continue
		}
		s.running[id] = make(chan struct{})
		s.runs.Add(1)
		go func() {
			defer s.runs.Done()
			defer s.finished(id)
			if _, err := s.run(ctx, sc, tick); err != nil {
				s.log.Warn("scheduled run", "schedule", sc.ID, "script", sc.ScriptID, "err", err)
			}
		}()
	}
}

func (s *Scheduler) finished(id int64) {
	s.mu.Lock()
	close(s.running[id])
	delete(s.running, id)
	s.mu.Unlock()
}
