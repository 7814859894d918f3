package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/picloud/picloud/shared"
)

// Options configure a benchmark run. Zero values take the defaults of
// DefaultOptions.
type Options struct {
	NodeBin       string   // picloud-node to run (built by the caller)
	NodeEnv       []string // extra KEY=VALUE settings for every node, e.g. GOGC=400
	BareCmd       []string // argv that runs ServeBare on the address in BareAddrEnv
	Concurrency   int
	Warmup        time.Duration
	Duration      time.Duration // measured time per target and round
	Rounds        int           // rounds of the three targets, interleaved; the median round is kept
	UpdateSamples int
	DispatchSmall int
	DispatchBig   int
	// Client drives the closed-loop rounds: ClientOwn (the default) or
	// ClientWrk. The paced rounds always use the own client: wrk cannot
	// pace its requests.
	Client   string
	Progress io.Writer // one line per step; nil for none
}

// DefaultOptions is what `make bench` runs.
func DefaultOptions() Options {
	return Options{
		Concurrency:   64,
		Warmup:        2 * time.Second,
		Duration:      8 * time.Second,
		Rounds:        5,
		UpdateSamples: 50,
		DispatchSmall: 10,
		DispatchBig:   10000,
	}
}

// Targets of issue 8, in one place so the report and the tests agree.
const (
	TargetVsBareGo       = 0.75 // PiCloud req/s ≥ this × bare Go's
	TargetVsNodeJS       = 1.0  // PiCloud req/s ≥ this × Node.js's
	TargetP99VsBareGo    = 2.0  // PiCloud p99 ≤ this × bare Go's
	TargetUpdate         = 5 * time.Millisecond
	TargetDispatchRatio  = 1.2 // cost per request at DispatchBig ≤ this × at DispatchSmall
	TargetIdleRSS        = 30 << 20
	TargetLoadRSSGrowth  = 16 << 20 // sustained load: RSS after ≤ warm RSS + this …
	TargetLoadRSSGrowthF = 0.25     // … or + this fraction of it, whichever is larger
)

// ServerResult is one server's hello-world figures.
type ServerResult struct {
	Name      string
	Load      *LoadResult   // the median round
	CPUPerReq time.Duration // server CPU time per request in that round
	Rounds    []measured    // every round, in order
	AtRate    *LoadResult   // at Report.Rate req/s, the same load for all: the round with the median p99
	AtRates   []*LoadResult // every paced round, in order
	Peak      int64         // VmHWM at the end
}

// pacedRounds are the same-load runs: every round, or the one kept.
func (s ServerResult) pacedRounds() []*LoadResult {
	if len(s.AtRates) == 0 && s.AtRate != nil {
		return []*LoadResult{s.AtRate}
	}
	return s.AtRates
}

// measured is one load round with the server's CPU time spent on it.
type measured struct {
	*LoadResult
	cpu time.Duration
}

func (m measured) cpuPerReq() time.Duration {
	if m.OK == 0 {
		return 0
	}
	return m.cpu / time.Duration(m.OK)
}

// DispatchRate is the paced rate of the dispatch runs: half the same-load
// rate, a quarter of the slowest server's throughput.
func (r *Report) DispatchRate() float64 { return max(math.Round(r.Rate/200)*100, 100) }

// DispatchResult compares one lookup in a small and a big table, round by
// round.
type DispatchResult struct {
	What       string
	Small, Big []measured
}

// P50Ratio is the median over rounds of the p50 latency at the big table
// over the small one.
func (d DispatchResult) P50Ratio() float64 {
	return medianRatio(d.Big, d.Small, func(m measured) float64 { return float64(m.Latency.Quantile(0.5)) })
}

// CPURatio is the median over rounds of the server CPU time per request at
// the big table over the small one, at the same paced load: the cost of a
// request, little moved by other load on the machine.
func (d DispatchResult) CPURatio() float64 {
	return medianRatio(d.Big, d.Small, func(m measured) float64 { return float64(m.cpuPerReq()) })
}

// median is the round with the median throughput of xs.
func median(xs []measured) measured {
	s := slices.Clone(xs)
	slices.SortFunc(s, func(a, b measured) int { return cmp.Compare(a.RPS(), b.RPS()) })
	return s[len(s)/2]
}

