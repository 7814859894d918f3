package discovery

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"
)

// Scan browses for d (at least one query round) and returns the nodes that
// answered; it is `picloud-node discover`. It fails only when no query could
// be sent at all (no multicast-capable network).
func Scan(ctx context.Context, d time.Duration, log *slog.Logger) ([]Node, error) {
	if d <= 0 {
		d = DefaultQueryTimeout
	}
	round := min(d, time.Second)
	b := NewBrowser(Config{Interval: round, QueryTimeout: round, TTL: d + time.Minute, Logger: log})
	deadline := time.Now().Add(d)
	var lastErr error
	ok := false
	for {
		if err := b.Query(ctx); err != nil {
			lastErr = err
		} else {
			ok = true
		}
		if ctx.Err() != nil || time.Until(deadline) < round/2 {
			break
		}
	}
	if !ok {
		return nil, fmt.Errorf("discover: %w", lastErr)
	}
	return b.Nodes(), ctx.Err()
}

// Format writes nodes as a table for a terminal: name, id, admin URL,
// addresses and version.
func Format(w io.Writer, nodes []Node) error {
	if len(nodes) == 0 {
		_, err := fmt.Fprintln(w, "no PiCloud nodes found")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tNODE ID\tADMIN\tADDRESSES\tVERSION\tSCHEMA")
	for _, n := range nodes {
		addrs := make([]string, len(n.Addrs))
		for i, a := range n.Addrs {
			addrs[i] = a.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", printable(n.Name), dash(n.ID), dash(n.AdminURL()),
			dash(strings.Join(addrs, ",")), dash(printable(n.Version)), n.Schema)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printable keeps names from the network from moving the cursor or
// breaking the table.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == '\t' {
			return '?'
		}
		return r
	}, s)
}
