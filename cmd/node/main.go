// Command picloud-node runs a PiCloud node. Everything but wiring lives in
// node/server and the packages it names.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	nodediscovery "github.com/picloud/picloud/node/discovery"
	"github.com/picloud/picloud/node/install"
	"github.com/picloud/picloud/node/server"
	"github.com/picloud/picloud/shared/discovery"
)

// Stamped by the release build: -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cli := server.CLI{
		Version:  version,
		Commit:   commit,
		Announce: announce,
		Extra: []server.Command{
			{Name: "discover", Usage: "list the PiCloud nodes on the LAN (mDNS)", Run: discover},
			{Name: "install", Usage: "install this binary as a systemd service (root)", Run: install.InstallCommand},
			{Name: "uninstall", Usage: "remove the systemd service (--purge also deletes data)", Run: install.UninstallCommand},
		},
	}
	os.Exit(cli.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// announce advertises the node over mDNS for as long as it serves.
func announce(n *server.Node, log *slog.Logger) func(ctx context.Context) {
	return func(ctx context.Context) {
		cfg := n.Config()
		nodediscovery.Announce(ctx, nodediscovery.Info{
			Name:      cfg.Name,
			NodeID:    n.NodeID(),
			Version:   cfg.Version,
			Schema:    n.Version().Schema,
			AdminTLS:  cfg.AdminTLS,
			AdminPort: port(n.AdminAddr()),
			DataPort:  port(n.DataAddr()),
		}, log)
	}
}

func port(a net.Addr) int {
	_, p, _ := net.SplitHostPort(a.String())
	n, _ := strconv.Atoi(p)
	return n
}

// discover is `picloud-node discover`: browse the LAN for a while and list
// what answered, for headless debugging.
func discover(ctx context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("picloud-node discover", flag.ContinueOnError)
	fs.SetOutput(stderr)
	wait := fs.Duration("wait", 3*time.Second, "how long to listen for answers")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	nodes, err := discovery.Scan(ctx, *wait, log)
	if err != nil {
		fmt.Fprintf(stderr, "picloud-node discover: %v\n", err)
		return 1
	}
	if err := discovery.Format(stdout, nodes); err != nil {
		return 1
	}
	return 0
}
