package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/picloud/picloud/shared"
)

// Runner runs a command on the machine and returns its standard output.
// Every command install and uninstall run goes through it, so tests can
// record them instead of touching the system.
type Runner interface {
	Run(ctx context.Context, name string, args ...string) ([]byte, error)
}

// ExecRunner runs commands with os/exec.
type ExecRunner struct{}

// Run runs the command; a failure carries the command and its stderr.
func (ExecRunner) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s: %w: %s", commandLine(name, args), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Installer makes the changes. Files go under Root (empty = the real /),
// and commands go through Runner with paths already mapped into Root; the
// unit file itself always names the real paths. With DryRun nothing
// changes: every step is printed with "would" and read-only queries still run.
type Installer struct {
	Root   string
	DryRun bool
	Runner Runner
	Out    io.Writer // progress for the person at the terminal

	// ReadyTimeout bounds the wait for the started node to answer /healthz.
	ReadyTimeout time.Duration
	// HTTPClient checks /healthz; nil uses a client with a short timeout.
	HTTPClient *http.Client
}

// Result is what an installation leaves for the person to use.
type Result struct {
	Token   string // admin token; empty when not started (dry run)
	Started bool
}

// unitPath is where systemd reads administrator units from.
const unitDir = "/etc/systemd/system"

// Install creates the service user, copies the binary at source to
// u.Binary, prepares the data directory, writes and starts the unit, waits
// until the node answers and reads its admin token. Running it again
// upgrades the binary and restarts the node; data and token are kept.
func (in *Installer) Install(ctx context.Context, u Unit, source string) (Result, error) {
	unit, err := u.Render()
	if err != nil {
		return Result{}, err
	}
	if err := in.ensureUser(ctx, u); err != nil {
		return Result{}, err
	}
	if err := in.copyBinary(source, u.Binary); err != nil {
		return Result{}, err
	}
	if err := in.dataDir(ctx, u); err != nil {
		return Result{}, err
	}
	if err := in.writeFile(filepath.Join(unitDir, ServiceName), unit, 0o644); err != nil {
		return Result{}, err
	}
	for _, args := range [][]string{{"daemon-reload"}, {"enable", ServiceName}, {"restart", ServiceName}} {
		if err := in.change(ctx, "systemctl", args...); err != nil {
			return Result{}, err
		}
	}
	if in.DryRun {
		in.printf("would wait for %s and print the admin token\n", healthURL(u))
		return Result{}, nil
	}
	if err := in.waitReady(ctx, u); err != nil {
		return Result{}, err
	}
	// The token file is readable only by the service user (and root); read
	// it the supported way, as that user.
	out, err := in.Runner.Run(ctx, "runuser", "-u", u.User, "--", in.path(u.Binary), "token", "--data", in.path(u.DataDir))
	if err != nil {
		return Result{}, fmt.Errorf("read the admin token: %w", err)
	}
	return Result{Token: strings.TrimSpace(string(out)), Started: true}, nil
}

// Uninstall stops and removes the service and the binary. The data
// directory (apps, scripts, the node's identity) and the user stay unless
// purge is set.
func (in *Installer) Uninstall(ctx context.Context, u Unit, purge bool) error {
	if err := u.Validate(); err != nil {
		return err
	}
	unitFile := filepath.Join(unitDir, ServiceName)
	if in.exists(unitFile) {
		// A unit that is already stopped or broken must not keep the files
		// in place: report and go on.
		if err := in.change(ctx, "systemctl", "disable", "--now", ServiceName); err != nil {
			in.printf("warning: %v\n", err)
		}
		if err := in.remove(unitFile); err != nil {
			return err
		}
		if err := in.change(ctx, "systemctl", "daemon-reload"); err != nil {
			return err
		}
		_ = in.change(ctx, "systemctl", "reset-failed", ServiceName) // fails when it never failed
	} else {
		in.printf("no %s: the service is not installed\n", in.path(unitFile))
	}
	if in.exists(u.Binary) {
		if err := in.remove(u.Binary); err != nil {
			return err
		}
	}
	if !purge {
		return nil
	}
	if in.exists(u.DataDir) {
		in.printf("%s %s\n", in.verb("removing", "would remove"), in.path(u.DataDir))
		if !in.DryRun {
			if err := os.RemoveAll(in.path(u.DataDir)); err != nil {
				return fmt.Errorf("remove data: %w", err)
			}
		}
	}
	exists, err := in.userExists(ctx, u.User)
	if err != nil {
		return err
	}
	if exists {
		return in.change(ctx, "userdel", u.User)
	}
	return nil
}

