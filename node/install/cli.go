package install

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
)

// InstallCommand is `picloud-node install`; its signature is server.Command's Run.
func InstallCommand(ctx context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("picloud-node install", flag.ContinueOnError)
	fs.SetOutput(stderr)
	u := unitFlags(fs)
	fs.StringVar(&u.Name, "name", "", "node name shown in the console (default: the hostname at run time)")
	fs.StringVar(&u.Bind, "bind", "", "data plane listen address written into the unit (default :8080)")
	fs.StringVar(&u.AdminBind, "admin-bind", "", "admin API listen address written into the unit (default :7070)")
	dryRun := fs.Bool("dry-run", false, "print what would be done and change nothing")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: sudo picloud-node install [flags]\n\n"+
			"Creates the system user, copies this binary to the binary path, prepares the data\n"+
			"directory, writes and starts %s, then prints the admin token.\nRun it again to upgrade.\n\nFlags:\n", ServiceName)
		fs.PrintDefaults()
	}
	if code, done := parse(fs, args); done {
		return code
	}
	if err := u.Validate(); err != nil {
		fmt.Fprintf(stderr, "picloud-node install: %v\n", err)
		return 2
	}
	if err := canChange(fs.Name(), *dryRun); err != nil {
		fmt.Fprintf(stderr, "picloud-node install: %v\n", err)
		return 1
	}
	self, err := os.Executable()
	if err == nil {
		self, err = filepath.EvalSymlinks(self)
	}
	if err != nil {
		fmt.Fprintf(stderr, "picloud-node install: find own binary: %v\n", err)
		return 1
	}
	in := &Installer{DryRun: *dryRun, Runner: ExecRunner{}, Out: stdout}
	res, err := in.Install(ctx, *u, self)
	if err != nil {
		fmt.Fprintf(stderr, "picloud-node install: %v\n", err)
		return 1
	}
	if res.Started {
		printNextStep(stdout, *u, res.Token)
	}
	return 0
}

// UninstallCommand is `picloud-node uninstall`.
func UninstallCommand(ctx context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("picloud-node uninstall", flag.ContinueOnError)
	fs.SetOutput(stderr)
	u := unitFlags(fs)
	purge := fs.Bool("purge", false, "also delete the data directory (apps, scripts, logs, the node's identity) and the user")
	dryRun := fs.Bool("dry-run", false, "print what would be done and change nothing")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: sudo picloud-node uninstall [--purge] [flags]\n\n"+
			"Stops and removes %s and the binary. The data directory and the user stay\n"+
			"unless --purge is given, so installing again brings the same node back.\n\nFlags:\n", ServiceName)
		fs.PrintDefaults()
	}
	if code, done := parse(fs, args); done {
		return code
	}
	if err := u.Validate(); err != nil {
		fmt.Fprintf(stderr, "picloud-node uninstall: %v\n", err)
		return 2
	}
	if err := canChange(fs.Name(), *dryRun); err != nil {
		fmt.Fprintf(stderr, "picloud-node uninstall: %v\n", err)
		return 1
	}
	in := &Installer{DryRun: *dryRun, Runner: ExecRunner{}, Out: stdout}
	if err := in.Uninstall(ctx, *u, *purge); err != nil {
		fmt.Fprintf(stderr, "picloud-node uninstall: %v\n", err)
		return 1
	}
	switch {
	case *dryRun:
	case *purge:
		fmt.Fprintln(stdout, "PiCloud node removed, with its data.")
	default:
		fmt.Fprintf(stdout, "PiCloud node removed. Kept its data in %s and the user %s: installing again brings the same node\n"+
			"back (same token and node id); `sudo picloud-node uninstall --purge` deletes them.\n", u.DataDir, u.User)
	}
	return 0
}

// unitFlags registers the flags both commands share.
func unitFlags(fs *flag.FlagSet) *Unit {
	u := DefaultUnit()
	fs.StringVar(&u.Binary, "bin", u.Binary, "where the picloud-node binary is installed")
	fs.StringVar(&u.DataDir, "data", u.DataDir, "data directory (database, TLS key, admin token)")
	fs.StringVar(&u.User, "user", u.User, "system user the service runs as")
	return &u
}

func parse(fs *flag.FlagSet, args []string) (code int, done bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, true
		}
		return 2, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return 2, true
	}
	return 0, false
}

// canChange checks the machine before any change: root, and systemd
// running as the init system. A dry run needs neither.
func canChange(cmd string, dryRun bool) error {
	if dryRun {
		return nil
	}
	if os.Geteuid() != 0 {
		return errors.New("must run as root: sudo " + cmd)
	}
	// The test sd_booted(3) uses.
	if _, err := os.Stat("/run/systemd/system"); err != nil {
		return errors.New("systemd is not running on this machine; run `picloud-node serve` under your own supervisor " +
			"(assets/picloud-node.service shows the settings)")
	}
	return nil
}

func printNextStep(w io.Writer, u Unit, token string) {
	name := u.Name
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	if name == "" {
		name = host
	}
	_, port, _ := net.SplitHostPort(or(u.AdminBind, defaultAdminBind))
	fmt.Fprintf(w, `
PiCloud node %q is running as the systemd service %s.
  admin token: %s
  data:        %s
  logs:        journalctl -u %s -f

Next: open the PiCloud console on your laptop. This node appears there as %q
(admin API https://%s.local:%s); pair with it using the admin token above.
Print the token again with: sudo picloud-node token --data %s
`, name, ServiceName, token, u.DataDir, ServiceName, name, host, port, u.DataDir)
}
