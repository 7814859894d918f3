// Command picloud-node runs a PiCloud node. Everything but wiring lives in
// node/server.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

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
	os.Exit(cli.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}
