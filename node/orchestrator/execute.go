package orchestrator

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/picloud/picloud/node/executor"
	"github.com/picloud/picloud/shared"
)

// invocation is one run of a script, whatever triggered it: the resolved
// app and script, the trigger, what the log records of where the run came
// from, and the entry's argument (a request for handle, an event for
// scheduled). The app's bindings come with its appState.
type invocation struct {
	trigger string // shared.TriggerRoute, TriggerExecute or TriggerCron
	app     *appState
	script  *scriptState
	routeID *int64

	host, method, path string // logged as they are; empty for cron

	request *executor.Request        // handle(req, env)
	event   *executor.ScheduledEvent // scheduled(event, env), when set
}

// execute is the node's one execution path: it runs inv with the app's
// bindings under the script's effective limits, records its execution log
// and returns the result, the log entry and, for a run that failed, the
// contract's answer to it (500 script_error or 507 sandbox_limit). res is
// nil when the script did not run (it does not compile).
func (o *Orchestrator) execute(ctx context.Context, inv invocation) (res *executor.Result, entry shared.Log, failed *shared.Error) {
	sc := inv.script.script
	entry = shared.Log{
		AppID:     inv.app.app.ID,
		ScriptID:  sc.ID,
		RouteID:   inv.routeID,
		Trigger:   inv.trigger,
		Host:      inv.host,
		Method:    inv.method,
		Path:      inv.path,
		StartedAt: time.Now().UTC(),
	}
	res, failed = o.run(ctx, inv, &entry)
	inv.app.redact(&entry)
	o.logs.record(entry)
	return res, entry, failed
}

// run is execute without the log: it fills entry with the outcome.
func (o *Orchestrator) run(ctx context.Context, inv invocation, entry *shared.Log) (*executor.Result, *shared.Error) {
	sc := inv.script
	if sc.err != nil {
		entry.Status = http.StatusInternalServerError
		entry.Error = "script does not compile: " + sc.err.Error()
		return nil, scriptFailed(sc.script)
	}
	x := executor.Invocation{
		Program:  sc.program,
		Limits:   sc.script.EffectiveSandbox,
		Request:  inv.request,
		Bindings: inv.app.bindings,
	}
	if inv.event != nil {
		x.Entry, x.Event = executor.EntryScheduled, inv.event
	}
	res := o.exec.Run(ctx, x)
	entry.DurationUS = res.Duration.Microseconds()
	entry.Operations = res.Operations
	entry.Subrequests = res.Subrequests
	entry.Output = res.Output

	var failed *shared.Error
	switch {
	case res.Err != nil:
		entry.Status, entry.Error, failed = runFailed(res.Err, sc.script)
	case res.Status < 200 || res.Status > 599:
		entry.Status = http.StatusInternalServerError
		entry.Error = "handle returned the invalid status " + strconv.Itoa(res.Status)
		failed = scriptFailed(sc.script)
	default:
		entry.Status = res.Status
	}
	return res, failed
}

// RunScheduled runs script scriptID's scheduled(event, env) now, through
// the same path as every other run, logged with trigger cron (no host,
// method or path). It returns the run's log entry, already recorded:
// status 200 when scheduled returned or its promise resolved, 500 or 507
// otherwise, with duration, error and console output. The error is 404
// not_found when the node has no such script, 503 while it is starting;
// the run's own failure is only in the entry.
func (o *Orchestrator) RunScheduled(ctx context.Context, scriptID int64, ev executor.ScheduledEvent) (shared.Log, error) {
	snap := o.current.Load()
	if snap == nil {
		return shared.Log{}, errStarting()
	}
	sc, a, err := snap.scriptOf(scriptID)
	if err != nil {
		return shared.Log{}, err
	}
	_, entry, _ := o.execute(ctx, invocation{trigger: shared.TriggerCron, app: a, script: sc, event: &ev})
	return entry, nil
}

// Record queues an execution log for a run the orchestrator did not make
// itself, such as a cron tick skipped because the previous run still runs.
func (o *Orchestrator) Record(entry shared.Log) {
	o.logs.record(entry)
}

// scriptOf returns a script and its app.
func (s *snapshot) scriptOf(scriptID int64) (*scriptState, *appState, *shared.Error) {
	sc, ok := s.scripts[scriptID]
	if !ok {
		return nil, nil, shared.NotFound("script", scriptID)
	}
	a, ok := s.apps[sc.script.AppID]
	if !ok { // the store keeps scripts with their app; never expected
		return nil, nil, shared.NotFound("app", sc.script.AppID)
	}
	return sc, a, nil
}

func errStarting() *shared.Error {
	return shared.Errorf(shared.CodeInternal, "the node is starting").WithStatus(http.StatusServiceUnavailable)
}
