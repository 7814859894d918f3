package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/picloud/picloud/shared"
)

// Targets of issue 19, in one place so the report and the tests agree.
const (
	TargetBusyVsAlone    = 0.8 // hello world's req/s while runs wait on fetch ≥ this × alone
	TargetBusyP99VsAlone = 2.0 // and its p99 ≤ this × alone
)

// FetchOptions configure RunFetch. Zero values take the defaults of
// DefaultFetchOptions.
type FetchOptions struct {
	NodeBin       string
	NodeEnv       []string
	Concurrency   int
	Warmup        time.Duration
	Duration      time.Duration // measured time per target and round
	Rounds        int
	Waiting       int           // runs kept awaiting the slow upstream
	UpstreamDelay time.Duration // how long the slow upstream takes
	Progress      io.Writer
}

// DefaultFetchOptions is what `make bench-fetch` runs.
func DefaultFetchOptions() FetchOptions {
	return FetchOptions{Concurrency: 64, Warmup: 2 * time.Second, Duration: 8 * time.Second, Rounds: 3,
		Waiting: 200, UpstreamDelay: 2 * time.Second}
}

func (o *FetchOptions) fill() {
	d := DefaultFetchOptions()
	for _, f := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&o.Warmup, d.Warmup}, {&o.Duration, d.Duration}, {&o.UpstreamDelay, d.UpstreamDelay}} {
		if *f.v <= 0 {
			*f.v = f.def
		}
	}
	if o.Concurrency <= 0 {
		o.Concurrency = d.Concurrency
	}
	if o.Rounds <= 0 {
		o.Rounds = d.Rounds
	}
	if o.Waiting <= 0 {
		o.Waiting = d.Waiting
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// FetchReport is what RunFetch measured: hello world alone and while
// Waiting runs of another app await a slow upstream, interleaved round by
// round; a script proxying a local upstream beside Node.js doing the same
// with its built-in fetch; the node's memory with the runs waiting.
type FetchReport struct {
	Opts              FetchOptions
	Alone, Busy       []measured
	WaitsDone         int64 // slow runs completed during the busy rounds
	WaitErrors        int64 // slow runs that did not answer 200
	RSSBefore, RSSMid int64 // node RSS before the waiting runs, and with all waiting
	Proxy, NodeProxy  []measured
	NodeVersion       string
}

// fetchUpstream is the upstream both proxies and the waiting runs fetch
// from, in this process: /hello answers the hello-world bytes, /slow the
// same after UpstreamDelay.
func fetchUpstream(delay time.Duration) (addr string, waiting *atomic.Int64, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, nil, err
	}
	waiting = new(atomic.Int64)
	body := []byte(HelloBody)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			waiting.Add(1)
			defer waiting.Add(-1)
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", HelloContentType)
		w.Write(body)
	})}
	go srv.Serve(ln)
	return ln.Addr().String(), waiting, func() { srv.Close() }, nil
}

// nodeJSProxy answers every request with what Node.js's built-in fetch
// gets from TARGET: the same status, content type and body.
const nodeJSProxy = `
const http = require("http");
const target = process.env.TARGET;
const server = http.createServer(async (req, res) => {
  try {
    const r = await fetch(target);
    const body = Buffer.from(await r.arrayBuffer());
    res.writeHead(r.status, {"Content-Type": r.headers.get("content-type"), "Content-Length": body.length});
    res.end(body);
  } catch (e) {
    res.writeHead(502);
    res.end(String(e));
  }
});
server.keepAliveTimeout = 120000;
server.listen(Number(process.env.PORT), process.env.HOST);
process.on("SIGTERM", () => server.close(() => process.exit(0)));
`

// Hosts and paths of the fetch benchmark's app.
const (
	fetchHost = "fetch.bench.test"
	waitPath  = "/wait"
	proxyPath = "/proxy"
)

