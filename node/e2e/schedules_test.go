package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/node/nodetest"
	"github.com/picloud/picloud/shared"
)

// SPEC §9: a schedule made through the API survives a restart and fires
// within its minute on the restarted node, logged with trigger cron and
// the tick it ran for.
func TestScheduleFiresWithinItsMinute(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := wrap(t, nodetest.StartIn(t, dir))
	e.createApp("Jobs", "jobs")
	s := e.script("jobs", "tick", `async function scheduled(event, env) {
		await null
		console.log(event.scheduledTime, event.cron, event.timezone, typeof env)
	}`, nil)
	if _, err := e.c.CreateSchedule(e.ctx, "jobs", shared.CreateScheduleRequest{ScriptID: s.ID, Cron: "* * * * *"}); err != nil {
		t.Fatal(err)
	}
	e.n.Stop(t)

	e = wrap(t, nodetest.StartIn(t, dir))
	restarted := time.Now()
	deadline := restarted.Add(75 * time.Second) // the next whole minute, with slack for a busy machine
	var logs []shared.Log
	for time.Now().Before(deadline) {
		var err error
		if logs, err = e.c.Logs(e.ctx, "jobs", s.ID, 10, 0); err != nil {
			t.Fatal(err)
		}
		if len(logs) > 0 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if len(logs) == 0 {
		t.Fatalf("no scheduled run within %v of the restart", deadline.Sub(restarted))
	}
	l := logs[len(logs)-1]
	fields := strings.Fields(l.Output)
	if l.Trigger != shared.TriggerCron || l.Status != 200 || l.Method != "" || l.Path != "" || len(fields) != 8 ||
		strings.Join(fields[1:], " ") != "* * * * * UTC object" {
		t.Fatalf("run logged as %+v", l)
	}
	ms, _ := strconv.ParseInt(fields[0], 10, 64)
	tick := time.UnixMilli(ms)
	if tick.Second() != 0 || tick.Before(restarted.Truncate(time.Minute)) || l.StartedAt.Before(tick) ||
		l.StartedAt.Sub(tick) > 10*time.Second {
		t.Errorf("ran at %v for tick %v (restarted %v): want a whole minute after the restart, run at once",
			l.StartedAt, tick, restarted)
	}
	list, err := e.c.Schedules(e.ctx, "jobs")
	if err != nil || len(list) != 1 || list[0].LastRun == nil || !list[0].LastRun.Equal(tick) || *list[0].LastStatus != 200 {
		t.Errorf("schedules after the run: %+v, %v", list, err)
	}
}