func (in *Installer) ensureUser(ctx context.Context, u Unit) error {
	exists, err := in.userExists(ctx, u.User)
	if err != nil || exists {
		return err
	}
	return in.change(ctx, "useradd", "--system", "--user-group", "--home-dir", u.DataDir, "--no-create-home",
		"--shell", "/usr/sbin/nologin", "--comment", "PiCloud node", u.User)
}

// userExists asks the name service (so LDAP users count too); getent exits
// 2 for an unknown name. *exec.ExitError has ExitCode.
func (in *Installer) userExists(ctx context.Context, name string) (bool, error) {
	_, err := in.Runner.Run(ctx, "getent", "passwd", name)
	var exit interface{ ExitCode() int }
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &exit) && exit.ExitCode() == 2:
		return false, nil
	default:
		return false, fmt.Errorf("look up user %s: %w", name, err)
	}
}

// copyBinary installs source at dst through a rename, so a running old
// binary is never half overwritten. Re-running the installed binary's own
// install skips the copy.
func (in *Installer) copyBinary(source, dst string) error {
	target := in.path(dst)
	if a, err := os.Stat(source); err == nil {
		if b, err := os.Stat(target); err == nil && os.SameFile(a, b) {
			return nil
		}
	}
	in.printf("%s %s to %s\n", in.verb("copying", "would copy"), source, target)
	if in.DryRun {
		return nil
	}
	data, err := os.ReadFile(source)
	if err != nil {
		return fmt.Errorf("read own binary: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return fmt.Errorf("install binary: %w", err)
	}
	if err := shared.WriteFileAtomic(target, data, 0o755); err != nil {
		return fmt.Errorf("install binary: %w", err)
	}
	return nil
}

// dataDir creates the data directory 0700 and hands it to the service user;
// a directory left by an earlier run as root is taken over the same way.
func (in *Installer) dataDir(ctx context.Context, u Unit) error {
	dir := in.path(u.DataDir)
	in.printf("%s %s (mode 0700, owner %s)\n", in.verb("preparing", "would prepare"), dir, u.User)
	if in.DryRun {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	return in.change(ctx, "chown", "-R", u.User+":"+u.User, dir)
}

// waitReady polls the node's /healthz until it answers 200: a unit that
// starts and then exits (port taken, bad setting) must not pass for running.
func (in *Installer) waitReady(ctx context.Context, u Unit) error {
	timeout := in.ReadyTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := in.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Second}
	}
	url := healthURL(u)
	in.printf("waiting for the node to answer %s\n", url)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the node did not answer %s within %s; see `systemctl status %s` and `journalctl -u %s`",
				url, timeout, ServiceName, ServiceName)
		case <-tick.C:
		}
	}
}

// healthURL is the data plane's /healthz as seen from the machine itself.
func healthURL(u Unit) string {
	host, port, _ := net.SplitHostPort(or(u.Bind, defaultBind))
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz"
}

// change runs a command that alters the system, or prints it on a dry run.
func (in *Installer) change(ctx context.Context, name string, args ...string) error {
	if in.DryRun {
		in.printf("would run: %s\n", commandLine(name, args))
		return nil
	}
	in.printf("+ %s\n", commandLine(name, args))
	if _, err := in.Runner.Run(ctx, name, args...); err != nil {
		return err
	}
	return nil
}

func (in *Installer) writeFile(name string, data []byte, perm fs.FileMode) error {
	target := in.path(name)
	if in.DryRun {
		in.printf("would write %s:\n%s\n", target, data)
		return nil
	}
	in.printf("writing %s\n", target)
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", target, err)
	}
	if err := shared.WriteFileAtomic(target, data, perm); err != nil {
		return fmt.Errorf("write %s: %w", target, err)
	}
	return nil
}

func (in *Installer) remove(name string) error {
	target := in.path(name)
	in.printf("%s %s\n", in.verb("removing", "would remove"), target)
	if in.DryRun {
		return nil
	}
	if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", target, err)
	}
	return nil
}

func (in *Installer) exists(name string) bool {
	_, err := os.Lstat(in.path(name))
	return err == nil
}

// path maps an absolute system path into Root.
func (in *Installer) path(name string) string {
	if in.Root == "" {
		return name
	}
	return filepath.Join(in.Root, name)
}

func (in *Installer) verb(doing, would string) string {
	if in.DryRun {
		return would
	}
	return doing
}

func (in *Installer) printf(format string, args ...any) {
	if in.Out != nil {
		fmt.Fprintf(in.Out, format, args...)
	}
}

// commandLine shows a command the way a person would type it.
func commandLine(name string, args []string) string {
	parts := append([]string{name}, args...)
	for i, p := range parts {
		if p == "" || strings.ContainsAny(p, " \t\"'$\\") {
			parts[i] = fmt.Sprintf("%q", p)
		}
	}
	return strings.Join(parts, " ")
}