// setupFetchApp makes the app whose scripts fetch: /wait awaits the slow
// upstream, /proxy returns what fetch resolves with; its allowlist names
// the upstream by address and port.
func setupFetchApp(ctx context.Context, a *Admin, upstream string) error {
	var app shared.App
	if err := a.Do(ctx, http.MethodPost, "/api/v1/admin/apps", shared.CreateAppRequest{Name: "Fetch", Slug: "fetch"}, &app); err != nil {
		return err
	}
	base := "/api/v1/admin/apps/fetch"
	if err := a.Do(ctx, http.MethodPost, base+"/domains", shared.CreateDomainRequest{Pattern: fetchHost}, nil); err != nil {
		return err
	}
	if err := a.Do(ctx, http.MethodPut, base+"/egress", shared.Egress{Allow: []string{upstream}}, nil); err != nil {
		return err
	}
	for path, src := range map[string]string{
		waitPath:  fmt.Sprintf(`async function handle() { return (await fetch("http://%s/slow")).text() }`, upstream),
		proxyPath: fmt.Sprintf(`function handle() { return fetch("http://%s/hello") }`, upstream),
	} {
		var sc shared.Script
		err := a.Do(ctx, http.MethodPost, "/api/v1/admin/scripts", shared.CreateScriptRequest{AppID: "fetch", Name: strings.TrimPrefix(path, "/"),
			Source: src, Sandbox: shared.Overrides{shared.KnobTimeoutMS: 30000}}, &sc)
		if err != nil {
			return err
		}
		if err := a.Do(ctx, http.MethodPost, base+"/routes", shared.CreateRouteRequest{ScriptID: sc.ID, Method: "GET", Path: path}, nil); err != nil {
			return err
		}
	}
	return nil
}

// waiters keeps n requests to /wait in flight until stop is called, and
// counts the ones that came back.
func waiters(ctx context.Context, addr string, n int) (done, failed *atomic.Int64, stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done, failed = new(atomic.Int64), new(atomic.Int64)
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}, Timeout: time.Minute}
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				status, _, err := Get(ctx, c, "http://"+addr+waitPath, fetchHost)
				switch {
				case ctx.Err() != nil:
				case err != nil || status != http.StatusOK:
					failed.Add(1)
				default:
					done.Add(1)
				}
			}
		}()
	}
	return done, failed, func() { cancel(); wg.Wait() }
}

// RunFetch measures issue 19's benchmark on a node of its own.
func RunFetch(ctx context.Context, o FetchOptions) (*FetchReport, error) {
	o.fill()
	rep := &FetchReport{Opts: o}
	say := func(format string, args ...any) { fmt.Fprintf(o.Progress, "bench: "+format+"\n", args...) }
	if out, err := exec.Command("node", "--version").Output(); err == nil {
		rep.NodeVersion = strings.TrimSpace(string(out))
	}
	up, upWaiting, stopUp, err := fetchUpstream(o.UpstreamDelay)
	if err != nil {
		return nil, err
	}
	defer stopUp()
	dir, err := os.MkdirTemp("", "picloud-bench-fetch-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	node, err := StartNode(ctx, o.NodeBin, dir, o.NodeEnv...)
	if err != nil {
		return nil, err
	}
	defer node.Stop(10 * time.Second)
	if err := setupFetchApp(ctx, node.Admin, up); err != nil {
		return nil, fmt.Errorf("set up the fetch app: %w", err)
	}
	js, err := startNodeJSProxy("http://" + up + "/hello")
	if err != nil {
		return nil, err
	}
	defer js.Stop(5 * time.Second)
	if err := js.WaitReady(ctx, "http://"+js.Addr+"/", "", 20*time.Second); err != nil {
		return nil, err
	}

	hello := Load{Addr: node.Addr, Host: "localhost", Concurrency: o.Concurrency, Expect: []byte(HelloBody)}
	for round := range o.Rounds {
		say("round %d/%d: hello world alone, %v", round+1, o.Rounds, o.Duration)
		m, err := warmAndMeasure(ctx, node.Proc, hello, o)
		if err != nil {
			return nil, err
		}
		rep.Alone = append(rep.Alone, m)
		say("  %v", m.LoadResult)

		say("round %d/%d: hello world while %d runs await a %v upstream", round+1, o.Rounds, o.Waiting, o.UpstreamDelay)
		if round == 0 {
			mem, err := node.Mem()
			if err != nil {
				return nil, err
			}
			rep.RSSBefore = mem.RSS
		}
		done, failed, stop := waiters(ctx, node.Addr, o.Waiting)
		for deadline := time.Now().Add(30 * time.Second); upWaiting.Load() < int64(o.Waiting) && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		if round == 0 {
			mem, err := node.Mem()
			if err != nil {
				stop()
				return nil, err
			}
			rep.RSSMid = mem.RSS
		}
		m, err = warmAndMeasure(ctx, node.Proc, hello, o)
		stop()
		if err != nil {
			return nil, err
		}
		rep.Busy = append(rep.Busy, m)
		rep.WaitsDone += done.Load()
		rep.WaitErrors += failed.Load()
		say("  %v; %d slow runs completed meanwhile", m.LoadResult, done.Load())
	}
	for round := range o.Rounds {
		for _, p := range []struct {
			proc *Proc
			l    Load
			into *[]measured
		}{
			{node.Proc, Load{Addr: node.Addr, Host: fetchHost, Path: proxyPath, Concurrency: o.Concurrency, Expect: []byte(HelloBody)}, &rep.Proxy},
			{js, Load{Addr: js.Addr, Host: "localhost", Concurrency: o.Concurrency, Expect: []byte(HelloBody)}, &rep.NodeProxy},
		} {
			say("round %d/%d: %s proxying the upstream, %v", round+1, o.Rounds, p.proc.Name, o.Duration)
			m, err := warmAndMeasure(ctx, p.proc, p.l, o)
			if err != nil {
				return nil, err
			}
			*p.into = append(*p.into, m)
			say("  %v", m.LoadResult)
		}
	}
	return rep, nil
}

func warmAndMeasure(ctx context.Context, p *Proc, l Load, o FetchOptions) (measured, error) {
	l.Duration = o.Warmup
	if _, err := l.Run(ctx); err != nil {
		return measured{}, err
	}
	l.Duration = o.Duration
	return measure(ctx, p, l)
}

func startNodeJSProxy(target string) (*Proc, error) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("node.js proxy: %w", err)
	}
	addr, err := FreePort()
	if err != nil {
		return nil, err
	}
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(nodeBin, "-e", nodeJSProxy)
	cmd.Env = append(os.Environ(), "HOST="+host, "PORT="+port, "TARGET="+target)
	return Start("Node.js", addr, cmd)
}

