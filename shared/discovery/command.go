package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Discover is `picloud-node discover`: it browses the LAN for a few seconds
// and prints the nodes it found, for headless debugging. Its signature is
// that of a server.Command's Run. Flags: --wait, --json, --verbose.
// It exits 0 when the scan ran (even if it found nothing), 1 when no query
// could be sent, 2 on bad flags.
func Discover(ctx context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("picloud-node discover", flag.ContinueOnError)
	fs.SetOutput(stderr)
	wait := fs.Duration("wait", 3*time.Second, "how long to listen for answers")
	asJSON := fs.Bool("json", false, "print the nodes as JSON")
	verbose := fs.Bool("verbose", false, "log every mDNS packet decision to stderr")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: picloud-node discover [--wait 3s] [--json]\n\nLists the PiCloud nodes answering mDNS on this machine's networks.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || *wait <= 0 {
		fs.Usage()
		return 2
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	nodes, err := Scan(ctx, *wait, log)
	if err != nil {
		fmt.Fprintf(stderr, "picloud-node: %v\n", err)
		return 1
	}
	if *asJSON {
		if nodes == nil {
			nodes = []Node{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(nodes)
	} else {
		err = Format(stdout, nodes)
	}
	if err != nil {
		fmt.Fprintf(stderr, "picloud-node: %v\n", err)
		return 1
	}
	return 0
}
