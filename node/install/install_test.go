package install

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fakeSystem stands in for the machine's commands (useradd, systemctl, ...):
// it records them and keeps the little state they would change.
type fakeSystem struct {
	users map[string]bool
	token string
	fail  map[string]error // by command line
	calls []string
}

type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
func (e exitStatus) ExitCode() int { return int(e) }

func (f *fakeSystem) Run(_ context.Context, name string, args ...string) ([]byte, error) {
	line := commandLine(name, args)
	f.calls = append(f.calls, line)
	if err := f.fail[line]; err != nil {
		return nil, err
	}
	switch name {
	case "getent":
		if !f.users[args[1]] {
			return nil, exitStatus(2)
		}
		return []byte(args[1] + ":x:998:998::/var/lib/picloud:/usr/sbin/nologin\n"), nil
	case "useradd":
		f.users[args[len(args)-1]] = true
	case "userdel":
		delete(f.users, args[len(args)-1])
	case "runuser":
		return []byte(f.token + "\n"), nil
	}
	return nil, nil
}

// healthyNode answers /healthz like a started node's data plane.
func healthyNode(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, `{"status":"ok"}`)
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

type fixture struct {
	root   string
	source string // the binary being installed
	sys    *fakeSystem
	out    bytes.Buffer
	in     *Installer
	unit   Unit
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{root: t.TempDir(), sys: &fakeSystem{users: map[string]bool{}, token: "tok-123", fail: map[string]error{}}}
	f.source = filepath.Join(t.TempDir(), "picloud-node")
	if err := os.WriteFile(f.source, []byte("binary v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	f.in = &Installer{Root: f.root, Runner: f.sys, Out: &f.out, ReadyTimeout: 5 * time.Second}
	f.unit = DefaultUnit()
	f.unit.Bind = healthyNode(t)
	return f
}

func (f *fixture) file(name string) string { return filepath.Join(f.root, name) }

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func TestInstallFresh(t *testing.T) {
	f := newFixture(t)
	res, err := f.in.Install(context.Background(), f.unit, f.source)
	if err != nil {
		t.Fatalf("Install: %v\n%s", err, f.out.String())
	}
	if !res.Started || res.Token != "tok-123" {
		t.Errorf("result = %+v, want started with the node's token", res)
	}
	data := f.file("/var/lib/picloud")
	want := []string{
		"getent passwd picloud",
		`useradd --system --user-group --home-dir /var/lib/picloud --no-create-home --shell /usr/sbin/nologin --comment "PiCloud node" picloud`,
		"chown -R picloud:picloud " + data,
		"systemctl daemon-reload",
		"systemctl enable picloud-node.service",
		"systemctl restart picloud-node.service",
		"runuser -u picloud -- " + f.file("/usr/local/bin/picloud-node") + " token --data " + data,
	}
	if !reflect.DeepEqual(f.sys.calls, want) {
		t.Errorf("commands:\n%s\nwant:\n%s", strings.Join(f.sys.calls, "\n"), strings.Join(want, "\n"))
	}

	bin, err := os.ReadFile(f.file("/usr/local/bin/picloud-node"))
	if err != nil || string(bin) != "binary v1" {
		t.Errorf("installed binary = %q, %v; want the source binary", bin, err)
	}
	if m := mode(t, f.file("/usr/local/bin/picloud-node")); m != 0o755 {
		t.Errorf("binary mode = %v, want 0755", m)
	}
	if m := mode(t, data); m != 0o700 {
		t.Errorf("data directory mode = %v, want 0700", m)
	}
	unit, err := os.ReadFile(f.file("/etc/systemd/system/picloud-node.service"))
	if err != nil {
		t.Fatal(err)
	}
	wantUnit, _ := f.unit.Render()
	if !bytes.Equal(unit, wantUnit) {
		t.Errorf("unit file:\n%s\nwant:\n%s", unit, wantUnit)
	}
	if m := mode(t, f.file("/etc/systemd/system/picloud-node.service")); m != 0o644 {
		t.Errorf("unit mode = %v, want 0644", m)
	}
}

// Running install again (a new binary) upgrades in place: no second user,
// the binary replaced, the data directory and its files untouched.
func TestInstallAgainUpgrades(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.in.Install(ctx, f.unit, f.source); err != nil {
		t.Fatal(err)
	}
	db := f.file("/var/lib/picloud/picloud.db")
	if err := os.WriteFile(db, []byte("apps"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.source, []byte("binary v2"), 0o755); err != nil {
		t.Fatal(err)
	}
	f.sys.calls = nil
	if _, err := f.in.Install(ctx, f.unit, f.source); err != nil {
		t.Fatal(err)
	}
	for _, c := range f.sys.calls {
		if strings.HasPrefix(c, "useradd") {
			t.Errorf("second install ran %q for an existing user", c)
		}
	}
	if !contains(f.sys.calls, "systemctl restart picloud-node.service") {
		t.Error("upgrade did not restart the service")
	}
	if bin, _ := os.ReadFile(f.file("/usr/local/bin/picloud-node")); string(bin) != "binary v2" {
		t.Errorf("binary after upgrade = %q, want v2", bin)
	}
	if b, err := os.ReadFile(db); err != nil || string(b) != "apps" {
		t.Errorf("data after upgrade = %q, %v; want it kept", b, err)
	}
}

// The installed binary installing itself must not try to copy onto itself.
func TestInstallFromInstalledBinary(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.in.Install(ctx, f.unit, f.source); err != nil {
		t.Fatal(err)
	}
	f.out.Reset()
	if _, err := f.in.Install(ctx, f.unit, f.file("/usr/local/bin/picloud-node")); err != nil {
		t.Fatalf("reinstall from the installed binary: %v", err)
	}
	if strings.Contains(f.out.String(), "copying") {
		t.Errorf("copied the binary onto itself:\n%s", f.out.String())
	}
}

func TestInstallNodeNeverAnswers(t *testing.T) {
	f := newFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.unit.Bind = ln.Addr().String()
	ln.Close() // nothing listens: the service crashed on start
	f.in.ReadyTimeout = 500 * time.Millisecond
	_, err = f.in.Install(context.Background(), f.unit, f.source)
	if err == nil || !strings.Contains(err.Error(), "journalctl -u picloud-node.service") {
		t.Fatalf("Install = %v, want an error pointing at the journal", err)
	}
}

func TestInstallCommandFails(t *testing.T) {
	f := newFixture(t)
	f.sys.fail["systemctl enable picloud-node.service"] = fmt.Errorf("systemctl enable: exit status 1: Failed to enable unit")
	_, err := f.in.Install(context.Background(), f.unit, f.source)
	if err == nil || !strings.Contains(err.Error(), "Failed to enable unit") {
		t.Fatalf("Install = %v, want the systemctl failure", err)
	}
	if contains(f.sys.calls, "systemctl restart picloud-node.service") {
		t.Error("went on starting the service after enable failed")
	}
}

func TestInstallDryRunChangesNothing(t *testing.T) {
	f := newFixture(t)
	f.in.DryRun = true
	res, err := f.in.Install(context.Background(), f.unit, f.source)
	if err != nil {
		t.Fatal(err)
	}
	if res.Started {
		t.Error("dry run reports a started node")
	}
	if want := []string{"getent passwd picloud"}; !reflect.DeepEqual(f.sys.calls, want) {
		t.Errorf("dry run ran %q, want only the read-only lookup", f.sys.calls)
	}
	entries, err := os.ReadDir(f.root)
	if err != nil || len(entries) != 0 {
		t.Errorf("dry run wrote into the root: %v %v", entries, err)
	}
	out := f.out.String()
	unit, _ := f.unit.Render()
	for _, want := range []string{"would run: useradd --system", "would copy", "would write " + f.file("/etc/systemd/system/picloud-node.service"),
		string(unit), "would run: systemctl restart picloud-node.service", "would wait for http://"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
}

func TestUninstallKeepsData(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.in.Install(ctx, f.unit, f.source); err != nil {
		t.Fatal(err)
	}
	token := f.file("/var/lib/picloud/admin.token")
	if err := os.WriteFile(token, []byte("tok-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.sys.calls = nil
	if err := f.in.Uninstall(ctx, f.unit, false); err != nil {
		t.Fatal(err)
	}
	want := []string{"systemctl disable --now picloud-node.service", "systemctl daemon-reload", "systemctl reset-failed picloud-node.service"}
	if !reflect.DeepEqual(f.sys.calls, want) {
		t.Errorf("commands %q, want %q", f.sys.calls, want)
	}
	for _, gone := range []string{"/etc/systemd/system/picloud-node.service", "/usr/local/bin/picloud-node"} {
		if _, err := os.Stat(f.file(gone)); err == nil {
			t.Errorf("%s still there after uninstall", gone)
		}
	}
	if _, err := os.Stat(token); err != nil {
		t.Errorf("uninstall without --purge lost the data: %v", err)
	}
	if !f.sys.users["picloud"] {
		t.Error("uninstall without --purge deleted the user that owns the data")
	}
}

func TestUninstallPurge(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.in.Install(ctx, f.unit, f.source); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.file("/var/lib/picloud/picloud.db"), []byte("apps"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.in.Uninstall(ctx, f.unit, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(f.file("/var/lib/picloud")); err == nil {
		t.Error("--purge kept the data directory")
	}
	if f.sys.users["picloud"] {
		t.Error("--purge kept the user")
	}
	// Only the data directory itself goes: its parent stays.
	if _, err := os.Stat(f.file("/var/lib")); err != nil {
		t.Errorf("--purge removed more than the data directory: %v", err)
	}
}

// A service that is already stopped or half removed must still come off.
func TestUninstallBrokenService(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.in.Install(ctx, f.unit, f.source); err != nil {
		t.Fatal(err)
	}
	f.sys.fail["systemctl disable --now picloud-node.service"] = fmt.Errorf("systemctl: exit status 1: unit not loaded")
	if err := f.in.Uninstall(ctx, f.unit, false); err != nil {
		t.Fatalf("Uninstall: %v", err)
	}
	if _, err := os.Stat(f.file("/etc/systemd/system/picloud-node.service")); err == nil {
		t.Error("unit file left behind")
	}
	if !strings.Contains(f.out.String(), "warning: systemctl: exit status 1: unit not loaded") {
		t.Errorf("the failure was not reported:\n%s", f.out.String())
	}
}

func TestUninstallNothingInstalled(t *testing.T) {
	f := newFixture(t)
	if err := f.in.Uninstall(context.Background(), f.unit, false); err != nil {
		t.Fatal(err)
	}
	if len(f.sys.calls) != 0 {
		t.Errorf("ran %q with nothing installed", f.sys.calls)
	}
	if !strings.Contains(f.out.String(), "not installed") {
		t.Errorf("output does not say the service is not installed:\n%s", f.out.String())
	}
}

func TestUninstallDryRun(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.in.Install(ctx, f.unit, f.source); err != nil {
		t.Fatal(err)
	}
	f.in.DryRun = true
	f.sys.calls = nil
	if err := f.in.Uninstall(ctx, f.unit, true); err != nil {
		t.Fatal(err)
	}
	if want := []string{"getent passwd picloud"}; !reflect.DeepEqual(f.sys.calls, want) {
		t.Errorf("dry run ran %q", f.sys.calls)
	}
	for _, kept := range []string{"/etc/systemd/system/picloud-node.service", "/usr/local/bin/picloud-node", "/var/lib/picloud"} {
		if _, err := os.Stat(f.file(kept)); err != nil {
			t.Errorf("dry run removed %s", kept)
		}
	}
	if !strings.Contains(f.out.String(), "would run: userdel picloud") {
		t.Errorf("dry run output:\n%s", f.out.String())
	}
}

func TestHealthURL(t *testing.T) {
	for _, tc := range []struct{ bind, want string }{
		{"", "http://127.0.0.1:8080/healthz"},
		{":80", "http://127.0.0.1:80/healthz"},
		{"0.0.0.0:9000", "http://127.0.0.1:9000/healthz"},
		{"[::]:9000", "http://127.0.0.1:9000/healthz"},
		{"192.168.1.5:8080", "http://192.168.1.5:8080/healthz"},
		{"[::1]:8080", "http://[::1]:8080/healthz"},
	} {
		u := DefaultUnit()
		u.Bind = tc.bind
		if got := healthURL(u); got != tc.want {
			t.Errorf("healthURL(%q) = %s, want %s", tc.bind, got, tc.want)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
