package install

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serviceManager plays systemd for the unit install writes under a temp
// root: `systemctl restart` starts the ExecStart= line of the written unit
// with its Environment= lines (paths mapped into the root), `disable --now`
// stops it, and runuser runs its command without switching users.
type serviceManager struct {
	fakeSystem
	t     *testing.T
	root  string
	extra []string // test-only environment: loopback, no mDNS
	mu    sync.Mutex
	proc  *exec.Cmd
	log   bytes.Buffer
}

func (m *serviceManager) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	out, err := m.fakeSystem.Run(ctx, name, args...)
	switch {
	case name == "systemctl" && args[0] == "restart":
		m.stop()
		return nil, m.start()
	case name == "systemctl" && args[0] == "disable":
		m.stop()
	case name == "runuser":
		return exec.CommandContext(ctx, args[3], args[4:]...).Output()
	}
	return out, err
}

func (m *serviceManager) start() error {
	f, err := os.Open(filepath.Join(m.root, unitDir, ServiceName))
	if err != nil {
		return err
	}
	defer f.Close()
	var argv, env []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, _ := strings.Cut(sc.Text(), "=")
		switch key {
		case "ExecStart":
			argv = strings.Fields(val)
			argv[0] = filepath.Join(m.root, argv[0])
		case "Environment":
			if strings.HasPrefix(val, `"`) {
				m.t.Fatalf("this test's unit should need no quoting: %s", val)
			}
			if k, v, _ := strings.Cut(val, "="); k == "PICLOUD_DATA" {
				val = k + "=" + filepath.Join(m.root, v)
			}
			env = append(env, val)
		}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(append([]string{"PATH=" + os.Getenv("PATH")}, env...), m.extra...)
	cmd.Stdout, cmd.Stderr = &m.log, &m.log
	if err := cmd.Start(); err != nil {
		return err
	}
	m.mu.Lock()
	m.proc = cmd
	m.mu.Unlock()
	return nil
}

func (m *serviceManager) stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc == nil {
		return
	}
	_ = m.proc.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = m.proc.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = m.proc.Process.Kill()
		<-done
	}
	m.proc = nil
}

func buildNode(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds picloud-node")
	}
	bin := filepath.Join(t.TempDir(), "picloud-node")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/picloud/picloud/cmd/node")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build picloud-node: %v\n%s", err, out)
	}
	return bin
}

func loopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func adminStatus(t *testing.T, adminAddr, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+adminAddr+"/api/v1/admin/apps", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// The whole path with the real binary: install copies it, the written unit
// starts a node that answers, the printed token opens the admin API, and
// uninstall then install again brings back the same node (same token).
func TestInstallRealBinary(t *testing.T) {
	bin := buildNode(t)
	root := t.TempDir()
	u := DefaultUnit()
	u.Bind, u.AdminBind = loopbackAddr(t), loopbackAddr(t)
	m := &serviceManager{
		fakeSystem: fakeSystem{users: map[string]bool{}, fail: map[string]error{}},
		t:          t, root: root,
		extra: []string{"PICLOUD_MDNS=off", "PICLOUD_ADMIN_TLS=off"},
	}
	t.Cleanup(m.stop)
	var out bytes.Buffer
	in := &Installer{Root: root, Runner: m, Out: &out, ReadyTimeout: 30 * time.Second}
	ctx := context.Background()

	res, err := in.Install(ctx, u, bin)
	if err != nil {
		t.Fatalf("Install: %v\n%s\nnode log:\n%s", err, out.String(), m.log.String())
	}
	if res.Token == "" {
		t.Fatal("no admin token")
	}
	if code := adminStatus(t, u.AdminBind, res.Token); code != http.StatusOK {
		t.Fatalf("admin API with the printed token: %d, want 200", code)
	}
	if code := adminStatus(t, u.AdminBind, "wrong"+res.Token); code != http.StatusUnauthorized {
		t.Errorf("admin API with a wrong token: %d, want 401", code)
	}
	if st, err := os.Stat(filepath.Join(root, u.DataDir, "picloud.db")); err != nil || st.Size() == 0 {
		t.Errorf("the node did not keep its database in the data directory: %v", err)
	}

	if err := in.Uninstall(ctx, u, false); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(healthURL(u)); err == nil {
		t.Error("node still answers after uninstall")
	}
	again, err := in.Install(ctx, u, bin)
	if err != nil {
		t.Fatalf("install again: %v\nnode log:\n%s", err, m.log.String())
	}
	if again.Token != res.Token {
		t.Errorf("token after uninstall + install = %q, want the kept %q", again.Token, res.Token)
	}
}
