package discovery_test

// Discovery tests never touch the machine's own network: every announcer
// and browser runs as a child process of the test binary inside a network
// namespace the test creates (`ip netns exec`), so all its goroutines and
// sockets live there. The namespaces form one LAN: a bridge in the
// browser's namespace with one veth per node.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	announce "github.com/picloud/picloud/node/discovery"
	"github.com/picloud/picloud/shared"
	"github.com/picloud/picloud/shared/discovery"
)

const helperEnv = "PICLOUD_DISCOVERY_HELPER"

// TestHelperProcess is not a test: the namespace tests run the test binary
// again with helperEnv set, inside a namespace, to announce or browse.
func TestHelperProcess(t *testing.T) {
	role := os.Getenv(helperEnv)
	if role == "" {
		t.Skip("helper process for the namespace tests")
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { // the parent closes stdin to stop us (or dies)
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("role", role)
	atoi := func(k string) int { n, _ := strconv.Atoi(os.Getenv(k)); return n }
	switch role {
	case "announce":
		info := announce.Info{
			Name:      os.Getenv("H_NAME"),
			NodeID:    os.Getenv("H_ID"),
			Version:   os.Getenv("H_VERSION"),
			Schema:    atoi("H_SCHEMA"),
			AdminTLS:  os.Getenv("H_ADMIN") == "https",
			AdminPort: atoi("H_PORT"),
			DataPort:  atoi("H_DATA"),
		}
		announce.New(info, announce.Options{Logger: log, Recheck: 300 * time.Millisecond}).Run(ctx)
	case "browse":
		b := discovery.NewBrowser(discovery.Config{
			Interval: 500 * time.Millisecond, QueryTimeout: 400 * time.Millisecond,
			TTL: 2 * time.Second, DisableIPv6: os.Getenv("H_IPV6") != "on", Logger: log,
		})
		go func() { _ = b.Run(ctx) }()
		out := json.NewEncoder(os.Stdout)
		for {
			fmt.Print("SNAPSHOT ")
			_ = out.Encode(b.Nodes())
			select {
			case <-ctx.Done():
				os.Exit(0)
			case <-b.Changes():
			}
		}
	case "discover":
		os.Exit(discovery.Discover(ctx, strings.Fields(os.Getenv("H_ARGS")), os.Getenv, os.Stdout, os.Stderr))
	}
	os.Exit(0)
}

// lan is a set of network namespaces joined by a bridge in the browser's
// namespace, 10.77.0.0/24 and fd77::/64.
type lan struct {
	t      *testing.T
	prefix string
	hub    string // the browser's namespace, with the bridge
	hosts  int
}

func requireNetns(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("discovery tests need Linux network namespaces")
	}
	if os.Geteuid() != 0 {
		t.Skip("discovery tests need root to create network namespaces (mDNS never runs on the real network)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("discovery tests need the ip command (iproute2) to create network namespaces")
	}
	if testing.Short() {
		t.Skip("discovery namespace tests skipped in -short mode")
	}
}

func newLAN(t *testing.T) *lan {
	requireNetns(t)
	var r [3]byte
	_, _ = rand.Read(r[:])
	l := &lan{t: t, prefix: fmt.Sprintf("pcd%x", r)}
	l.hub = l.netns("hub")
	l.in(l.hub, "ip link set lo up")
	l.in(l.hub, "ip link add br0 type bridge")
	l.in(l.hub, "ip addr add 10.77.0.1/24 dev br0")
	l.in(l.hub, "ip addr add fd77::1/64 dev br0 nodad")
	l.in(l.hub, "ip link set br0 up")
	// No route for 224.0.0.0/4 anywhere, on purpose: responders and
	// queries name their interface and must not depend on a default route.
	return l
}

// netns creates a namespace that is deleted when the test ends; it skips
// the test when namespaces cannot be created here (e.g. in a container).
func (l *lan) netns(role string) string {
	name := l.prefix + "-" + role
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		l.t.Skipf("cannot create a network namespace (%v: %s); discovery tests need CAP_SYS_ADMIN", err, bytes.TrimSpace(out))
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

// host adds a namespace on the LAN with eth0 at 10.77.0.N and fd77::N. With
// up false, eth0 stays down and without addresses (Wi-Fi not joined yet);
// call bringUp later.
func (l *lan) host(name string, up bool) (ns string, v4 netip.Addr) {
	l.hosts++
	n := 10 + l.hosts
	ns = l.netns(name)
	port := fmt.Sprintf("v%d", l.hosts)
	l.in(l.hub, fmt.Sprintf("ip link add %s type veth peer name eth0 netns %s", port, ns))
	l.in(l.hub, fmt.Sprintf("ip link set %s master br0 up", port))
	l.in(ns, "ip link set lo up")
	if up {
		l.bringUp(ns, n)
	}
	return ns, netip.MustParseAddr(fmt.Sprintf("10.77.0.%d", n))
}

func (l *lan) bringUp(ns string, n int) {
	l.bringUpV6(ns, n)
	l.in(ns, fmt.Sprintf("ip addr add 10.77.0.%d/24 dev eth0", n))
}

// bringUpV6 gives eth0 only IPv6 addresses (and the link-local one).
func (l *lan) bringUpV6(ns string, n int) {
	l.in(ns, fmt.Sprintf("ip addr add fd77::%d/64 dev eth0 nodad", n))
	l.in(ns, "ip link set eth0 up")
}

// helper is a child process of the test binary running in a namespace.
type helper struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *syncBuffer
	done   chan struct{}

	mu    sync.Mutex
	last  []discovery.Node
	lines []string
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

func (l *lan) start(ns, role string, env ...string) *helper {
	l.t.Helper()
	exe, err := os.Executable()
	if err != nil {
		l.t.Fatal(err)
	}
	return l.startCmd(ns, role, []string{exe, "-test.run=^TestHelperProcess$", "-test.count=1"},
		append([]string{helperEnv + "=" + role}, env...)...)
}

// startCmd runs argv in namespace ns, in a process group of its own so
// that everything it starts is killed with it.
func (l *lan) startCmd(ns, role string, argv []string, env ...string) *helper {
	l.t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, argv...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	h := &helper{cmd: cmd, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = h.stderr
	var err error
	if h.stdin, err = cmd.StdinPipe(); err != nil {
		l.t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		l.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	go func() {
		defer close(h.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			h.mu.Lock()
			if js, ok := strings.CutPrefix(line, "SNAPSHOT "); ok {
				var nodes []discovery.Node
				if err := json.Unmarshal([]byte(js), &nodes); err == nil {
					h.last = nodes
				}
			} else {
				h.lines = append(h.lines, line)
			}
			h.mu.Unlock()
		}
		_ = cmd.Wait()
	}()
	l.t.Cleanup(func() {
		h.stop(l.t)
		if l.t.Failed() {
			l.t.Logf("%s in %s logged:\n%s", role, ns, h.stderr.String())
		}
	})
	return h
}

// stop closes the helper's stdin, which makes it shut down cleanly.
func (h *helper) stop(t *testing.T) {
	_ = h.stdin.Close()
	select {
	case <-h.done:
		if code := h.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("helper exited with status %d (a data race, a panic?):\n%s", code, h.stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Errorf("helper did not stop; killing it")
		_ = syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
		<-h.done
	}
	// Whatever it left behind dies too: a namespace being deleted does
	// not end the processes in it.
	_ = syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
}

// waitLog waits for a line of the helper's log containing all of parts.
func (h *helper) waitLog(t *testing.T, parts ...string) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		for _, line := range strings.Split(h.stderr.String(), "\n") {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(line, p)
			}
			if ok {
				return
			}
		}
		if time.Now().After(end) {
			t.Fatalf("no log line with %q; log:\n%s", parts, h.stderr.String())
		}
	}
}

func (h *helper) nodes() []discovery.Node {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}

// waitFor polls the browser's snapshots until cond holds or the time is up.
func (h *helper) waitFor(t *testing.T, within time.Duration, what string, cond func([]discovery.Node) bool) []discovery.Node {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		nodes := h.nodes()
		if cond(nodes) {
			return nodes
		}
		if time.Now().After(deadline) {
			t.Fatalf("browser never saw %s within %v; last snapshot: %+v", what, within, nodes)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func byID(nodes []discovery.Node, id string) (discovery.Node, bool) {
	for _, n := range nodes {
		if n.ID == id {
			return n, true
		}
	}
	return discovery.Node{}, false
}

func randomNodeID(t *testing.T) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return shared.NodeIDFromSPKI(b)
}

type fakeNode struct {
	name, id, version, admin string
	schema, port, data       int
}

func (n fakeNode) env() []string {
	return []string{
		"H_NAME=" + n.name, "H_ID=" + n.id, "H_VERSION=" + n.version, "H_ADMIN=" + n.admin,
		"H_SCHEMA=" + strconv.Itoa(n.schema), "H_PORT=" + strconv.Itoa(n.port), "H_DATA=" + strconv.Itoa(n.data),
	}
}

func (n fakeNode) check(t *testing.T, got discovery.Node, v4 netip.Addr, v6 netip.Addr) {
	t.Helper()
	if got.Name != n.name || got.Version != n.version || got.Admin != n.admin || got.Schema != n.schema ||
		got.Port != n.port || got.DataPort != n.data || !got.Discovered {
		t.Errorf("node %s seen as %+v, want %+v", n.id, got, n)
	}
	if !slices.Contains(got.Addrs, v4) {
		t.Errorf("node %s addresses %v lack its IPv4 address %v", n.name, got.Addrs, v4)
	}
	if v6.IsValid() && !slices.Contains(got.Addrs, v6) {
		t.Errorf("node %s addresses %v lack its IPv6 address %v", n.name, got.Addrs, v6)
	}
	want := "https"
	if n.admin == "http" {
		want = "http"
	}
	if u := got.AdminURL(); !strings.HasPrefix(u, want+"://") || !strings.HasSuffix(u, ":"+strconv.Itoa(n.port)) {
		t.Errorf("node %s admin URL %q", n.name, u)
	}
}

func TestTwoNodesFoundAndStoppedOneExpires(t *testing.T) {
	l := newLAN(t)
	a := fakeNode{name: "kitchen pi.2", id: randomNodeID(t), version: "1.2.3", admin: "https", schema: 4, port: 7070, data: 8080}
	b := fakeNode{name: "Küche (Pi 5)", id: randomNodeID(t), version: "1.3.0-dev", admin: "http", schema: 5, port: 7443, data: 80}
	nsA, v4A := l.host("a", true)
	nsB, v4B := l.host("b", true)
	l.start(nsA, "announce", a.env()...)
	nodeB := l.start(nsB, "announce", b.env()...)
	browser := l.start(l.hub, "browse")

	nodes := browser.waitFor(t, 20*time.Second, "both nodes", func(ns []discovery.Node) bool {
		_, okA := byID(ns, a.id)
		_, okB := byID(ns, b.id)
		return okA && okB
	})
	if len(nodes) != 2 {
		t.Errorf("browser lists %d nodes, want 2: %+v", len(nodes), nodes)
	}
	gotA, _ := byID(nodes, a.id)
	gotB, _ := byID(nodes, b.id)
	a.check(t, gotA, v4A, netip.MustParseAddr("fd77::11"))
	b.check(t, gotB, v4B, netip.MustParseAddr("fd77::12"))

	nodeB.stop(t)
	nodes = browser.waitFor(t, 20*time.Second, "node b expire", func(ns []discovery.Node) bool {
		_, okB := byID(ns, b.id)
		return !okB
	})
	if _, ok := byID(nodes, a.id); !ok {
		t.Errorf("node a vanished together with the stopped node b: %+v", nodes)
	}
}

func TestInterfaceThatComesUpLater(t *testing.T) {
	l := newLAN(t)
	a := fakeNode{name: "late-wifi", id: randomNodeID(t), version: "1.0.0", admin: "https", schema: 1, port: 7070, data: 8080}
	ns, v4 := l.host("late", false)
	l.start(ns, "announce", a.env()...)
	browser := l.start(l.hub, "browse")

	time.Sleep(time.Second) // the announcer has looked at least once and found nothing usable
	if n, ok := byID(browser.nodes(), a.id); ok {
		t.Fatalf("node seen before it had a network: %+v", n)
	}
	l.bringUp(ns, 11)
	nodes := browser.waitFor(t, 20*time.Second, "the node once its interface came up", func(ns []discovery.Node) bool {
		_, ok := byID(ns, a.id)
		return ok
	})
	got, _ := byID(nodes, a.id)
	a.check(t, got, v4, netip.Addr{})
}

func TestDiscoverCommand(t *testing.T) {
	l := newLAN(t)
	a := fakeNode{name: "scan-me", id: randomNodeID(t), version: "2.0.0", admin: "https", schema: 3, port: 7070, data: 8080}
	ns, _ := l.host("a", true)
	l.start(ns, "announce", a.env()...)

	run := func(args string) string {
		h := l.start(l.hub, "discover", "H_ARGS="+args)
		select {
		case <-h.done:
		case <-time.After(30 * time.Second):
			t.Fatal("discover did not finish")
		}
		if code := h.cmd.ProcessState.ExitCode(); code != 0 {
			t.Fatalf("discover %s exited %d:\n%s", args, code, h.stderr.String())
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		return strings.Join(h.lines, "\n")
	}

	out := run("--wait 2s")
	for _, want := range []string{"NAME", "scan-me", a.id, "https://10.77.0.11:7070", "10.77.0.11", "fd77::11", "2.0.0"} {
		if !strings.Contains(out, want) {
			t.Errorf("discover output lacks %q:\n%s", want, out)
		}
	}

	var nodes []discovery.Node
	out = run("--wait 1s --json")
	if err := json.Unmarshal([]byte(out), &nodes); err != nil {
		t.Fatalf("discover --json printed %q: %v", out, err)
	}
	if len(nodes) != 1 || nodes[0].ID != a.id || nodes[0].Name != a.name || nodes[0].DataPort != a.data {
		t.Errorf("discover --json = %+v", nodes)
	}
}

func TestIPv6OnlyNode(t *testing.T) {
	l := newLAN(t)
	a := fakeNode{name: "v6-only", id: randomNodeID(t), version: "1.0.0", admin: "https", schema: 1, port: 7070, data: 8080}
	ns, _ := l.host("v6", false)
	l.bringUpV6(ns, 11)
	l.start(ns, "announce", a.env()...)
	browser := l.start(l.hub, "browse", "H_IPV6=on")
	nodes := browser.waitFor(t, 20*time.Second, "the IPv6-only node", func(ns []discovery.Node) bool {
		_, ok := byID(ns, a.id)
		return ok
	})
	got, _ := byID(nodes, a.id)
	if !slices.Contains(got.Addrs, netip.MustParseAddr("fd77::11")) {
		t.Errorf("IPv6-only node addresses %v lack fd77::11", got.Addrs)
	}
	for _, ip := range got.Addrs {
		if ip.Is4() {
			t.Errorf("IPv6-only node listed with IPv4 address %v", ip)
		}
	}
	t.Logf("admin addresses: %v", got.AdminAddrs())
}

// Raspberry Pi OS names every Pi "raspberrypi", and the node name defaults
// to the host name: two nodes with one name are still two nodes.
func TestTwoNodesWithTheSameName(t *testing.T) {
	l := newLAN(t)
	a := fakeNode{name: "raspberrypi", id: randomNodeID(t), version: "1.0.0", admin: "https", schema: 1, port: 7070, data: 8080}
	b := a
	b.id = randomNodeID(t)
	nsA, v4A := l.host("a", true)
	nsB, v4B := l.host("b", true)
	l.start(nsA, "announce", a.env()...)
	l.start(nsB, "announce", b.env()...)
	browser := l.start(l.hub, "browse")
	nodes := browser.waitFor(t, 20*time.Second, "both nodes named raspberrypi", func(ns []discovery.Node) bool {
		_, okA := byID(ns, a.id)
		_, okB := byID(ns, b.id)
		return okA && okB
	})
	gotA, _ := byID(nodes, a.id)
	gotB, _ := byID(nodes, b.id)
	a.check(t, gotA, v4A, netip.Addr{})
	b.check(t, gotB, v4B, netip.Addr{})

	// Over many rounds neither drops out nor picks up the other's address.
	for end := time.Now().Add(4 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		nodes := browser.nodes()
		gotA, okA := byID(nodes, a.id)
		gotB, okB := byID(nodes, b.id)
		if !okA || !okB {
			t.Fatalf("a node with the shared name dropped out: %+v", nodes)
		}
		if slices.Contains(gotA.Addrs, v4B) || slices.Contains(gotB.Addrs, v4A) {
			t.Fatalf("addresses mixed up between the two nodes: %+v", nodes)
		}
	}
}

// A link that goes down gets its responder closed; when it comes back the
// node is announced there again.
func TestLinkDownAndUpAgain(t *testing.T) {
	l := newLAN(t)
	a := fakeNode{name: "flaky-wifi", id: randomNodeID(t), version: "1.0.0", admin: "https", schema: 1, port: 7070, data: 8080}
	ns, v4 := l.host("a", true)
	node := l.start(ns, "announce", a.env()...)
	browser := l.start(l.hub, "browse")
	present := func(ns []discovery.Node) bool { _, ok := byID(ns, a.id); return ok }
	browser.waitFor(t, 20*time.Second, "the node", present)

	l.in(ns, "ip link set eth0 down")
	node.waitLog(t, `msg="mDNS: stopped announcing"`, "iface=eth0")
	// Loopback is all that is left, so the node falls back to it.
	node.waitLog(t, `msg="mDNS: announcing"`, "iface=lo")
	browser.waitFor(t, 20*time.Second, "the node expire", func(ns []discovery.Node) bool { return !present(ns) })

	l.in(ns, "ip link set eth0 up")
	nodes := browser.waitFor(t, 20*time.Second, "the node again", present)
	node.waitLog(t, `msg="mDNS: stopped announcing"`, "iface=lo")
	got, _ := byID(nodes, a.id)
	a.check(t, got, v4, netip.Addr{})
}

// avahiScript runs a private D-Bus and avahi-daemon in the namespace (with
// its own /run, so nothing of the host's is touched), publishes a
// _picloud._tcp service as a node built on avahi would, and browses with
// avahi-browse until it sees want. It runs until stdin closes.
const avahiScript = `
set -u
mount --make-rprivate / && mount -t tmpfs tmpfs /run || exit 1
mkdir -p /run/dbus /run/avahi-daemon
dbus-daemon --system --nofork --nopidfile & dbus=$!
for i in $(seq 50); do [ -S /run/dbus/system_bus_socket ] && break; sleep 0.1; done
avahi-daemon --no-chroot --no-drop-root --no-rlimits & avahi=$!
for i in $(seq 50); do avahi-browse -at >/dev/null 2>&1 && break; sleep 0.1; done
avahi-publish -s "$PUB_NAME" _picloud._tcp 7071 txtvers=1 "id=$PUB_ID" v=9.9.9 schema=7 admin=http data=81 & pub=$!
for i in $(seq 60); do
	out=$(avahi-browse -rtp _picloud._tcp 2>&1)
	case "$out" in *"id=$WANT_ID"*) break;; esac
	sleep 0.5
done
printf '%s\n' "$out" | sed 's/^/BROWSE /'
read -r _
kill $pub $avahi $dbus
wait
`

// Interop with a real DNS-SD stack: avahi (Debian's avahi-daemon and
// avahi-utils) sees our announcement, and our browser sees a service
// avahi publishes.
func TestAvahiInterop(t *testing.T) {
	requireNetns(t)
	for _, bin := range []string{"avahi-daemon", "avahi-browse", "avahi-publish", "dbus-daemon", "unshare"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("avahi interop test needs %s (apt-get install avahi-daemon avahi-utils)", bin)
		}
	}
	l := newLAN(t)
	ours := fakeNode{name: "Pi 4.kitchen", id: randomNodeID(t), version: "1.2.3", admin: "https", schema: 4, port: 7070, data: 8080}
	theirs := fakeNode{name: "Avahi Pi", id: randomNodeID(t), version: "9.9.9", admin: "http", schema: 7, port: 7071, data: 81}
	nsOurs, v4Ours := l.host("ours", true)
	nsAvahi, v4Avahi := l.host("avahi", true)
	l.start(nsOurs, "announce", ours.env()...)
	browser := l.start(l.hub, "browse")
	avahi := l.startCmd(nsAvahi, "avahi", []string{"unshare", "-m", "sh", "-c", avahiScript},
		"PUB_NAME="+theirs.name, "PUB_ID="+theirs.id, "WANT_ID="+ours.id)

	nodes := browser.waitFor(t, 30*time.Second, "the service avahi publishes", func(ns []discovery.Node) bool {
		_, ok := byID(ns, theirs.id)
		return ok
	})
	got, _ := byID(nodes, theirs.id)
	theirs.check(t, got, v4Avahi, netip.Addr{})

	// avahi-browse -p: =;iface;proto;name;type;domain;host;address;port;txt
	var seen bool
	for end := time.Now().Add(60 * time.Second); !seen && time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		avahi.mu.Lock()
		for _, line := range avahi.lines {
			f := strings.SplitN(strings.TrimPrefix(line, "BROWSE "), ";", 10)
			// Avahi learns over IPv4 or IPv6, whichever answers first.
			if len(f) < 10 || f[0] != "=" || !strings.Contains(f[9], `"id=`+ours.id+`"`) {
				continue
			}
			seen = true
			if f[3] != `Pi\0324\.kitchen` || (f[7] != v4Ours.String() && f[7] != "fd77::11") || f[8] != "7070" {
				t.Errorf("avahi-browse resolved our node as %q", line)
			}
			for _, kv := range []string{"txtvers=1", "v=1.2.3", "schema=4", "admin=https", "data=8080"} {
				if !strings.Contains(f[9], `"`+kv+`"`) {
					t.Errorf("avahi-browse TXT %s lacks %s", f[9], kv)
				}
			}
		}
		avahi.mu.Unlock()
	}
	if !seen {
		avahi.mu.Lock()
		t.Errorf("avahi-browse never resolved our node; it printed:\n%s", strings.Join(avahi.lines, "\n"))
		avahi.mu.Unlock()
	}
}

// Wi-Fi often gets its IPv6 link-local address first and its DHCP IPv4
// address seconds later: the responder must then answer IPv4 queries too.
func TestIPv4AddressArrivesAfterIPv6(t *testing.T) {
	l := newLAN(t)
	a := fakeNode{name: "slow-dhcp", id: randomNodeID(t), version: "1.0.0", admin: "https", schema: 1, port: 7070, data: 8080}
	ns, v4 := l.host("a", false)
	l.bringUpV6(ns, 11)
	node := l.start(ns, "announce", a.env()...)
	browser := l.start(l.hub, "browse") // IPv4 queries only
	node.waitLog(t, `msg="mDNS: announcing"`, "iface=eth0")
	time.Sleep(time.Second)
	if n, ok := byID(browser.nodes(), a.id); ok {
		t.Fatalf("IPv4-only browser saw a node without IPv4: %+v", n)
	}
	l.in(ns, "ip addr add 10.77.0.11/24 dev eth0")
	nodes := browser.waitFor(t, 20*time.Second, "the node once it has IPv4", func(ns []discovery.Node) bool {
		_, ok := byID(ns, a.id)
		return ok
	})
	got, _ := byID(nodes, a.id)
	a.check(t, got, v4, netip.MustParseAddr("fd77::11"))
}

// A Pi running LXC has lxcbr0 (10.0.3.1) up beside eth0 (Docker's
// docker0 alike). Its responders hear every query whichever link it came
// in on, so the console hears about 10.0.3.1 too; the address it uses
// first must be the one the answer came from, which is reachable.
func TestMultiHomedNodeIsReachedOnTheRightAddress(t *testing.T) {
	l := newLAN(t)
	a := fakeNode{name: "lxc-pi", id: randomNodeID(t), version: "1.0.0", admin: "https", schema: 1, port: 7070, data: 8080}
	ns, v4 := l.host("a", true)
	l.in(ns, "ip link add lxcbr0 type bridge")
	l.in(ns, "ip addr add 10.0.3.1/24 dev lxcbr0")
	l.in(ns, "ip link set lxcbr0 up")
	node := l.start(ns, "announce", a.env()...)
	browser := l.start(l.hub, "browse")
	node.waitLog(t, `msg="mDNS: announcing"`, "iface=lxcbr0")

	// Several rounds, so answers from both responders have come in.
	browser.waitFor(t, 20*time.Second, "the node", func(ns []discovery.Node) bool { _, ok := byID(ns, a.id); return ok })
	time.Sleep(2 * time.Second)
	got, ok := byID(browser.nodes(), a.id)
	if !ok {
		t.Fatal("node gone")
	}
	if len(got.Addrs) == 0 || got.Addrs[0] != v4 {
		t.Errorf("addresses %v: the first must be %v, where the node answered from", got.Addrs, v4)
	}
	if want := "https://" + v4.String() + ":7070"; got.AdminURL() != want {
		t.Errorf("AdminURL = %q, want %q", got.AdminURL(), want)
	}
}

// Raspberry Pi OS runs avahi-daemon: the node's responder shares port 5353
// with it, whichever starts first, and consoles see both.
func TestNodeBesideAvahiDaemon(t *testing.T) {
	requireNetns(t)
	for _, bin := range []string{"avahi-daemon", "avahi-browse", "avahi-publish", "dbus-daemon", "unshare"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("avahi test needs %s (apt-get install avahi-daemon avahi-utils)", bin)
		}
	}
	for _, avahiFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("avahi first %v", avahiFirst), func(t *testing.T) {
			l := newLAN(t)
			ours := fakeNode{name: "pi", id: randomNodeID(t), version: "1.2.3", admin: "https", schema: 4, port: 7070, data: 8080}
			theirs := fakeNode{name: "printer", id: randomNodeID(t), version: "9.9.9", admin: "http", schema: 7, port: 7071, data: 81}
			ns, v4 := l.host("pi", true)
			startAvahi := func() {
				avahi := l.startCmd(ns, "avahi", []string{"unshare", "-m", "sh", "-c", avahiScript},
					"PUB_NAME="+theirs.name, "PUB_ID="+theirs.id, "WANT_ID="+theirs.id)
				avahi.waitLog(t, "Server startup complete")
			}
			if avahiFirst {
				startAvahi()
			}
			node := l.start(ns, "announce", ours.env()...)
			node.waitLog(t, `msg="mDNS: announcing"`, "iface=eth0")
			if !avahiFirst {
				startAvahi()
			}
			browser := l.start(l.hub, "browse")
			nodes := browser.waitFor(t, 30*time.Second, "our node and avahi's service", func(ns []discovery.Node) bool {
				_, okOurs := byID(ns, ours.id)
				_, okTheirs := byID(ns, theirs.id)
				return okOurs && okTheirs
			})
			got, _ := byID(nodes, ours.id)
			ours.check(t, got, v4, netip.Addr{})
		})
	}
}
