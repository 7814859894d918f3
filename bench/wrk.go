package bench

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Load clients of a benchmark run (Options.Client): the package's own
// client, or wrk, which people compare servers with.
const (
	ClientOwn = "own"
	ClientWrk = "wrk"
)

// wrkThreads are wrk's threads, as in the side-by-side runs of FACTS.md
// (wrk -t2 -c50): one per core of the machine the figures come from.
const wrkThreads = 2

// RunWrk sends l with wrk instead of the package's client: closed loop,
// l.Concurrency connections on wrkThreads threads for l.Duration (Rate,
// Requests and Expect are not wrk's: SameAnswers checks the bodies
// beforehand). The latency histogram holds wrk's 50th, 75th, 90th and 99th
// percentiles and its maximum, weighted as the shares they stand for, so
// that its quantiles read like wrk's.
func (l Load) RunWrk(ctx context.Context) (*LoadResult, error) {
	path := l.Path
	if path == "" {
		path = "/"
	}
	args := []string{"-t", strconv.Itoa(min(wrkThreads, max(l.Concurrency, 1))), "-c", strconv.Itoa(max(l.Concurrency, 1)),
		"-d", fmt.Sprintf("%ds", max(int(l.Duration.Round(time.Second)/time.Second), 1)), "--latency", "--timeout", "10s"}
	if l.Host != "" {
		args = append(args, "-H", "Host: "+l.Host)
	}
	args = append(args, "http://"+l.Addr+path)
	out, err := exec.CommandContext(ctx, "wrk", args...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("wrk %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	res, err := parseWrk(string(out))
	if err != nil {
		return nil, fmt.Errorf("wrk output: %w\n%s", err, out)
	}
	return res, nil
}

// parseWrk reads wrk's report (with --latency).
func parseWrk(out string) (*LoadResult, error) {
	res := &LoadResult{Statuses: map[int]int64{}}
	var total int64
	percentiles := map[string]time.Duration{}
	var maxLatency time.Duration
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 4 && f[0] == "Latency" && f[1] != "Distribution":
			maxLatency, _ = time.ParseDuration(f[3])
		case len(f) == 2 && strings.HasSuffix(f[0], "%"):
			d, err := time.ParseDuration(f[1])
			if err != nil {
				return nil, fmt.Errorf("latency %q: %w", f[1], err)
			}
			percentiles[f[0]] = d
		case len(f) >= 4 && f[1] == "requests" && f[2] == "in":
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("requests %q: %w", f[0], err)
			}
			d, err := time.ParseDuration(strings.TrimSuffix(f[3], ","))
			if err != nil {
				return nil, fmt.Errorf("elapsed %q: %w", f[3], err)
			}
			total, res.Elapsed = n, d
		case len(f) >= 5 && f[0] == "Non-2xx":
			n, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
			res.Non2xx = n
		case len(f) >= 2 && f[0] == "Socket" && f[1] == "errors:":
			for i := 2; i+1 < len(f); i += 2 {
				n, _ := strconv.ParseInt(strings.TrimSuffix(f[i+1], ","), 10, 64)
				res.ConnErrors += n
			}
			if res.ConnErrors > 0 {
				res.FirstError = strings.Join(f[2:], " ")
			}
		}
	}
	if res.Elapsed == 0 {
		return nil, fmt.Errorf("no request count")
	}
	res.OK = total - res.Non2xx
	for _, p := range []struct {
		name   string
		weight int
	}{{"50%", 50}, {"75%", 25}, {"90%", 15}, {"99%", 9}} {
		d, ok := percentiles[p.name]
		if !ok {
			return nil, fmt.Errorf("no %s latency", p.name)
		}
		for range p.weight {
			res.Latency.Record(d)
		}
	}
	res.Latency.Record(max(maxLatency, percentiles["99%"]))
	return res, nil
}
