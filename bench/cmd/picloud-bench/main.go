// Command picloud-bench compares a PiCloud node with a bare Go httprouter
// server and a plain Node.js http server on loopback, and puts a node under
// sustained load. See bench/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/picloud/picloud/bench"
)

const usage = `picloud-bench measures PiCloud on loopback, bounded in time.

Usage:
  picloud-bench bench [flags]   PiCloud vs bare Go vs Node.js, update latency, dispatch 10 vs 10,000
  picloud-bench load [flags]    sustained load on one node: zero errors, RSS back near its start
  picloud-bench fetch [flags]   hello world alone vs while runs await fetch; a fetch proxy vs Node.js's
  picloud-bench tail [flags]    an app's requests with no tail vs with a stuck tail and idle tails open
  picloud-bench hit -addr host:port [flags]   load any server with the same client
  picloud-bench kv [flags]      KV get and get + put handlers vs hello world and a naive FULL-sync Go server
  picloud-bench serve-bare -addr host:port   the bare Go baseline (bench starts it)

Without -node, picloud-node is built first (run from inside the module).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	code := 0
	switch os.Args[1] {
	case "bench":
		code, err = runBench(ctx, os.Args[2:])
	case "load":
		code, err = runLoad(ctx, os.Args[2:])
	case "fetch":
		code, err = runFetch(ctx, os.Args[2:])
	case "tail":
		code, err = runTail(ctx, os.Args[2:])
	case "hit":
		code, err = runHit(ctx, os.Args[2:])
	case "kv":
		code, err = runKV(ctx, os.Args[2:])
	case "serve-naive-kv":
		err = bench.ServeNaiveKV(ctx, os.Getenv(bench.BareAddrEnv), os.Getenv(bench.NaiveKVDBEnv))
	case "serve-bare":
		fs := flag.NewFlagSet("serve-bare", flag.ExitOnError)
		addr := fs.String("addr", os.Getenv(bench.BareAddrEnv), "listen address")
		fs.Parse(os.Args[2:])
		err = bench.ServeBare(ctx, *addr)
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprint(os.Stderr, usage)
		code = 2
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "picloud-bench: %v\n", err)
		code = 1
	}
	os.Exit(code)
}

func nodeBinary(ctx context.Context, bin string) (string, func(), error) {
	if bin != "" {
		return bin, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "picloud-bench-bin-")
	if err != nil {
		return "", nil, err
	}
	fmt.Fprintln(os.Stderr, "bench: building picloud-node")
	bin, err = bench.BuildNode(ctx, dir)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}

func runBench(ctx context.Context, args []string) (int, error) {
	d := bench.DefaultOptions()
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	node := fs.String("node", "", "picloud-node binary (default: build it)")
	c := fs.Int("c", d.Concurrency, "concurrent keep-alive connections")
	warm := fs.Duration("warmup", d.Warmup, "warm-up before each measurement")
	dur := fs.Duration("duration", d.Duration, "measured time per server and round")
	rounds := fs.Int("rounds", d.Rounds, "rounds over the three servers; the median is reported")
	samples := fs.Int("update-samples", d.UpdateSamples, "script updates timed")
	small := fs.Int("dispatch-small", d.DispatchSmall, "entries of the small dispatch table")
	big := fs.Int("dispatch-big", d.DispatchBig, "entries of the big dispatch table")
	strict := fs.Bool("strict", false, "exit 1 when a target is missed")
	client := fs.String("client", bench.ClientOwn, "client of the closed-loop rounds: own or wrk (wrk -t2 with -c connections)")
	var env envFlag
	fs.Var(&env, "node-env", "KEY=VALUE setting for every node started, e.g. GOGC=400 (repeatable)")
	fs.Parse(args)
	if *client != bench.ClientOwn && *client != bench.ClientWrk {
		return 2, fmt.Errorf("-client %q: want %s or %s", *client, bench.ClientOwn, bench.ClientWrk)
	}

	bin, cleanup, err := nodeBinary(ctx, *node)
	if err != nil {
		return 1, err
	}
	defer cleanup()
	self, err := os.Executable()
	if err != nil {
		return 1, err
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return 1, err
	}
	rep, err := bench.Run(ctx, bench.Options{
		NodeBin:       bin,
		NodeEnv:       env,
		BareCmd:       []string{self, "serve-bare"},
		Concurrency:   *c,
		Warmup:        *warm,
		Duration:      *dur,
		Rounds:        *rounds,
		UpdateSamples: *samples,
		DispatchSmall: *small,
		DispatchBig:   *big,
		Client:        *client,
		Progress:      os.Stderr,
	})
	if err != nil {
		return 1, err
	}
	rep.Print(os.Stdout)
	if *strict {
		for _, c := range rep.Checks() {
			if !c.Pass {
				return 1, nil
			}
		}
	}
	return 0, nil
}

func runLoad(ctx context.Context, args []string) (int, error) {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	node := fs.String("node", "", "picloud-node binary (default: build it)")
	c := fs.Int("c", bench.DefaultOptions().Concurrency, "concurrent keep-alive connections")
	dur := fs.Duration("duration", 60*time.Second, "sustained load time")
	warm := fs.Duration("warmup", 3*time.Second, "warm-up before the starting RSS is taken")
	settle := fs.Duration("settle", 5*time.Second, "idle time after the warm-up and after the load, watching RSS")
	var env envFlag
	fs.Var(&env, "node-env", "KEY=VALUE setting for the node, e.g. GOGC=400 (repeatable)")
	fs.Parse(args)
	bin, cleanup, err := nodeBinary(ctx, *node)
	if err != nil {
		return 1, err
	}
	defer cleanup()
	rep, err := bench.RunLoad(ctx, bench.LoadOptions{NodeBin: bin, NodeEnv: env, Concurrency: *c, Duration: *dur, Warmup: *warm, Settle: *settle, Progress: os.Stderr})
	if err != nil {
		return 1, err
	}
	rep.Print(os.Stdout)
	if len(rep.Problems()) > 0 || rep.Unlogged() > 0 {
		return 1, nil
	}
	return 0, nil
}

func runFetch(ctx context.Context, args []string) (int, error) {
	d := bench.DefaultFetchOptions()
	fs := flag.NewFlagSet("fetch", flag.ExitOnError)
	node := fs.String("node", "", "picloud-node binary (default: build it)")
	c := fs.Int("c", d.Concurrency, "concurrent keep-alive connections")
	warm := fs.Duration("warmup", d.Warmup, "warm-up before each measurement")
	dur := fs.Duration("duration", d.Duration, "measured time per target and round")
	rounds := fs.Int("rounds", d.Rounds, "rounds; the median is reported")
	waiting := fs.Int("waiting", d.Waiting, "runs kept awaiting the slow upstream")
	delay := fs.Duration("delay", d.UpstreamDelay, "how long the slow upstream takes")
	strict := fs.Bool("strict", false, "exit 1 when a target is missed")
	var env envFlag
	fs.Var(&env, "node-env", "KEY=VALUE setting for the node (repeatable)")
	fs.Parse(args)
	bin, cleanup, err := nodeBinary(ctx, *node)
	if err != nil {
		return 1, err
	}
	defer cleanup()
	rep, err := bench.RunFetch(ctx, bench.FetchOptions{NodeBin: bin, NodeEnv: env, Concurrency: *c, Warmup: *warm,
		Duration: *dur, Rounds: *rounds, Waiting: *waiting, UpstreamDelay: *delay, Progress: os.Stderr})
	if err != nil {
		return 1, err
	}
	rep.Print(os.Stdout)
	if *strict {
		for _, c := range rep.Checks() {
			if !c.Pass {
				return 1, nil
			}
		}
	}
	return 0, nil
}

func runTail(ctx context.Context, args []string) (int, error) {
	d := bench.DefaultTailOptions()
	fs := flag.NewFlagSet("tail", flag.ExitOnError)
	node := fs.String("node", "", "picloud-node binary (default: build it)")
	c := fs.Int("c", d.Concurrency, "concurrent keep-alive connections")
	warm := fs.Duration("warmup", d.Warmup, "warm-up before each measurement")
	dur := fs.Duration("duration", d.Duration, "measured time per case and round")
	rounds := fs.Int("rounds", d.Rounds, "interleaved rounds; the median of their ratios is judged")
	idle := fs.Int("idle", d.Idle, "idle tails of another app during the tailed rounds")
	strict := fs.Bool("strict", false, "exit 1 when a target is missed")
	var env envFlag
	fs.Var(&env, "node-env", "KEY=VALUE setting for the node (repeatable)")
	fs.Parse(args)
	bin, cleanup, err := nodeBinary(ctx, *node)
	if err != nil {
		return 1, err
	}
	defer cleanup()
	rep, err := bench.RunTail(ctx, bench.TailOptions{NodeBin: bin, NodeEnv: env, Concurrency: *c, Warmup: *warm,
		Duration: *dur, Rounds: *rounds, Idle: *idle, Progress: os.Stderr})
	if err != nil {
		return 1, err
	}
	rep.Print(os.Stdout)
	if *strict {
		for _, c := range rep.Checks() {
			if !c.Pass {
				return 1, nil
			}
		}
	}
	return 0, nil
}

func runKV(ctx context.Context, args []string) (int, error) {
	d := bench.DefaultKVOptions()
	fs := flag.NewFlagSet("kv", flag.ExitOnError)
	node := fs.String("node", "", "picloud-node binary (default: build it)")
	c := fs.Int("c", d.Concurrency, "concurrent keep-alive connections")
	warm := fs.Duration("warmup", d.Warmup, "warm-up before each measurement")
	dur := fs.Duration("duration", d.Duration, "measured time per target and round")
	rounds := fs.Int("rounds", d.Rounds, "rounds; the median is reported")
	strict := fs.Bool("strict", false, "exit 1 when a target is missed")
	var env envFlag
	fs.Var(&env, "node-env", "KEY=VALUE setting for the node (repeatable)")
	fs.Parse(args)
	bin, cleanup, err := nodeBinary(ctx, *node)
	if err != nil {
		return 1, err
	}
	defer cleanup()
	self, err := os.Executable()
	if err != nil {
		return 1, err
	}
	rep, err := bench.RunKV(ctx, bench.KVOptions{NodeBin: bin, NodeEnv: env, NaiveCmd: []string{self, "serve-naive-kv"},
		Concurrency: *c, Warmup: *warm, Duration: *dur, Rounds: *rounds, Progress: os.Stderr})
	if err != nil {
		return 1, err
	}
	rep.Print(os.Stdout)
	if *strict {
		for _, c := range rep.Checks() {
			if !c.Pass {
				return 1, nil
			}
		}
	}
	return 0, nil
}

// envFlag collects repeated KEY=VALUE flags.
type envFlag []string

func (e *envFlag) String() string { return strings.Join(*e, " ") }

func (e *envFlag) Set(v string) error {
	if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	*e = append(*e, v)
	return nil
}

func runHit(ctx context.Context, args []string) (int, error) {
	fs := flag.NewFlagSet("hit", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "server address host:port")
	host := fs.String("host", "localhost", "Host header")
	path := fs.String("path", "/", "request path")
	c := fs.Int("c", bench.DefaultOptions().Concurrency, "concurrent keep-alive connections")
	dur := fs.Duration("duration", 10*time.Second, "load time")
	rate := fs.Float64("rate", 0, "paced req/s in total (0: back to back)")
	fs.Parse(args)
	res, err := bench.Load{Addr: *addr, Host: *host, Path: *path, Concurrency: *c, Duration: *dur, Rate: *rate}.Run(ctx)
	if err != nil {
		return 1, err
	}
	fmt.Println(res)
	fmt.Println("statuses:", res.Statuses)
	if res.FirstError != "" {
		fmt.Println("first connection error:", res.FirstError)
	}
	return 0, nil
}
