// Package clustertest runs real picloud-node processes as a cluster, each
// in a network namespace the test creates, joined by a bridge: the faults
// of SPEC §12 (kill -9, a link down, restarts) on real processes and real
// sockets. Root only; the tests skip otherwise, and in -short mode.
package clustertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/picloud/picloud/shared"
)

const adminToken = "clustertest-admin-token-0123456789abcdef"

func requireNetns(t *testing.T) {
	t.Helper()
	switch {
	case runtime.GOOS != "linux":
		t.Skip("cluster tests need Linux network namespaces")
	case os.Geteuid() != 0:
		t.Skip("cluster tests need root to create network namespaces")
	case testing.Short():
		t.Skip("cluster namespace tests are skipped in -short mode")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("cluster tests need the ip command (iproute2)")
	}
}

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// TestMain removes the node binary built for the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// nodeBinary builds picloud-node once per test binary.
func nodeBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "picloud-cluster-bin")
		if err != nil {
			buildErr = err
			return
		}
		binDir, binPath = dir, filepath.Join(dir, "picloud-node")
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/picloud/picloud/cmd/node")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build picloud-node: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// lan is two bridges in a hub namespace with one namespace per node on
// both: br0 (10.79.0.0/24) carries the cluster's traffic and is what a
// partition cuts; br1 (10.80.0.0/24) is how the test, inside the hub,
// reaches each node's admin API and data plane, cut or not.
type lan struct {
	t      *testing.T
	prefix string
	hub    string
	dialer *nsDialer
	nodes  []*node
}

func newLAN(t *testing.T) *lan {
	requireNetns(t)
	var r [3]byte
	_, _ = rand.Read(r[:])
	l := &lan{t: t, prefix: fmt.Sprintf("pcc%x", r)}
	l.hub = l.netns("hub")
	l.in(l.hub, "ip link set lo up")
	l.in(l.hub, "ip link add br0 type bridge")
	l.in(l.hub, "ip addr add 10.79.0.1/24 dev br0")
	l.in(l.hub, "ip link set br0 up")
	l.in(l.hub, "ip link add br1 type bridge")
	l.in(l.hub, "ip addr add 10.80.0.1/24 dev br1")
	l.in(l.hub, "ip link set br1 up")
	d, err := newNSDialer("/run/netns/" + l.hub)
	if err != nil {
		t.Fatalf("dial from the hub namespace: %v", err)
	}
	l.dialer = d
	t.Cleanup(d.close)
	return l
}

func (l *lan) netns(role string) string {
	name := l.prefix + "-" + role
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		l.t.Skipf("cannot create a network namespace (%v: %s)", err, bytes.TrimSpace(out))
	}
	l.t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			l.t.Errorf("delete namespace %s: %v: %s", name, err, out)
		}
	})
	return name
}

func (l *lan) in(ns, cmd string) {
	l.t.Helper()
	args := append([]string{"netns", "exec", ns}, strings.Fields(cmd)...)
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip netns exec %s %s: %v: %s", ns, cmd, err, out)
	}
}

// node is one picloud-node process in its own namespace.
type node struct {
	l       *lan
	n       int // 10.79.0.(10+n)
	ns, ip  string
	ctlIP   string // on br1, for the test's requests
	port    string // veth end on br0: down is a partition
	dataDir string
	cmd     *exec.Cmd
	done    chan struct{}
	stderr  *syncBuffer
	id      string
	c       *shared.Client
}

func (nd *node) admin() string   { return "http://" + net.JoinHostPort(nd.ctlIP, "7070") }
func (nd *node) dataURL() string { return "http://" + net.JoinHostPort(nd.ctlIP, "8080") }
func (nd *node) clusterAddr() string {
	return net.JoinHostPort(nd.ip, "7071")
}

// addNode starts a node on the LAN.
func (l *lan) addNode() *node {
	l.t.Helper()
	i := len(l.nodes) + 1
	nd := &node{l: l, n: i, ip: fmt.Sprintf("10.79.0.%d", 10+i), ctlIP: fmt.Sprintf("10.80.0.%d", 10+i),
		port: fmt.Sprintf("v%d", i), dataDir: l.t.TempDir()}
	nd.ns = l.netns(fmt.Sprintf("n%d", i))
	l.in(l.hub, fmt.Sprintf("ip link add %s type veth peer name eth0 netns %s", nd.port, nd.ns))
	l.in(l.hub, fmt.Sprintf("ip link set %s master br0 up", nd.port))
	l.in(nd.ns, "ip link set lo up")
	l.in(nd.ns, fmt.Sprintf("ip addr add %s/24 dev eth0", nd.ip))
	l.in(nd.ns, "ip link set eth0 up")
	l.in(l.hub, fmt.Sprintf("ip link add c%d type veth peer name eth1 netns %s", i, nd.ns))
	l.in(l.hub, fmt.Sprintf("ip link set c%d master br1 up", i))
	l.in(nd.ns, fmt.Sprintf("ip addr add %s/24 dev eth1", nd.ctlIP))
	l.in(nd.ns, "ip link set eth1 up")
	nd.c = shared.NewClient(nd.admin(), adminToken, shared.WithHTTPClient(l.httpClient()), shared.WithTimeout(3*time.Minute))
	l.nodes = append(l.nodes, nd)
	nd.start()
	return nd
}

