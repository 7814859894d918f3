// Command picloud-node runs a PiCloud node. Everything but wiring lives in
// node/server.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/picloud/picloud/node/install"
	"github.com/picloud/picloud/node/server"
)

// Stamped by the release build: -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cli := server.CLI{Version: version, Commit: commit}
	cli.Extra = append(cli.Extra,
		server.Command{Name: "install", Usage: install.InstallUsage, Run: install.InstallCommand},
		server.Command{Name: "uninstall", Usage: install.UninstallUsage, Run: install.UninstallCommand},
	)
	os.Exit(cli.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}
