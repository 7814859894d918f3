package install

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

func noEnv(string) string { return "" }

// --dry-run is safe on any machine, root or not: it shows the plan.
func TestInstallCommandDryRun(t *testing.T) {
	_, before := os.Stat("/etc/systemd/system/" + ServiceName)
	var out, errOut bytes.Buffer
	code := InstallCommand(context.Background(), []string{"--dry-run", "--name", "Living room"}, noEnv, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{
		"would copy ", " to /usr/local/bin/picloud-node",
		"would write /etc/systemd/system/picloud-node.service",
		`Environment="PICLOUD_NODE_NAME=Living room"`,
		"would run: systemctl enable picloud-node.service",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if _, after := os.Stat("/etc/systemd/system/" + ServiceName); (before == nil) != (after == nil) {
		t.Error("dry run changed /etc/systemd/system")
	}
}

func TestUninstallCommandDryRun(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := UninstallCommand(context.Background(), []string{"--dry-run", "--purge", "--data", "/var/lib/picloud-test-nonexistent"}, noEnv, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
}

func TestCommandArgs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		run     func(context.Context, []string, func(string) string, *bytes.Buffer, *bytes.Buffer) int
		args    []string
		code    int
		wantErr string
	}{
		{"install help", runInstall, []string{"--help"}, 0, "Usage: sudo picloud-node install"},
		{"uninstall help", runUninstall, []string{"-h"}, 0, "--purge"},
		{"unknown flag", runInstall, []string{"--force"}, 2, "flag provided but not defined"},
		{"stray argument", runUninstall, []string{"now"}, 2, `unexpected argument "now"`},
		{"relative data", runInstall, []string{"--dry-run", "--data", "picloud-data"}, 2, "invalid data directory"},
		{"bad bind", runInstall, []string{"--dry-run", "--bind", "8080"}, 2, "--bind"},
		{"bad user", runUninstall, []string{"--dry-run", "--user", "Root Admin"}, 2, "invalid user name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := tc.run(context.Background(), tc.args, noEnv, &out, &errOut)
			if code != tc.code || !strings.Contains(errOut.String(), tc.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errOut.String(), tc.code, tc.wantErr)
			}
		})
	}
}

func runInstall(ctx context.Context, args []string, env func(string) string, out, errOut *bytes.Buffer) int {
	return InstallCommand(ctx, args, env, out, errOut)
}

func runUninstall(ctx context.Context, args []string, env func(string) string, out, errOut *bytes.Buffer) int {
	return UninstallCommand(ctx, args, env, out, errOut)
}

// Without root, a real install stops before touching anything.
func TestInstallCommandNeedsRoot(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root")
	}
	var out, errOut bytes.Buffer
	if code := InstallCommand(context.Background(), nil, noEnv, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "must run as root") {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}
