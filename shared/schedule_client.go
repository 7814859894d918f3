package shared

import (
	"context"
	"net/http"
)

// Schedules lists the cron schedules of an app (SPEC §9).
func (c *Client) Schedules(ctx context.Context, ref string) ([]Schedule, error) {
	var out struct {
		Schedules []Schedule `json:"schedules"`
	}
	err := c.do(ctx, http.MethodGet, Path(PathSchedules, ref), nil, nil, &out)
	return out.Schedules, err
}

// CreateSchedule adds a schedule to an app; a bad expression or zone is
// an *Error with code invalid_schedule.
func (c *Client) CreateSchedule(ctx context.Context, ref string, req CreateScheduleRequest) (Schedule, error) {
	var s Schedule
	err := c.do(ctx, http.MethodPost, Path(PathSchedules, ref), nil, req, &s)
	return s, err
}

// DeleteSchedule deletes a schedule of an app.
func (c *Client) DeleteSchedule(ctx context.Context, ref string, id int64) error {
	return c.do(ctx, http.MethodDelete, Path(PathSchedule, ref, id), nil, nil, nil)
}

// RunSchedule runs a schedule now and returns the run's outcome, whatever
// it was.
func (c *Client) RunSchedule(ctx context.Context, ref string, id int64) (ScheduleRun, error) {
	var run ScheduleRun
	err := c.do(ctx, http.MethodPost, Path(PathScheduleRun, ref, id), nil, nil, &run)
	return run, err
}