func medianRatio(a, b []measured, f func(measured) float64) float64 {
	var xs []float64
	for k := range a {
		xs = append(xs, f(a[k])/f(b[k]))
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// Report is everything a run measured.
type Report struct {
	Opts                   Options
	Servers                []ServerResult // PiCloud, bare Go, Node.js
	Rate                   float64        // req/s of the same-load latency run
	NodeIdle, NodeAfter    Mem
	Update, UpdatePatch    Histogram
	Dispatch               []DispatchResult
	BigStartup             time.Duration
	BigIdle                Mem
	BinarySize             int64
	NodeVersion, GoVersion string
}

func (o *Options) fill() {
	d := DefaultOptions()
	if o.Concurrency <= 0 {
		o.Concurrency = d.Concurrency
	}
	if o.Warmup <= 0 {
		o.Warmup = d.Warmup
	}
	if o.Duration <= 0 {
		o.Duration = d.Duration
	}
	if o.Rounds <= 0 {
		o.Rounds = d.Rounds
	}
	if o.UpdateSamples <= 0 {
		o.UpdateSamples = d.UpdateSamples
	}
	if o.DispatchSmall <= 0 {
		o.DispatchSmall = d.DispatchSmall
	}
	if o.DispatchBig <= 0 {
		o.DispatchBig = d.DispatchBig
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Client == "" {
		o.Client = ClientOwn
	}
}

// Run starts the three servers, measures them and the node's update and
// dispatch paths, stops everything and returns the figures.
func Run(ctx context.Context, o Options) (rep *Report, err error) {
	o.fill()
	rep = &Report{Opts: o, GoVersion: runtime.Version()}
	say := func(format string, args ...any) { fmt.Fprintf(o.Progress, "bench: "+format+"\n", args...) }

	fi, err := os.Stat(o.NodeBin)
	if err != nil {
		return nil, err
	}
	rep.BinarySize = fi.Size()
	if out, err := exec.Command("node", "--version").Output(); err == nil {
		rep.NodeVersion = strings.TrimSpace(string(out))
	}

	dir, err := os.MkdirTemp("", "picloud-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	say("starting PiCloud, bare Go and Node.js on loopback")
	node, err := StartNode(ctx, o.NodeBin, dir+"/main", o.NodeEnv...)
	if err != nil {
		return nil, err
	}
	defer node.Stop(10 * time.Second)
	bare, err := StartBare(o.BareCmd...)
	if err != nil {
		return nil, err
	}
	defer bare.Stop(5 * time.Second)
	js, err := StartNodeJS()
	if err != nil {
		return nil, err
	}
	defer js.Stop(5 * time.Second)
	procs := []*Proc{node.Proc, bare, js}
	for _, p := range procs[1:] {
		if err := p.WaitReady(ctx, "http://"+p.Addr+"/", "localhost", 20*time.Second); err != nil {
			return nil, err
		}
	}
	if err := SameAnswers(ctx, procs); err != nil {
		return nil, err
	}
	time.Sleep(time.Second) // let the node settle after its first request
	if rep.NodeIdle, err = node.Mem(); err != nil {
		return nil, err
	}

	for _, p := range procs {
		rep.Servers = append(rep.Servers, ServerResult{Name: p.Name})
	}
	all := make([][]measured, len(procs))
	for round := range o.Rounds {
		for i, p := range procs {
			say("round %d/%d: %s: %v warm-up + %v at concurrency %d", round+1, o.Rounds, p.Name, o.Warmup, o.Duration, o.Concurrency)
			res, err := hello(ctx, p, o)
			if err != nil {
				return nil, err
			}
			say("  %v; server CPU %v per request", res.LoadResult, res.cpuPerReq())
			all[i] = append(all[i], res)
		}
	}
	for i, p := range procs {
		mid := median(all[i])
		rep.Servers[i].Rounds = all[i]
		rep.Servers[i].Load = mid.LoadResult
		rep.Servers[i].CPUPerReq = mid.cpuPerReq()
		m, err := p.Mem()
		if err != nil {
			return nil, err
		}
		rep.Servers[i].Peak = m.Peak
	}

	// Latency at the same load: half the lowest throughput of any round,
	// a rate every server sustains, paced (open loop).
	rep.Rate = math.Inf(1)
	for _, sr := range rep.Servers {
		for _, r := range sr.Rounds {
			rep.Rate = min(rep.Rate, r.RPS()/2)
		}
	}
	rep.Rate = max(math.Round(rep.Rate/100)*100, 100)
	for round := range o.Rounds {
		for i, p := range procs {
			say("round %d/%d: %s at %.0f req/s for %v", round+1, o.Rounds, p.Name, rep.Rate, o.Duration)
			l := Load{Addr: p.Addr, Host: "localhost", Concurrency: o.Concurrency, Rate: rep.Rate, Duration: o.Duration, Expect: []byte(HelloBody)}
			res, err := measure(ctx, p, l)
			if err != nil {
				return nil, err
			}
			say("  %v", res.LoadResult)
			rep.Servers[i].AtRates = append(rep.Servers[i].AtRates, res.LoadResult)
		}
	}
	for i := range rep.Servers {
		byP99 := slices.Clone(rep.Servers[i].AtRates)
		slices.SortFunc(byP99, func(a, b *LoadResult) int { return cmp.Compare(a.Latency.Quantile(0.99), b.Latency.Quantile(0.99)) })
		rep.Servers[i].AtRate = byP99[len(byP99)/2]
	}

	say("update → first response, %d samples", o.UpdateSamples)
	if err := measureUpdate(ctx, node, o.UpdateSamples, &rep.Update, &rep.UpdatePatch); err != nil {
		return nil, err
	}
	if rep.NodeAfter, err = node.Mem(); err != nil {
		return nil, err
	}
	bare.Stop(5 * time.Second)
	js.Stop(5 * time.Second)
	node.Stop(10 * time.Second)

	say("dispatch: %d vs %d apps, domains and routes", o.DispatchSmall, o.DispatchBig)
	if err := measureDispatch(ctx, dir, o, rep, say); err != nil {
		return nil, err
	}
	return rep, nil
}

// hello warms a server up and then measures GET / with Host: localhost.
func hello(ctx context.Context, p *Proc, o Options) (measured, error) {
	l := Load{Addr: p.Addr, Host: "localhost", Concurrency: o.Concurrency, Duration: o.Warmup, Expect: []byte(HelloBody)}
	if _, err := l.Run(ctx); err != nil {
		return measured{}, err
	}
	l.Duration = o.Duration
	if o.Client == ClientWrk {
		return measureWith(ctx, p, l, l.RunWrk)
	}
	return measure(ctx, p, l)
}

// measure runs l against p and takes p's CPU time around it.
func measure(ctx context.Context, p *Proc, l Load) (measured, error) {
	return measureWith(ctx, p, l, l.Run)
}

// measureWith is measure with another client sending l.
func measureWith(ctx context.Context, p *Proc, l Load, send func(context.Context) (*LoadResult, error)) (measured, error) {
	cpu0, err := p.CPU()
	if err != nil {
		return measured{}, err
	}
	res, err := send(ctx)
	if err != nil {
		return measured{}, err
	}
	cpu1, err := p.CPU()
	if err != nil {
		return measured{}, fmt.Errorf("%s died under load: %w\n%s", p.Name, err, p.Output())
	}
	if res.Errors() > 0 {
		return measured{}, fmt.Errorf("%s %s%s: %v (statuses %v, first error %q)", p.Name, l.Host, l.Path, res, res.Statuses, res.FirstError)
	}
	return measured{res, cpu1 - cpu0}, nil
}

// SameAnswers checks that the three servers answer GET / with the same
// status, body and content type, so that they are compared on equal work.
func SameAnswers(ctx context.Context, procs []*Proc) error {
	c := &http.Client{Timeout: 5 * time.Second}
	var first string
	for _, p := range procs {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.Addr+"/", nil)
		req.Host = "localhost"
		resp, err := c.Do(req)
		if err != nil {
			return fmt.Errorf("%s: %w", p.Name, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", p.Name, err)
		}
		got := fmt.Sprintf("%d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), b)
		if first == "" {
			first = got
		}
		if got != first || string(b) != HelloBody {
			return fmt.Errorf("%s answers %s, %s answers %s: not the same work", procs[0].Name, first, p.Name, got)
		}
	}
	return nil
}

// measureUpdate PATCHes the hello-world script with a new body n times and
// times each from sending the PATCH until the data plane first answers the
// new body.
func measureUpdate(ctx context.Context, n *Node, samples int, total, patch *Histogram) error {
	var list struct {
		Scripts []shared.Script `json:"scripts"`
	}
	if err := n.Admin.Do(ctx, http.MethodGet, "/api/v1/admin/scripts?app=default", nil, &list); err != nil {
		return fmt.Errorf("list scripts: %w", err)
	}
	var sc *shared.Script
	for i := range list.Scripts {
		if list.Scripts[i].Name == "hello-world" {
			sc = &list.Scripts[i]
		}
	}
	if sc == nil {
		return errors.New("no seeded hello-world script in the default app")
	}
	path := "/api/v1/admin/scripts/" + strconv.FormatInt(sc.ID, 10)
	data := &http.Client{Timeout: 5 * time.Second}
	url := "http://" + n.Addr + "/"
	for i := range samples + 2 { // the first two warm both connections up
		marker := fmt.Sprintf("Hello, World! update %d", i)
		src := fmt.Sprintf("function handle(req) {\n  return %q;\n}\n", marker)
		t0 := time.Now()
		if err := n.Admin.Do(ctx, http.MethodPatch, path, shared.UpdateScriptRequest{Source: &src}, nil); err != nil {
			return fmt.Errorf("patch script: %w", err)
		}
		tPatch := time.Since(t0)
		for {
			status, body, err := Get(ctx, data, url, "localhost")
			if err != nil {
				return err
			}
			if status == http.StatusOK && string(body) == marker {
				break
			}
			if time.Since(t0) > 5*time.Second {
				return fmt.Errorf("update %d not served after 5s: last answer %d %q", i, status, body)
			}
		}
		if i >= 2 {
			total.Record(time.Since(t0))
			patch.Record(tPatch)
		}
	}
	return n.Admin.Do(ctx, http.MethodPatch, path, shared.UpdateScriptRequest{Source: &sc.Source}, nil)
}

// measureDispatch loads a host and a route in the middle of a small and of a
// big table, each table on its own node, both nodes up at once and loaded
// in turn, round after round.
func measureDispatch(ctx context.Context, dir string, o Options, rep *Report, say func(string, ...any)) error {
	sizes := []int{o.DispatchSmall, o.DispatchBig}
	nodes := make([]*Node, len(sizes))
	defer func() {
		for _, n := range nodes {
			if n != nil {
				n.Stop(10 * time.Second)
			}
		}
	}()
	for i, n := range sizes {
		node, startup, err := dispatchNode(ctx, o.NodeBin, fmt.Sprintf("%s/dispatch-%d", dir, n), n, o.NodeEnv)
		if err != nil {
			return err
		}
		nodes[i] = node
		if n == o.DispatchBig {
			rep.BigStartup = startup
			time.Sleep(time.Second)
			if rep.BigIdle, err = node.Mem(); err != nil {
				return err
			}
		}
	}
	rep.Dispatch = []DispatchResult{{What: "hosts (apps + domains)"}, {What: "routes in one app"}}
	for round := range o.Rounds {
		for i, n := range sizes {
			mid := n / 2
			for k, c := range []struct{ host, path string }{
				{DispatchHost(mid), "/"},
				{"localhost", DispatchPath(mid)},
			} {
				// Both tables get the same paced load, well below what a
				// node sustains, so that CPU per request compares like
				// with like.
				l := Load{Addr: nodes[i].Addr, Host: c.host, Path: c.path, Concurrency: o.Concurrency, Duration: o.Warmup,
					Rate: rep.DispatchRate(), Expect: []byte(DispatchBody(mid))}
				_, err := l.Run(ctx)
				var res measured
				if err == nil {
					l.Duration = o.Duration
					res, err = measure(ctx, nodes[i].Proc, l)
				}
				if err != nil {
					return err
				}
				say("  round %d, %d entries, %s%s: %v; server CPU %v per request", round+1, n, c.host, c.path, res.LoadResult, res.cpuPerReq())
				d := &rep.Dispatch[k]
				if i == 0 {
					d.Small = append(d.Small, res)
				} else {
					d.Big = append(d.Big, res)
				}
			}
		}
	}
	return nil
}

// dispatchNode makes a node whose database holds a dispatch table of n
// entries and starts it, returning how long the start took.
func dispatchNode(ctx context.Context, bin, dir string, n int, env []string) (*Node, time.Duration, error) {
	node, err := StartNode(ctx, bin, dir, env...) // creates and seeds the database
	if err != nil {
		return nil, 0, err
	}
	if err := node.Stop(10 * time.Second); err != nil {
		return nil, 0, err
	}
	if err := SeedDispatch(ctx, node.DBPath(), n); err != nil {
		return nil, 0, err
	}
	t0 := time.Now()
	node, err = StartNode(ctx, bin, dir, env...)
	if err != nil {
		return nil, 0, err
	}
	return node, time.Since(t0), nil
}

// Check is one target: a measured figure beside the bound it must meet.
type Check struct {
	What, Measured, Target string
	Pass                   bool
}

// Checks compares the report with the targets of issue 8.
func (r *Report) Checks() []Check {
	// Ratios are taken round by round, between runs minutes apart at most,
	// and the median round ratio is judged: other load on the machine
	// drifts less within a round than across the whole run.
	vsBare := r.roundRatio(0, 1, (*LoadResult).RPS)
	vsJS := r.roundRatio(0, 2, (*LoadResult).RPS)
	p99What := "p99 PiCloud / bare Go, closed loop"
	p99 := r.roundRatio(0, 1, func(l *LoadResult) float64 { return float64(l.Latency.Quantile(0.99)) })
	if pico, bare := r.Servers[0].pacedRounds(), r.Servers[1].pacedRounds(); len(pico) > 0 && len(pico) == len(bare) {
		p99What = fmt.Sprintf("p99 PiCloud / bare Go at the same %.0f req/s", r.Rate)
		var xs []float64
		for k := range pico {
			xs = append(xs, float64(pico[k].Latency.Quantile(0.99))/float64(bare[k].Latency.Quantile(0.99)))
		}
		slices.Sort(xs)
		p99 = xs[len(xs)/2]
	}
	ratio := func(x float64) string { return fmt.Sprintf("%.2f×", x) }
	cs := []Check{
		{"throughput PiCloud / bare Go", ratio(vsBare), fmt.Sprintf("≥ %.2f×", TargetVsBareGo), vsBare >= TargetVsBareGo},
		{"throughput PiCloud / Node.js", ratio(vsJS), fmt.Sprintf("≥ %.2f×", TargetVsNodeJS), vsJS >= TargetVsNodeJS},
		{p99What, ratio(p99), fmt.Sprintf("≤ %.2f×", TargetP99VsBareGo), p99 <= TargetP99VsBareGo},
		{fmt.Sprintf("update → first response (median of %d)", r.Update.Count()), fmtDur(r.Update.Quantile(0.5)), "≤ " + TargetUpdate.String(), r.Update.Quantile(0.5) <= TargetUpdate},
	}
	// The cost of a request is its server CPU time: req/s at a fixed
	// concurrency moves with whatever else the machine runs.
	for _, d := range r.Dispatch {
		cs = append(cs, Check{fmt.Sprintf("dispatch CPU/req %d / %d, %s", r.Opts.DispatchBig, r.Opts.DispatchSmall, d.What),
			fmt.Sprintf("%.2f× (p50 %.2f×)", d.CPURatio(), d.P50Ratio()), fmt.Sprintf("≤ %.2f×", TargetDispatchRatio), d.CPURatio() <= TargetDispatchRatio})
	}
	cs = append(cs, Check{"node idle RSS", MB(r.NodeIdle.RSS), "≤ " + MB(TargetIdleRSS), r.NodeIdle.RSS <= TargetIdleRSS})
	return cs
}

// roundRatio is the median over rounds of f(server a) / f(server b).
func (r *Report) roundRatio(a, b int, f func(*LoadResult) float64) float64 {
	var xs []float64
	for k := range r.Servers[a].Rounds {
		xs = append(xs, f(r.Servers[a].Rounds[k].LoadResult)/f(r.Servers[b].Rounds[k].LoadResult))
	}
	slices.Sort(xs)
	if len(xs) == 0 {
		return 0
	}
	return xs[len(xs)/2]
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
}

// Print writes the report as tables.
func (r *Report) Print(w io.Writer) {
	o := r.Opts
	fmt.Fprintf(w, "\nPiCloud benchmark: loopback, %d CPUs, %s, Node.js %s\n", runtime.NumCPU(), r.GoVersion, r.NodeVersion)
	if len(o.NodeEnv) > 0 {
		fmt.Fprintf(w, "node environment: %s\n", strings.Join(o.NodeEnv, " "))
	}
	fmt.Fprintf(w, "hello world, GET / Host: localhost, %d keep-alive connections, %d round(s) of %v after %v warm-up each (client: %s), then as many paced rounds (own client; median round shown; ratios are medians of per-round ratios)\n\n",
		o.Concurrency, o.Rounds, o.Duration, o.Warmup, o.Client)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "server\treq/s\tp50\tp99\tmax\tCPU/req\tpeak RSS\terrors\tevery round req/s\tp50 @%.0f/s\tp99 @%.0f/s\t\n", r.Rate, r.Rate)
	for _, s := range r.Servers {
		var rounds []string
		for _, x := range s.Rounds {
			rounds = append(rounds, fmt.Sprintf("%.0f", x.RPS()))
		}
		atP50, atP99 := "-", "-"
		if s.AtRate != nil {
			atP50, atP99 = fmtDur(s.AtRate.Latency.Quantile(0.5)), fmtDur(s.AtRate.Latency.Quantile(0.99))
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t\n", s.Name, s.Load.RPS(), fmtDur(s.Load.Latency.Quantile(0.5)),
			fmtDur(s.Load.Latency.Quantile(0.99)), fmtDur(s.Load.Latency.Max()), fmtDur(s.CPUPerReq), MB(s.Peak), s.Load.Errors(), strings.Join(rounds, " "), atP50, atP99)
	}
	tw.Flush()

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "dispatch at %.0f req/s\tentries\treq/s\tp50\tp99\tCPU/req\t\n", r.DispatchRate())
	for _, d := range r.Dispatch {
		for _, x := range []struct {
			n   int
			res measured
		}{{o.DispatchSmall, median(d.Small)}, {o.DispatchBig, median(d.Big)}} {
			fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%s\t\n", d.What, x.n, x.res.RPS(), fmtDur(x.res.Latency.Quantile(0.5)),
				fmtDur(x.res.Latency.Quantile(0.99)), fmtDur(x.res.cpuPerReq()))
		}
	}
	tw.Flush()

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "target\tmeasured\ttarget\t\t")
	pass := 0
	checks := r.Checks()
	for _, c := range checks {
		verdict := "FAIL"
		if c.Pass {
			verdict = "PASS"
			pass++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", c.What, c.Measured, c.Target, verdict)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d of %d targets met\n\n", pass, len(checks))

	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	pico, bare, js := r.Servers[0], r.Servers[1], r.Servers[2]
	fmt.Fprintf(tw, "server CPU per request PiCloud / bare Go / Node.js\t%s / %s / %s (%.1f× / %.1f×)\t\n", fmtDur(pico.CPUPerReq), fmtDur(bare.CPUPerReq),
		fmtDur(js.CPUPerReq), float64(pico.CPUPerReq)/float64(bare.CPUPerReq), float64(pico.CPUPerReq)/float64(js.CPUPerReq))
	fmt.Fprintf(tw, "node RSS idle / after the run (peak)\t%s / %s (%s)\t\n", MB(r.NodeIdle.RSS), MB(r.NodeAfter.RSS), MB(r.NodeAfter.Peak))
	fmt.Fprintf(tw, "update → first response p50 / p90 / max\t%s / %s / %s\t\n", fmtDur(r.Update.Quantile(0.5)), fmtDur(r.Update.Quantile(0.9)), fmtDur(r.Update.Max()))
	fmt.Fprintf(tw, "  of which the PATCH itself, p50 / p90\t%s / %s\t\n", fmtDur(r.UpdatePatch.Quantile(0.5)), fmtDur(r.UpdatePatch.Quantile(0.9)))
	fmt.Fprintf(tw, "node with %d entries: start / idle RSS\t%s / %s\t\n", o.DispatchBig, fmtDur(r.BigStartup), MB(r.BigIdle.RSS))
	fmt.Fprintf(tw, "picloud-node binary (static, -ldflags \"-s -w\")\t%s\t\n", MB(r.BinarySize))
	tw.Flush()
}
