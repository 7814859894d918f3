package shared

import "time"

// TriggerCron marks a run of a script's scheduled(event, env) (SPEC §9).
const TriggerCron = "cron"

// SkippedStillRunning is the error logged for a tick that came while the
// schedule's previous run was still running.
const SkippedStillRunning = "skipped: still running"

// Schedule runs a script's scheduled(event, env) at cron times (SPEC §9).
type Schedule struct {
	ID         int64      `json:"id"`
	AppID      int64      `json:"app_id"`
	ScriptID   int64      `json:"script_id"`
	Cron       string     `json:"cron"`
	Timezone   string     `json:"timezone"`
	NextRun    time.Time  `json:"next_run"`
	LastRun    *time.Time `json:"last_run,omitempty"`
	LastStatus *int       `json:"last_status,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
}

// CreateScheduleRequest is the body of POST /apps/{app}/schedules.
type CreateScheduleRequest struct {
	ScriptID int64  `json:"script_id"`
	Cron     string `json:"cron"`
	Timezone string `json:"timezone,omitempty"`
}

// ScheduleRun is the answer of POST /apps/{app}/schedules/{id}/run: the
// outcome of the run, whatever it was.
type ScheduleRun struct {
	Status     int    `json:"status"`
	DurationUS int64  `json:"duration_us"`
	Error      string `json:"error,omitempty"`
	Output     string `json:"output"`
}
