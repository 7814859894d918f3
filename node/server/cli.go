package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Command is a subcommand of picloud-node beyond the built-in ones, such as
// `discover` or `install`, registered by cmd/node.
type Command struct {
	Name  string
	Usage string
	Run   func(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int
}

// CLI is picloud-node's command line.
type CLI struct {
	Version, Commit string
	Extra           []Command
	// Announce, when set, builds the mDNS announcement for a node that has
	// mDNS on.
	Announce func(n *Node, log *slog.Logger) func(ctx context.Context)
}

const usage = `picloud-node runs a PiCloud node: apps, routes and JavaScript handlers for your homelab.

Usage:
  picloud-node [serve] [flags]   run the node (default)
  picloud-node token [--rotate]  print (or replace) the admin token
  picloud-node version           print the version
%s
Every flag also reads an environment variable; the flag wins. Flags:
`

// Main runs the command line and returns the process exit code.
func (c CLI) Main(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return c.serve(ctx, args, env, stderr)
	case "token":
		return c.token(args, env, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "picloud-node %s (commit %s)\n", c.Version, c.Commit)
		return 0
	case "help":
		c.printUsage(stdout, NewFlagSet("picloud-node", stdout))
		return 0
	}
	for _, x := range c.Extra {
		if x.Name == cmd {
			return x.Run(ctx, args, env, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "picloud-node: unknown command %q (see picloud-node --help)\n", cmd)
	return 2
}

func (c CLI) printUsage(w io.Writer, fs *flag.FlagSet) {
	var extra strings.Builder
	for _, x := range c.Extra {
		fmt.Fprintf(&extra, "  picloud-node %-17s %s\n", x.Name, x.Usage)
	}
	fmt.Fprintf(w, usage, extra.String())
	if fs.Lookup("data") == nil {
		ParseConfig(fs, nil, func(string) string { return "" })
	}
	fs.SetOutput(w)
	fs.PrintDefaults()
}

func (c CLI) serve(ctx context.Context, args []string, env func(string) string, stderr io.Writer) int {
	fs := NewFlagSet("picloud-node", stderr)
	fs.Usage = func() { c.printUsage(stderr, fs) }
	cfg, warnings, err := ParseConfig(fs, args, env)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "picloud-node: %v\n", err)
		return 2
	}
	cfg.Version, cfg.Commit = c.Version, c.Commit
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	for _, w := range warnings {
		log.Warn("ignoring invalid sandbox ceiling: " + w)
	}
	tuneRuntime(env)
	n, err := New(ctx, cfg, log)
	if err != nil {
		fmt.Fprintf(stderr, "picloud-node: %v\n", err)
		return 1
	}
	if n.FirstStart() {
		fmt.Fprintf(stderr, "\nPiCloud node %q is set up (node id %s).\n  admin URL:   %s\n  admin token: %s\n"+
			"Keep the token: the console asks for it when you pair. `picloud-node token` prints it again.\n\n",
			cfg.Name, n.NodeID(), n.AdminURL(), n.Token())
	}
	if cfg.MDNS && c.Announce != nil {
		n.SetAnnouncer(c.Announce(n, log.With("component", "discovery")))
	}
	if err := n.Serve(ctx); err != nil {
		fmt.Fprintf(stderr, "picloud-node: %v\n", err)
		return 1
	}
	return 0
}

func (c CLI) token(args []string, env func(string) string, stdout, stderr io.Writer) int {
	fs := NewFlagSet("picloud-node token", stderr)
	rotate := fs.Bool("rotate", false, "replace the admin token with a new random one; paired consoles must pair again")
	dataDir := fs.String("data", envOr(env, "PICLOUD_DATA", Defaults().DataDir), "data directory [PICLOUD_DATA]")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *rotate {
		tok, err := RotateToken(*dataDir)
		if err != nil {
			fmt.Fprintf(stderr, "picloud-node: %v\n", err)
			return 1
		}
		fmt.Fprintln(stdout, tok)
		if env("PICLOUD_ADMIN_TOKEN") != "" {
			fmt.Fprintln(stderr, "note: PICLOUD_ADMIN_TOKEN is set and overrides the stored token")
		}
		return 0
	}
	if t := env("PICLOUD_ADMIN_TOKEN"); t != "" {
		fmt.Fprintln(stdout, t)
		return 0
	}
	tok, err := ReadToken(*dataDir)
	if err != nil {
		fmt.Fprintf(stderr, "picloud-node: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, tok)
	return 0
}

func envOr(env func(string) string, name, def string) string {
	if v := env(name); v != "" {
		return v
	}
	return def
}
