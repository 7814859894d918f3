package server_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/picloud/picloud/shared"
)

// The tests in this file run the real picloud-node binary, built once.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func nodeBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "picloud-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "picloud-node")
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

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type proc struct {
	cmd    *exec.Cmd
	stderr *safeBuffer
	data   string
	admin  string
	done   chan error
}

type safeBuffer struct {
	mu    sync.Mutex
	b     strings.Builder
	lines chan string
}

func (s *safeBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// startNode runs the binary with env (PICLOUD_MDNS=off always) and waits
// until both listeners answer /healthz.
func startNode(t *testing.T, dataDir string, env ...string) *proc {
	t.Helper()
	p := &proc{data: freePort(t), admin: freePort(t), stderr: &safeBuffer{lines: make(chan string, 100)}, done: make(chan error, 1)}
	p.cmd = exec.Command(nodeBinary(t))
	p.cmd.Env = append(os.Environ(), "PICLOUD_MDNS=off", "PICLOUD_DATA="+dataDir,
		"PICLOUD_BIND="+p.data, "PICLOUD_ADMIN_BIND="+p.admin)
	p.cmd.Env = append(p.cmd.Env, env...)
	pipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			p.stderr.mu.Lock()
			p.stderr.b.WriteString(sc.Text() + "\n")
			p.stderr.mu.Unlock()
		}
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + p.data + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("node did not come up: %v\nstderr:\n%s", err, p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// localhost names a loopback address by the host the default app claims.
func localhost(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return net.JoinHostPort("localhost", port)
}

func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("node exited with %v after SIGTERM\nstderr:\n%s", err, p.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("node did not stop within 30s of SIGTERM")
	}
}

func getJSON(t *testing.T, c *http.Client, url string, v any) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s = %d %s", url, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func TestBinaryFirstStartServesHelloWorldOverTLSAdmin(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	p := startNode(t, dir, "PICLOUD_NODE_NAME=pi-kitchen")

	// The data plane answers the seeded hello-world at once.
	resp, err := http.Get("http://" + localhost(p.data) + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "Hello, World!" {
		t.Errorf("GET / = %d %q, want 200 Hello, World!", resp.StatusCode, body)
	}

	// The first start printed the token and the admin URL once.
	out := p.stderr.String()
	m := regexp.MustCompile(`admin token: (\S+)`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "https://") {
		t.Fatalf("first start did not print token and admin URL:\n%s", out)
	}
	token := m[1]
	stored, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil || strings.TrimSpace(string(stored)) != token {
		t.Errorf("printed token differs from stored one (%v)", err)
	}

	// The admin listener speaks TLS with a certificate whose key is the node id.
	var v shared.Version
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	getJSON(t, insecure, "https://"+p.admin+"/version", &v)
	conn, err := tls.Dial("tcp", p.admin, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	leaf := conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	if got := shared.NodeIDFromSPKI(leaf.RawSubjectPublicKeyInfo); got != v.NodeID || v.Name != "pi-kitchen" || v.Product != "picloud" || v.Schema < 1 {
		t.Errorf("/version = %+v; certificate hashes to %s", v, got)
	}
	if _, port, _ := net.SplitHostPort(p.data); strconv.Itoa(v.DataPort) != port {
		t.Errorf("/version data_port = %d, want the data listener's %s", v.DataPort, port)
	}
	var dv shared.Version
	getJSON(t, http.DefaultClient, "http://"+p.data+"/version", &dv)
	if dv != v {
		t.Errorf("data plane /version = %+v, admin = %+v", dv, v)
	}

	// Admin without the token is 401 with WWW-Authenticate.
	resp, err = insecure.Get("https://" + p.admin + "/api/v1/admin/apps")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("unauthenticated admin = %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	p.stop(t)

	// A restart keeps the identity and prints no token.
	p2 := startNode(t, dir)
	var v2 shared.Version
	getJSON(t, insecure, "https://"+p2.admin+"/version", &v2)
	if v2.NodeID != v.NodeID {
		t.Errorf("node id changed across restart: %s → %s", v.NodeID, v2.NodeID)
	}
	p2.stop(t)
	if strings.Contains(p2.stderr.String(), token) {
		t.Error("restart printed the token again")
	}

	// `token` prints the stored token; `token --rotate` replaces it.
	cmd := exec.Command(nodeBinary(t), "token", "--data", dir)
	got, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(got)) != token {
		t.Errorf("token = %q, %v; want %q", got, err, token)
	}
	rot, err := exec.Command(nodeBinary(t), "token", "--rotate", "--data", dir).Output()
	if err != nil || strings.TrimSpace(string(rot)) == token || len(strings.TrimSpace(string(rot))) != 43 {
		t.Errorf("token --rotate = %q, %v", rot, err)
	}
}

func TestBinaryGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	dir := t.TempDir()
	p := startNode(t, dir, "PICLOUD_ADMIN_TLS=off", "PICLOUD_ADMIN_TOKEN=secret")
	c := shared.NewClient("http://"+p.admin, "secret")
	ctx := context.Background()
	app, err := c.App(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	sc, err := c.CreateScript(ctx, shared.CreateScriptRequest{
		AppID: shared.AppRef(app.Slug), Name: "slow",
		Source: `function handle(req) { var end = Date.now() + 700; while (Date.now() < end) {} return "done"; }`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRoute(ctx, app.Slug, shared.CreateRouteRequest{ScriptID: sc.ID, Method: "GET", Path: "/slow"}); err != nil {
		t.Fatal(err)
	}
	type result struct {
		status int
		body   string
		err    error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + localhost(p.data) + "/slow")
		if err != nil {
			res <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{status: resp.StatusCode, body: string(b)}
	}()
	time.Sleep(200 * time.Millisecond) // let the request reach the script
	p.stop(t)
	r := <-res
	if r.err != nil || r.status != 200 || r.body != "done" {
		t.Errorf("in-flight request during shutdown = %d %q %v, want 200 done", r.status, r.body, r.err)
	}
	// The execution was logged before the database closed.
	p2 := startNode(t, dir, "PICLOUD_ADMIN_TLS=off", "PICLOUD_ADMIN_TOKEN=secret")
	c = shared.NewClient("http://"+p2.admin, "secret")
	logs, err := c.Logs(ctx, "default", sc.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 1 || logs[0].Status != 200 || logs[0].Path != "/slow" {
		t.Errorf("logs after restart = %+v, want the one /slow execution", logs)
	}
}

func TestBinarySettingsErrors(t *testing.T) {
	bin := nodeBinary(t)
	run := func(env []string, args ...string) (string, int) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "PICLOUD_MDNS=off", "PICLOUD_DATA="+t.TempDir())
		cmd.Env = append(cmd.Env, env...)
		out, _ := cmd.CombinedOutput()
		return string(out), cmd.ProcessState.ExitCode()
	}
	if out, code := run(nil, "--help"); code != 0 || !strings.Contains(out, "-admin-bind") || !strings.Contains(out, "PICLOUD_LOG_RETENTION") {
		t.Errorf("--help = %d:\n%s", code, out)
	}
	if out, code := run([]string{"PICLOUD_ADMIN_TLS=maybe"}); code == 0 || strings.Count(strings.TrimSpace(out), "\n") != 0 || !strings.Contains(out, "PICLOUD_ADMIN_TLS") {
		t.Errorf("invalid PICLOUD_ADMIN_TLS = exit %d, %q; want one line naming it", code, out)
	}
	if out, code := run(nil, "version"); code != 0 || !strings.HasPrefix(out, "picloud-node ") {
		t.Errorf("version = %d %q", code, out)
	}
	if out, code := run(nil, "frobnicate"); code != 2 || !strings.Contains(out, "frobnicate") {
		t.Errorf("unknown command = %d %q", code, out)
	}
	// An invalid ceiling warns and the node still starts.
	p := startNode(t, t.TempDir(), "PICLOUD_SANDBOX_MAX_OPERATIONS=lots", "PICLOUD_ADMIN_TLS=off")
	p.stop(t)
	if !strings.Contains(p.stderr.String(), "PICLOUD_SANDBOX_MAX_OPERATIONS") {
		t.Errorf("no warning about the invalid ceiling:\n%s", p.stderr.String())
	}
}
