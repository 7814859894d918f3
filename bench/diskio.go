package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// WriteBytes is what a live process has caused to be written to storage:
// write_bytes less cancelled_write_bytes of /proc/PID/io (dirty pages
// dropped before they reached the disk, as a truncated WAL's, never wear
// it). An SD card wears by these bytes.
func WriteBytes(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, fmt.Errorf("read I/O counters of pid %d: %w", pid, err)
	}
	var written, cancelled int64
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "write_bytes":
			written = n
		case "cancelled_write_bytes":
			cancelled = n
		}
	}
	return written - cancelled, nil
}

// DiskWrites is what one paced hello-world load cost in bytes written.
type DiskWrites struct {
	Rate     float64 // requests per second asked for; 0 is as fast as possible
	Requests int64   // answered
	Bytes    int64   // written while serving them and writing their logs
}

// PerRequest is the bytes written per answered request.
func (d DiskWrites) PerRequest() float64 {
	if d.Requests == 0 {
		return 0
	}
	return float64(d.Bytes) / float64(d.Requests)
}

func (d DiskWrites) String() string {
	rate := "full load"
	if d.Rate > 0 {
		rate = fmt.Sprintf("%g req/s", d.Rate)
	}
	return fmt.Sprintf("%-10s %7d requests %10d bytes written %8.0f bytes/request", rate, d.Requests, d.Bytes, d.PerRequest())
}

// logFlushWait covers the log writer's longest wait before it writes what
// it holds (orchestrator.flushInterval) and the write itself.
const logFlushWait = 3 * time.Second

// MeasureDiskWrites starts a node on a fresh data directory under dir,
// lets it settle, sends hello-world requests at rate (0: as fast as 8
// connections go) for d and measures the bytes the node writes from just
// before the load until its logs are written.
func MeasureDiskWrites(ctx context.Context, bin, dir string, rate float64, d time.Duration) (DiskWrites, error) {
	data, err := os.MkdirTemp(dir, "diskio-")
	if err != nil {
		return DiskWrites{}, err
	}
	defer os.RemoveAll(data)
	n, err := StartNode(ctx, bin, data)
	if err != nil {
		return DiskWrites{}, err
	}
	defer n.Stop(30 * time.Second)
	// First start writes the database, the certificate and the seed; a
	// few requests warm the node, and their logs are written before the
	// count starts.
	warm := Load{Addr: n.Addr, Host: "localhost", Requests: 20, Expect: []byte(HelloBody)}
	if _, err := warm.Run(ctx); err != nil {
		return DiskWrites{}, err
	}
	time.Sleep(logFlushWait)
	before, err := WriteBytes(n.PID())
	if err != nil {
		return DiskWrites{}, err
	}
	l := Load{Addr: n.Addr, Host: "localhost", Duration: d, Rate: rate, Concurrency: 1, Expect: []byte(HelloBody)}
	if rate <= 0 {
		l.Concurrency = 8
	}
	res, err := l.Run(ctx)
	if err != nil {
		return DiskWrites{}, err
	}
	if res.Errors() > 0 {
		return DiskWrites{}, fmt.Errorf("%d requests failed: %s", res.Errors(), res.FirstError)
	}
	time.Sleep(logFlushWait)
	after, err := WriteBytes(n.PID())
	if err != nil {
		return DiskWrites{}, err
	}
	return DiskWrites{Rate: rate, Requests: res.OK, Bytes: after - before}, nil
}