// Checks compares the report with the targets of issue 19.
func (r *FetchReport) Checks() []Check {
	rps := medianRatio(r.Busy, r.Alone, func(m measured) float64 { return m.RPS() })
	p99 := medianRatio(r.Busy, r.Alone, func(m measured) float64 { return float64(m.Latency.Quantile(0.99)) })
	return []Check{
		{What: fmt.Sprintf("hello world req/s while %d runs await fetch, vs alone", r.Opts.Waiting),
			Measured: fmt.Sprintf("%.2f×", rps), Target: fmt.Sprintf("≥ %.2f×", TargetBusyVsAlone), Pass: rps >= TargetBusyVsAlone},
		{What: "its p99 vs alone", Measured: fmt.Sprintf("%.2f×", p99), Target: fmt.Sprintf("≤ %.1f×", TargetBusyP99VsAlone),
			Pass: p99 <= TargetBusyP99VsAlone},
		{What: "waiting runs that failed", Measured: fmt.Sprint(r.WaitErrors), Target: "0", Pass: r.WaitErrors == 0 && r.WaitsDone > 0},
	}
}

// Print writes the report as a table.
func (r *FetchReport) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "fetch benchmark: %d rounds of %v at concurrency %d, %d runs awaiting a %v upstream; Node.js %s\n\n",
		r.Opts.Rounds, r.Opts.Duration, r.Opts.Concurrency, r.Opts.Waiting, r.Opts.UpstreamDelay, r.NodeVersion)
	fmt.Fprintln(tw, "\treq/s (median round)\tp50\tp99\tserver CPU/req")
	for _, row := range []struct {
		name string
		ms   []measured
	}{
		{"hello world alone", r.Alone},
		{fmt.Sprintf("hello world, %d runs awaiting fetch", r.Opts.Waiting), r.Busy},
		{"PiCloud: return fetch(upstream)", r.Proxy},
		{"Node.js: built-in fetch proxy", r.NodeProxy},
	} {
		m := median(row.ms)
		fmt.Fprintf(tw, "%s\t%.0f\t%v\t%v\t%v\n", row.name, m.RPS(), m.Latency.Quantile(0.5), m.Latency.Quantile(0.99), m.cpuPerReq())
	}
	fmt.Fprintf(tw, "\nslow runs completed during the busy rounds: %d (failed: %d)\n", r.WaitsDone, r.WaitErrors)
	grown := r.RSSMid - r.RSSBefore
	fmt.Fprintf(tw, "node RSS before the waiting runs %s, with %d waiting %s: %s per waiting run\n",
		MB(r.RSSBefore), r.Opts.Waiting, MB(r.RSSMid), MB(grown/int64(r.Opts.Waiting)))
	fmt.Fprintf(tw, "PiCloud proxy / Node.js proxy: %.2f× req/s (median of rounds)\n\n",
		medianRatio(r.Proxy, r.NodeProxy, func(m measured) float64 { return m.RPS() }))
	for _, c := range r.Checks() {
		mark := "PASS"
		if !c.Pass {
			mark = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t(target %s)\n", mark, c.What, c.Measured, c.Target)
	}
	tw.Flush()
}
