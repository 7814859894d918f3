package scheduler

import (
	"context"
	"time"

	"github.com/picloud/picloud/node/executor"
	"github.com/picloud/picloud/shared"
)

// run runs sc's script for tick and notes the outcome on the schedule.
// The error is the orchestrator's when nothing ran (a script deleted
// between the tick and the run, a node still starting); a failing run is
// not an error, its status says so.
func (s *Scheduler) run(ctx context.Context, sc shared.Schedule, tick time.Time) (shared.ScheduleRun, error) {
	entry, err := s.exec.RunScheduled(ctx, sc.ScriptID, executor.ScheduledEvent{
		Cron: sc.Cron, ScheduledTime: tick, Timezone: sc.Timezone,
	})
	if err != nil {
		return shared.ScheduleRun{}, err
	}
	// A run outlives a shutdown's cancellation long enough to be noted.
	if err := s.store.RecordScheduleRun(context.WithoutCancel(ctx), sc.ID, tick, entry.Status); err != nil {
		s.log.Error("record scheduled run", "schedule", sc.ID, "err", err)
	}
	return shared.ScheduleRun{
		Status:     entry.Status,
		DurationUS: entry.DurationUS,
		Error:      entry.Error,
		Output:     entry.Output,
	}, nil
}

// skip logs a tick that came while the schedule's previous run was still
// running. Nothing ran, so the log's status is 0 and the schedule's last
// run stays the one still running.
func (s *Scheduler) skip(_ context.Context, sc shared.Schedule, tick time.Time) {
	s.exec.Record(shared.Log{
		AppID:     sc.AppID,
		ScriptID:  sc.ScriptID,
		Trigger:   shared.TriggerCron,
		Error:     shared.SkippedStillRunning,
		StartedAt: tick,
	})
}
