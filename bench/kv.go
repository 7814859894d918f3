package bench

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/picloud/picloud/shared"
)

// Targets of issue 17, in one place so the report and the tests agree.
const (
	TargetKVGetVsHello   = 0.7  // a get per request ≥ this × hello world's req/s
	TargetKVPutVsHello   = 0.25 // get + durable put per request ≥ this × hello world's
	TargetKVPutVsNaive   = 5.0  // and ≥ this × a bare Go server's FULL-sync transaction per request
	kvBenchKeys          = 3000 // the counters' keys
	kvHost               = "kv.bench.test"
	kvGetPath, kvPutPath = "/get", "/put"
)

// KVOptions configure RunKV. Zero values take DefaultKVOptions'.
type KVOptions struct {
	NodeBin     string
	NodeEnv     []string
	NaiveCmd    []string // runs ServeNaiveKV on the address in BareAddrEnv
	Concurrency int
	Warmup      time.Duration
	Duration    time.Duration
	Rounds      int
	Progress    io.Writer
}

// DefaultKVOptions is what `picloud-bench kv` runs.
func DefaultKVOptions() KVOptions {
	return KVOptions{Concurrency: 50, Warmup: time.Second, Duration: 5 * time.Second, Rounds: 3}
}

func (o *KVOptions) fill() {
	d := DefaultKVOptions()
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
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// KVReport is what RunKV measured, round by round with the same client:
// hello world, a KV get per request, a get + put per request (a counter
// on kvBenchKeys keys), and the naive baseline doing that read + write in
// a FULL-sync transaction of its own per request.
type KVReport struct {
	Opts                   KVOptions
	Hello, Get, Put, Naive []measured
	Batches, Writes        int64         // the node's KV commits and writes during the put rounds
	PutTime                time.Duration // the put rounds' time, warm-ups included
	WriterBusy, WriterUp   time.Duration // the KV writer's time committing, and its uptime, in those rounds
}

// kvScripts are the benchmark's handlers.
var kvScripts = map[string]string{
	kvGetPath: fmt.Sprintf(`async function handle(req, env) {
  return await env.KV.get("c" + Math.floor(Math.random() * %d));
}`, kvBenchKeys),
	kvPutPath: fmt.Sprintf(`async function handle(req, env) {
  const key = "n" + Math.floor(Math.random() * %d);
  const n = Number(await env.KV.get(key)) + 1;
  await env.KV.put(key, String(n));
  return %q;
}`, kvBenchKeys, HelloBody),
}

// setupKVApp makes the app with both handlers and seeds the get keys
// (each holding the hello-world bytes, so every answer can be checked).
func setupKVApp(ctx context.Context, a *Admin, c *shared.Client) error {
	if err := a.Do(ctx, http.MethodPost, shared.PathApps, shared.CreateAppRequest{Name: "KV", Slug: "kv"}, nil); err != nil {
		return err
	}
	if err := a.Do(ctx, http.MethodPost, shared.Path(shared.PathDomains, "kv"), shared.CreateDomainRequest{Pattern: kvHost}, nil); err != nil {
		return err
	}
	for path, src := range kvScripts {
		var sc shared.Script
		if err := a.Do(ctx, http.MethodPost, shared.PathScripts, shared.CreateScriptRequest{AppID: "kv", Name: path[1:], Source: src}, &sc); err != nil {
			return err
		}
		if err := a.Do(ctx, http.MethodPost, shared.Path(shared.PathRoutes, "kv"), shared.CreateRouteRequest{ScriptID: sc.ID, Method: "GET", Path: path}, nil); err != nil {
			return err
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < kvBenchKeys; i += 16 {
				if err := c.KVPut(ctx, "kv", fmt.Sprint("c", i), []byte(HelloBody), shared.KVPutOptions{}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// writerStats reads the counts the node's KV writer logs when it stops.
var writerStats = regexp.MustCompile(`KV writer stopped.*batches=(\d+) writes=(\d+) busy=(\S+) up=(\S+)`)

// RunKV measures issue 17's benchmark. The put rounds run on a restart of
// the node each, so that the writer's counts, logged when it stops, are
// the round's.
func RunKV(ctx context.Context, o KVOptions) (*KVReport, error) {
	o.fill()
	rep := &KVReport{Opts: o}
	say := func(format string, args ...any) { fmt.Fprintf(o.Progress, "bench: "+format+"\n", args...) }
	dir, err := os.MkdirTemp("", "picloud-bench-kv-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	node, err := StartNode(ctx, o.NodeBin, dir, o.NodeEnv...)
	if err != nil {
		return nil, err
	}
	defer func() { node.Stop(10 * time.Second) }()
	if err := setupKVApp(ctx, node.Admin, shared.NewClient("http://"+node.AdminAddr, BenchToken)); err != nil {
		return nil, fmt.Errorf("set up the KV app: %w", err)
	}
	naive, err := StartNaiveKV(filepath.Join(dir, "naive.db"), o.NaiveCmd...)
	if err != nil {
		return nil, err
	}
	defer naive.Stop(5 * time.Second)
	if err := naive.WaitReady(ctx, "http://"+naive.Addr+"/", "", 20*time.Second); err != nil {
		return nil, err
	}
	fo := FetchOptions{Warmup: o.Warmup, Duration: o.Duration}
	load := func(p *Proc, host, path string) Load {
		return Load{Addr: p.Addr, Host: host, Path: path, Concurrency: o.Concurrency, Expect: []byte(HelloBody)}
	}
	for round := range o.Rounds {
		for _, t := range []struct {
			name string
			proc *Proc
			l    Load
			into *[]measured
		}{
			{"hello world", node.Proc, load(node.Proc, "localhost", "/"), &rep.Hello},
			{"KV get", node.Proc, load(node.Proc, kvHost, kvGetPath), &rep.Get},
			{"naive Go get + put, a FULL-sync transaction each", naive, load(naive, "localhost", "/"), &rep.Naive},
		} {
			say("round %d/%d: %s, %v", round+1, o.Rounds, t.name, o.Duration)
			m, err := warmAndMeasure(ctx, t.proc, t.l, fo)
			if err != nil {
				return nil, err
			}
			*t.into = append(*t.into, m)
			say("  %v", m.LoadResult)
		}
		if err := node.Stop(10 * time.Second); err != nil {
			return nil, err
		}
		if node, err = node.Restart(ctx, o.NodeEnv...); err != nil {
			return nil, err
		}
		say("round %d/%d: KV get + put, %v", round+1, o.Rounds, o.Duration)
		begin := time.Now()
		m, err := warmAndMeasure(ctx, node.Proc, load(node.Proc, kvHost, kvPutPath), fo)
		if err != nil {
			return nil, err
		}
		rep.PutTime += time.Since(begin)
		rep.Put = append(rep.Put, m)
		say("  %v", m.LoadResult)
		if err := node.Stop(10 * time.Second); err != nil {
			return nil, err
		}
		sm := writerStats.FindAllStringSubmatch(node.Output(), -1)
		if len(sm) == 0 {
			return nil, errors.New("the node did not log its KV writer's counts")
		}
		last := sm[len(sm)-1]
		b, _ := strconv.ParseInt(last[1], 10, 64)
		w, _ := strconv.ParseInt(last[2], 10, 64)
		busy, _ := time.ParseDuration(last[3])
		up, _ := time.ParseDuration(last[4])
		rep.Batches += b
		rep.Writes += w
		rep.WriterBusy += busy
		rep.WriterUp += up
		say("  %d commits for %d writes, the writer busy %v of %v", b, w, busy.Round(time.Millisecond), up.Round(time.Millisecond))
		if node, err = node.Restart(ctx, o.NodeEnv...); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// Checks compares the report with the targets of issue 17.
func (r *KVReport) Checks() []Check {
	rps := func(m measured) float64 { return m.RPS() }
	get := medianRatio(r.Get, r.Hello, rps)
	put := medianRatio(r.Put, r.Hello, rps)
	naive := medianRatio(r.Put, r.Naive, rps)
	return []Check{
		{What: "KV get handler vs hello world, req/s", Measured: fmt.Sprintf("%.2f×", get), Target: fmt.Sprintf("≥ %.2f×", TargetKVGetVsHello), Pass: get >= TargetKVGetVsHello},
		{What: "KV get + durable put handler vs hello world", Measured: fmt.Sprintf("%.2f×", put), Target: fmt.Sprintf("≥ %.2f×", TargetKVPutVsHello), Pass: put >= TargetKVPutVsHello},
		{What: "KV get + put vs naive Go, FULL-sync transaction per request", Measured: fmt.Sprintf("%.2f×", naive), Target: fmt.Sprintf("≥ %.1f×", TargetKVPutVsNaive), Pass: naive >= TargetKVPutVsNaive},
	}
}

// Print writes the report as a table.
func (r *KVReport) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "KV benchmark: %d rounds of %v at concurrency %d, %d counter keys\n\n", r.Opts.Rounds, r.Opts.Duration, r.Opts.Concurrency, kvBenchKeys)
	fmt.Fprintln(tw, "\treq/s (median round)\tp50\tp99\tserver CPU/req")
	for _, row := range []struct {
		name string
		ms   []measured
	}{
		{"PiCloud hello world", r.Hello},
		{"PiCloud KV get", r.Get},
		{"PiCloud KV get + put (durable)", r.Put},
		{"naive Go get + put, FULL-sync tx each", r.Naive},
	} {
		m := median(row.ms)
		fmt.Fprintf(tw, "%s\t%.0f\t%v\t%v\t%v\n", row.name, m.RPS(), m.Latency.Quantile(0.5), m.Latency.Quantile(0.99), m.cpuPerReq())
	}
	if r.Batches > 0 {
		fmt.Fprintf(tw, "\nput rounds: %d commits (fsyncs) for %d writes: %.1f puts per fsync, %.0f fsyncs/s (warm-ups included); the KV writer committing %.0f%% of its uptime\n\n",
			r.Batches, r.Writes, float64(r.Writes)/float64(r.Batches), float64(r.Batches)/r.PutTime.Seconds(), 100*r.WriterBusy.Seconds()/max(r.WriterUp.Seconds(), 1e-9))
	}
	for _, c := range r.Checks() {
		mark := "PASS"
		if !c.Pass {
			mark = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t(target %s)\n", mark, c.What, c.Measured, c.Target)
	}
	tw.Flush()
}

// NaiveKVDBEnv names the naive baseline's database file.
const NaiveKVDBEnv = "PICLOUD_BENCH_NAIVE_DB"

// StartNaiveKV starts the naive KV baseline as its own process: argv runs
// ServeNaiveKV on the address in BareAddrEnv and the file in NaiveKVDBEnv.
func StartNaiveKV(db string, argv ...string) (*Proc, error) {
	addr, err := FreePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), BareAddrEnv+"="+addr, NaiveKVDBEnv+"="+db)
	return Start("naive Go KV", addr, cmd)
}

// ServeNaiveKV is the baseline a Go programmer would write without group
// commit: SQLite in WAL mode with synchronous=FULL, and per request one
// transaction that reads a counter and writes it back, committed (one
// fsync) before the answer.
func ServeNaiveKV(ctx context.Context, addr, path string) error {
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)`); err != nil {
		return err
	}
	body := []byte(HelloBody)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := fmt.Sprint("n", rand.IntN(kvBenchKeys))
		if err := naiveIncrement(r.Context(), db, key); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", HelloContentType)
		w.Write(body)
	})
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 120 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Shutdown(context.Background())
	}()
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		return err
	}
	return nil
}

func naiveIncrement(ctx context.Context, db *sql.DB, key string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var v sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT value FROM kv WHERE key = ?`, key).Scan(&v); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	n, _ := strconv.Atoi(v.String)
	if _, err := tx.ExecContext(ctx, `INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
		key, strconv.Itoa(n+1)); err != nil {
		return err
	}
	return tx.Commit()
}
