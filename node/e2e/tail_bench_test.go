package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/picloud/picloud/node/nodetest"
	"github.com/picloud/picloud/shared"
)

// BenchmarkDataPlaneUnderTails measures data-plane requests of an app
// while tails are open: none, 50 idle tails of another app, one stuck
// client of this app that never reads, and one that reads (SPEC §11: a
// tail never slows the data plane). Compare the sub-benchmarks' ns/op
// within one run.
func BenchmarkDataPlaneUnderTails(b *testing.B) {
	for _, tc := range []struct {
		name                 string
		stuck, idle, reading int
	}{{"no_tail", 0, 0, 0}, {"idle_tails_50", 0, 50, 0}, {"stuck_tail", 1, 0, 0}, {"reading_tail", 0, 0, 1}} {
		b.Run(tc.name, func(b *testing.B) {
			n := nodetest.Start(b)
			ctx := b.Context()
			c := n.Client
			must := func(err error) {
				if err != nil {
					b.Fatal(err)
				}
			}
			_, err := c.CreateApp(ctx, shared.CreateAppRequest{Name: "Watch", Slug: "watch"})
			must(err)
			_, err = c.CreateApp(ctx, shared.CreateAppRequest{Name: "Quiet", Slug: "quiet"})
			must(err)
			_, err = c.AddDomain(ctx, "watch", "watch.test")
			must(err)
			sc, err := c.CreateScript(ctx, shared.CreateScriptRequest{AppID: "watch", Name: "api", Source: tailScript})
			must(err)
			_, err = c.CreateRoute(ctx, "watch", shared.CreateRouteRequest{ScriptID: sc.ID, Method: "ANY", Path: "/*path"})
			must(err)
			for range tc.stuck {
				u, _ := url.Parse(n.AdminURL)
				conn, err := net.Dial("tcp", u.Host)
				must(err)
				defer conn.Close()
				fmt.Fprintf(conn, "GET /api/v1/admin/apps/watch/tail HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", n.Token)
			}
			tails := func(app string, k int) {
				for range k {
					opened := make(chan error, 1)
					go c.Tail(ctx, app, shared.TailFilter{}, func(ev shared.TailEvent) error {
						if ev.Opened {
							opened <- nil
						}
						return nil
					})
					<-opened
				}
			}
			tails("quiet", tc.idle)
			tails("watch", tc.reading)
			hc := &http.Client{}
			path := "/" + strings.Repeat("x", 2000)
			b.ResetTimer()
			for i := range b.N {
				if err := dataGet(ctx, hc, n, path+fmt.Sprint(i)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func dataGet(ctx context.Context, hc *http.Client, n *nodetest.Node, path string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, n.DataURL+path, nil)
	req.Host = "watch.test"
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
