package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

// LoadOptions configure a sustained-load run against one node.
type LoadOptions struct {
	NodeBin     string
	NodeEnv     []string // extra KEY=VALUE settings for the node
	Concurrency int
	Warmup      time.Duration // load before the starting RSS is taken
	Duration    time.Duration
	Settle      time.Duration // idle time after the warm-up and after the load, watching RSS
	Progress    io.Writer
}

// LoadReport is what a sustained-load run measured.
type LoadReport struct {
	Opts                  LoadOptions
	Result                *LoadResult
	WarmOK                int64         // requests answered during the warm-up
	Logged                int64         // execution logs the node wrote in all
	CPU                   time.Duration // node CPU time during the sustained load
	Idle, Warm, End, Back Mem           // before any load, idle after the warm-up, at the end of the load, idle after it
}

// RSSLimit is how far RSS may be above its warm value after the run and
// still count as back near its starting point.
func (r *LoadReport) RSSLimit() int64 {
	return r.Warm.RSS + max(TargetLoadRSSGrowth, int64(TargetLoadRSSGrowthF*float64(r.Warm.RSS)))
}

// Problems lists every way the run missed its targets, except unlogged
// executions (see Unlogged); empty means pass.
func (r *LoadReport) Problems() []string {
	var p []string
	res := r.Result
	if res.ConnErrors > 0 {
		p = append(p, fmt.Sprintf("%d connection errors (first: %s)", res.ConnErrors, res.FirstError))
	}
	if res.Non2xx > 0 {
		p = append(p, fmt.Sprintf("%d non-2xx answers (statuses %v)", res.Non2xx, res.Statuses))
	}
	if res.BodyMismatch > 0 {
		p = append(p, fmt.Sprintf("%d answers with another body than %q", res.BodyMismatch, HelloBody))
	}
	if res.OK == 0 {
		p = append(p, "no request succeeded")
	}

	if r.Back.RSS > r.RSSLimit() {
		p = append(p, fmt.Sprintf("RSS %s after the load did not come back near its warm %s (limit %s)", MB(r.Back.RSS), MB(r.Warm.RSS), MB(r.RSSLimit())))
	}
	return p
}

// Unlogged is how many answered executions have no execution log. Every
// execution is logged (SPEC §4); the node drops logs only when its log
// queue stays full (the disk cannot keep up). More logs than answers are
// requests cut off by the end of a run.
func (r *LoadReport) Unlogged() int64 {
	return max(r.WarmOK+r.Result.OK-r.Logged, 0)
}

// Print writes the figures and the verdict.
func (r *LoadReport) Print(w io.Writer) {
	fmt.Fprintf(w, "\nsustained load: GET / Host: localhost, %d connections, %v\n", r.Opts.Concurrency, r.Opts.Duration)
	fmt.Fprintf(w, "  %v\n", r.Result)
	fmt.Fprintf(w, "  execution logs written: %d for %d answered requests (warm-up included)\n", r.Logged, r.WarmOK+r.Result.OK)
	if r.Result.OK > 0 {
		fmt.Fprintf(w, "  node CPU %v per request (%.2f of a core)\n", r.CPU/time.Duration(r.Result.OK), r.CPU.Seconds()/r.Result.Elapsed.Seconds())
	}
	fmt.Fprintf(w, "  node RSS: at start %s; idle after the %v warm-up %s; end of load %s; idle after it %s (limit %s); peak %s\n",
		MB(r.Idle.RSS), r.Opts.Warmup, MB(r.Warm.RSS), MB(r.End.RSS), MB(r.Back.RSS), MB(r.RSSLimit()), MB(r.Back.Peak))
	p := r.Problems()
	if n := r.Unlogged(); n > 0 {
		p = append(p, fmt.Sprintf("%d of %d executions answered were not logged", n, r.WarmOK+r.Result.OK))
	}
	for _, s := range p {
		fmt.Fprintf(w, "  FAIL: %s\n", s)
	}
	if len(p) == 0 {
		fmt.Fprintln(w, "  PASS: zero errors, every execution logged, RSS back near its starting point")
	}
}

// RunLoad starts a node on a fresh data directory, warms it up, loads
// hello-world at full concurrency for the duration and watches its RSS.
func RunLoad(ctx context.Context, o LoadOptions) (*LoadReport, error) {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultOptions().Concurrency
	}
	if o.Warmup <= 0 {
		o.Warmup = 3 * time.Second
	}
	if o.Settle <= 0 {
		o.Settle = 5 * time.Second
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	dir, err := os.MkdirTemp("", "picloud-load-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	node, err := StartNode(ctx, o.NodeBin, dir, o.NodeEnv...)
	if err != nil {
		return nil, err
	}
	defer node.Stop(10 * time.Second)
	rep := &LoadReport{Opts: o}
	if rep.Idle, err = node.Mem(); err != nil {
		return nil, err
	}
	l := Load{Addr: node.Addr, Host: "localhost", Concurrency: o.Concurrency, Duration: o.Warmup, Expect: []byte(HelloBody)}
	fmt.Fprintf(o.Progress, "load: %v warm-up at concurrency %d\n", o.Warmup, o.Concurrency)
	warm, err := l.Run(ctx)
	if err != nil {
		return nil, err
	}
	rep.WarmOK = warm.OK
	// The starting point is taken the same way as the end point: the
	// lowest RSS over Settle of idling after the load, since the runtime
	// hands memory back gradually and heap use swings under load.
	if rep.Warm, err = settle(node, o.Settle); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Progress, "load: %v sustained\n", o.Duration)
	l.Duration = o.Duration
	cpu0, err := node.CPU()
	if err != nil {
		return nil, err
	}
	if rep.Result, err = l.Run(ctx); err != nil {
		return nil, err
	}
	if cpu1, err := node.CPU(); err == nil {
		rep.CPU = cpu1 - cpu0
	}
	if rep.End, err = node.Mem(); err != nil {
		return nil, fmt.Errorf("node died under load: %w\n%s", err, node.Output())
	}
	if rep.Back, err = settle(node, o.Settle); err != nil {
		return nil, err
	}
	if err := node.Stop(30 * time.Second); err != nil {
		return rep, fmt.Errorf("node did not shut down cleanly after the load: %w", err)
	}
	if rep.Logged, err = LoggedExecutions(ctx, node.DBPath()); err != nil {
		return rep, err
	}
	return rep, nil
}

// settle watches the node idle for d and returns its lowest RSS (with the
// latest peak).
func settle(node *Node, d time.Duration) (Mem, error) {
	low, err := node.Mem()
	if err != nil {
		return Mem{}, err
	}
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		time.Sleep(250 * time.Millisecond)
		m, err := node.Mem()
		if err != nil {
			return Mem{}, err
		}
		if m.RSS < low.RSS {
			low.RSS = m.RSS
		}
		low.Peak = m.Peak
	}
	return low, nil
}