func (l *lan) httpClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: l.dialer.DialContext, DisableKeepAlives: true}}
}

// start runs the node process (again, after a kill) and waits for /healthz.
func (nd *node) start() {
	t := nd.l.t
	t.Helper()
	nd.stderr = &syncBuffer{}
	cmd := exec.Command("ip", "netns", "exec", nd.ns, nodeBinary(t))
	cmd.Env = append(os.Environ(),
		"PICLOUD_DATA="+nd.dataDir, "PICLOUD_ADMIN_TLS=off", "PICLOUD_MDNS=off",
		"PICLOUD_ADMIN_TOKEN="+adminToken, "PICLOUD_NODE_NAME="+fmt.Sprintf("pi%d", nd.n),
		"PICLOUD_BIND=:8080", "PICLOUD_ADMIN_BIND=:7070",
		"PICLOUD_CLUSTER_BIND="+nd.clusterAddr())
	cmd.Stdout, cmd.Stderr = io.Discard, nd.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node %d: %v", nd.n, err)
	}
	nd.cmd, nd.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(nd.done) }()
	t.Cleanup(nd.kill)
	deadline := time.Now().Add(60 * time.Second)
	for {
		v, err := nd.c.Version(context.Background())
		if err == nil {
			nd.id = v.NodeID
			return
		}
		select {
		case <-nd.done:
			t.Fatalf("node %d exited at start: %s", nd.n, nd.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %d did not answer in 60 s: %v\n%s", nd.n, err, nd.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kill is kill -9 of the node's process group; harmless when it is gone.
func (nd *node) kill() {
	if nd.cmd == nil || nd.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-nd.cmd.Process.Pid, syscall.SIGKILL)
	<-nd.done
}

// stop is a graceful stop (SIGTERM), waiting for the process to exit.
func (nd *node) stop() {
	_ = syscall.Kill(-nd.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-nd.done:
	case <-time.After(60 * time.Second):
		nd.kill()
	}
}

// linkDown cuts the node off the LAN (its veth on the bridge); linkUp heals.
func (nd *node) linkDown() { nd.l.in(nd.l.hub, "ip link set "+nd.port+" down") }
func (nd *node) linkUp()   { nd.l.in(nd.l.hub, "ip link set "+nd.port+" up") }

// join adds nd to the cluster through member, as a user would.
func (l *lan) join(member, nd *node) {
	l.t.Helper()
	ctx := context.Background()
	tok, err := nd.c.NewJoinToken(ctx)
	if err != nil {
		l.t.Fatalf("join token on node %d: %v", nd.n, err)
	}
	if _, err := member.c.AddMember(ctx, shared.AddMemberRequest{NodeID: nd.id, Address: nd.clusterAddr(), JoinToken: tok.JoinToken}); err != nil {
		l.t.Fatalf("add node %d through node %d: %v\nmember log:\n%s\njoiner log:\n%s", nd.n, member.n, err, member.stderr, nd.stderr)
	}
}

// get is a data-plane request to nd with a Host header.
func (nd *node) get(host, path string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, nd.dataURL()+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = host
	hc := nd.l.httpClient()
	hc.Timeout = 10 * time.Second
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// nsDialer opens TCP connections from inside a network namespace: each
// dial runs on an OS thread switched into it (a socket keeps the namespace
// it was made in), and the thread is thrown away after: its goroutine ends
// locked to it.
type nsDialer struct{ path string }

func newNSDialer(path string) (*nsDialer, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	return &nsDialer{path: path}, nil
}

type dialRes struct {
	c   net.Conn
	err error
}

func (d *nsDialer) DialContext(ctx context.Context, _, addr string) (net.Conn, error) {
	out := make(chan dialRes, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: see nsDialer
		fd, err := unix.Open(d.path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			out <- dialRes{nil, err}
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			out <- dialRes{nil, err}
			return
		}
		nd := net.Dialer{Timeout: 5 * time.Second}
		c, err := nd.DialContext(ctx, "tcp", addr)
		out <- dialRes{c, err}
	}()
	r := <-out
	return r.c, r.err
}

func (d *nsDialer) close() {}
