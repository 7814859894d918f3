package install

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files and assets/picloud-node.service from the template")

// assetUnit is the unit shipped for people who install by hand.
const assetUnit = "../../assets/picloud-node.service"

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the rendered unit (run go test ./node/install -update if the change is intended)\n--- got ---\n%s", path, got)
	}
}

// customUnit exercises every optional part of the template: a name that
// needs quoting, a port below 1024 and a data directory outside /var/lib.
func customUnit() Unit {
	return Unit{
		Binary:    "/opt/picloud/bin/picloud-node",
		User:      "pinode",
		DataDir:   "/srv/picloud",
		Name:      `Living room "Pi" 100%`,
		Bind:      ":80",
		AdminBind: "192.168.1.10:7443",
	}
}

func TestUnitGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		unit   Unit
	}{
		{"testdata/default.golden", DefaultUnit()},
		{"testdata/custom.golden", customUnit()},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			got, err := tc.unit.Render()
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.golden, got)
		})
	}
}

// The shipped unit must be what install writes, so hand and automatic
// installs behave the same.
func TestAssetIsDefaultUnit(t *testing.T) {
	got, err := DefaultUnit().Render()
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, assetUnit, got)
}

func TestUnitHardening(t *testing.T) {
	def, err := DefaultUnit().Render()
	if err != nil {
		t.Fatal(err)
	}
	custom, err := customUnit().Render()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"User=picloud", "ExecStart=/usr/local/bin/picloud-node serve", "Environment=PICLOUD_DATA=/var/lib/picloud",
		"NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/picloud", "PrivateTmp=yes",
		"ProtectHome=yes", "Restart=on-failure", "RestartSec=5s", "StateDirectory=picloud", "CapabilityBoundingSet=",
		"WantedBy=multi-user.target",
	} {
		if !hasLine(def, line) {
			t.Errorf("default unit lacks %q", line)
		}
	}
	if bytes.Contains(def, []byte("AmbientCapabilities")) {
		t.Error("default ports 8080/7070 must not get a capability")
	}
	for _, line := range []string{
		"AmbientCapabilities=CAP_NET_BIND_SERVICE", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
		`Environment="PICLOUD_NODE_NAME=Living room \"Pi\" 100%%"`, "Environment=PICLOUD_BIND=:80",
		"Environment=PICLOUD_ADMIN_BIND=192.168.1.10:7443", "ReadWritePaths=/srv/picloud", "User=pinode",
	} {
		if !hasLine(custom, line) {
			t.Errorf("custom unit lacks %q", line)
		}
	}
	if bytes.Contains(custom, []byte("StateDirectory")) {
		t.Error("StateDirectory= only works below /var/lib")
	}
}

func hasLine(unit []byte, line string) bool {
	for _, l := range strings.Split(string(unit), "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// systemd's own parser must accept the unit without a single warning.
func TestUnitSystemdAnalyzeVerify(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	for _, u := range []Unit{DefaultUnit(), customUnit()} {
		dir := t.TempDir()
		if err := u.Validate(); err != nil {
			t.Fatal(err)
		}
		// verify checks that ExecStart is executable; a temp file stands in
		// (Validate would refuse /tmp for a real install).
		u.Binary = filepath.Join(dir, "picloud-node")
		if err := os.WriteFile(u.Binary, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		data, err := u.render()
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, ServiceName)
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := exec.CommandContext(ctx, sa, "verify", "--man=no", file).CombinedOutput()
		cancel()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s\nunit:\n%s", u.DataDir, err, out, data)
		}
	}
}

func TestUnitValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(*Unit)
		wantErr string
	}{
		{"default", func(*Unit) {}, ""},
		{"relative binary", func(u *Unit) { u.Binary = "bin/picloud-node" }, "binary path"},
		{"binary with space", func(u *Unit) { u.Binary = "/opt/my apps/picloud-node" }, "binary path"},
		{"binary with specifier", func(u *Unit) { u.Binary = "/opt/%h/picloud-node" }, "binary path"},
		{"unclean data", func(u *Unit) { u.DataDir = "/var/lib/../picloud" }, "data directory"},
		{"root data", func(u *Unit) { u.DataDir = "/" }, "data directory"},
		{"trailing slash data", func(u *Unit) { u.DataDir = "/var/lib/picloud/" }, "data directory"},
		{"data in a home directory", func(u *Unit) { u.DataDir = "/home/pi/picloud" }, "cannot see /home"},
		{"binary in root's home", func(u *Unit) { u.Binary = "/root/picloud-node" }, "cannot see /root"},
		{"data in /tmp", func(u *Unit) { u.DataDir = "/tmp/picloud" }, "cannot see /tmp"},
		{"data merely named like home", func(u *Unit) { u.DataDir = "/homelab/picloud" }, ""},
		{"upper-case user", func(u *Unit) { u.User = "PiCloud" }, "user name"},
		{"user with space", func(u *Unit) { u.User = "pi cloud" }, "user name"},
		{"empty user", func(u *Unit) { u.User = "" }, "user name"},
		{"name injects a directive", func(u *Unit) { u.Name = "pi\nExecStartPre=/bin/rm -rf /" }, "node name"},
		{"name with spaces inside", func(u *Unit) { u.Name = "Living room" }, ""},
		{"name with unicode", func(u *Unit) { u.Name = "Küche π" }, ""},
		{"name with outer space", func(u *Unit) { u.Name = " pi" }, "node name"},
		{"bind without port", func(u *Unit) { u.Bind = "8080" }, "--bind"},
		{"bind port out of range", func(u *Unit) { u.Bind = ":70000" }, "--bind"},
		{"bind injects a directive", func(u *Unit) { u.Bind = "a\nUser=root:80" }, "--bind"},
		{"admin bind with quote", func(u *Unit) { u.AdminBind = `"x:1` }, "--admin-bind"},
		{"ipv6 bind", func(u *Unit) { u.Bind = "[::1]:8080" }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := DefaultUnit()
			tc.edit(&u)
			err := u.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if _, err := u.Render(); err != nil {
					t.Fatalf("Render: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate = %v, want an error about %s", err, tc.wantErr)
			}
			if _, err := u.Render(); err == nil {
				t.Fatal("Render accepted an invalid unit")
			}
		})
	}
}

func TestUnitLowPort(t *testing.T) {
	for _, tc := range []struct {
		bind, admin string
		want        bool
	}{
		{"", "", false},
		{":80", "", true},
		{"", "127.0.0.1:443", true},
		{":1023", ":1024", true},
		{":1024", ":8443", false},
	} {
		u := DefaultUnit()
		u.Bind, u.AdminBind = tc.bind, tc.admin
		if got := u.LowPort(); got != tc.want {
			t.Errorf("LowPort(bind %q, admin %q) = %v, want %v", tc.bind, tc.admin, got, tc.want)
		}
	}
}

func TestEnvAssignment(t *testing.T) {
	for _, tc := range []struct{ value, want string }{
		{"/var/lib/picloud", "X=/var/lib/picloud"},
		{"[::]:8080", "X=[::]:8080"},
		{"pi-4", "X=pi-4"},
		{"Living room", `"X=Living room"`},
		{`a"b\c`, `"X=a\"b\\c"`},
		{"100%", `"X=100%%"`},
		{"Küche", `"X=Küche"`},
		{"$HOME", `"X=$HOME"`},
	} {
		if got := envAssignment("X", tc.value); got != tc.want {
			t.Errorf("envAssignment(%q) = %s, want %s", tc.value, got, tc.want)
		}
	}
}
