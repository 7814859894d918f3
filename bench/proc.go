package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Mem is a process's resident memory from /proc/PID/status.
type Mem struct {
	RSS  int64 // VmRSS, bytes
	Peak int64 // VmHWM (peak RSS since start), bytes
}

// ReadMem reads the resident and peak resident memory of a live process.
func ReadMem(pid int) (Mem, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Mem{}, fmt.Errorf("read memory of pid %d: %w", pid, err)
	}
	var m Mem
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch k {
		case "VmRSS":
			dst = &m.RSS
		case "VmHWM":
			dst = &m.Peak
		default:
			continue
		}
		f := strings.Fields(v) // "12345 kB"
		if len(f) != 2 || f[1] != "kB" {
			return Mem{}, fmt.Errorf("pid %d: unexpected %s line %q", pid, k, v)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return Mem{}, fmt.Errorf("pid %d: %s: %w", pid, k, err)
		}
		*dst = n << 10
	}
	if m.RSS == 0 {
		return Mem{}, fmt.Errorf("pid %d: no VmRSS in /proc status", pid)
	}
	return m, nil
}

// MB formats a byte count in MiB.
func MB(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }

// FreePort returns a loopback address with a port that was free a moment
// ago. Another process may take it before we bind it; on loopback in a test
// run that is rare enough.
func FreePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// errExitedEarly is returned by WaitReady for a process that ended before
// it answered.
var errExitedEarly = errors.New("exited before it was ready")

// Proc is a server under test running as its own process.
type Proc struct {
	Name string
	Addr string // data address, host:port
	cmd  *exec.Cmd
	out  *tailBuffer
	done chan struct{}
	err  error // exit status, valid after done
}

// Start starts cmd, capturing its output (the last 64 KiB, shown when
// something goes wrong).
func Start(name, addr string, cmd *exec.Cmd) (*Proc, error) {
	p := &Proc{Name: name, Addr: addr, cmd: cmd, out: &tailBuffer{max: 64 << 10}, done: make(chan struct{})}
	cmd.Stdout = p.out
	cmd.Stderr = p.out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// PID is the process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Mem reads the process's memory.
func (p *Proc) Mem() (Mem, error) { return ReadMem(p.PID()) }

// Output is the tail of what the process printed.
func (p *Proc) Output() string { return p.out.String() }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// WaitReady polls GET url until it answers (any status) or the process
// exits or timeout passes.
func (p *Proc) WaitReady(ctx context.Context, url, host string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := &http.Client{Timeout: time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if host != "" {
			req.Host = host
		}
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s %w (%v):\n%s", p.Name, errExitedEarly, p.err, p.Output())
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s after %v: %v\n%s", p.Name, url, timeout, err, p.Output())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop asks the process to shut down (SIGTERM) and waits for it, killing it
// after grace. It returns the exit error of a process that did not exit 0.
func (p *Proc) Stop(grace time.Duration) error {
	if p.Exited() {
		return nil
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.exitErr()
	case <-time.After(grace):
		p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %v of SIGTERM; killed", p.Name, grace)
	}
}

func (p *Proc) exitErr() error {
	if p.err != nil {
		return fmt.Errorf("%s: %w\n%s", p.Name, p.err, p.Output())
	}
	return nil
}

// Kill ends the process with SIGKILL, the crash this package tests, and
// waits until it is gone.
func (p *Proc) Kill() {
	if p.Exited() {
		return
	}
	p.cmd.Process.Kill()
	<-p.done
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// clockTick is the unit of utime and stime in /proc/PID/stat (USER_HZ),
// 100 on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// ReadCPU returns the CPU time (user + system, all threads) a process has
// used so far. Divided by the requests served in between, it gives the
// CPU cost of a request, which unlike req/s does not depend on what else
// the machine is doing.
func ReadCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read CPU time of pid %d: %w", pid, err)
	}
	// The command name (field 2) may hold spaces; fields after it are plain.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("pid %d: malformed stat %q", pid, b)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("pid %d: malformed stat %q", pid, b)
	}
	var ticks int64
	for _, s := range f[11:13] { // utime, stime: fields 14 and 15
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("pid %d: stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// CPU reads the process's CPU time.
func (p *Proc) CPU() (time.Duration, error) { return ReadCPU(p.PID()) }
