package e2e

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/picloud/picloud/node/nodetest"
)

// SPEC §10 on a real node: a LAN host (127.0.0.2 stands for one) is
// reached once its range is listed, and the node's own listeners stay
// refused under that range until listed by address and port.
func TestEgressOnARunningNode(t *testing.T) {
	e := start(t)
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2: %v", err)
	}
	lan := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "lan host") }))
	lan.Listener.Close()
	lan.Listener = ln
	lan.Start()
	defer lan.Close()

	e.createApp("Home", "home")
	e.claim("home", "home.test")
	sc := e.script("home", "probe", `async function handle(req) {
		try { const r = await fetch(req.query.url); return r.status + " " + await r.text() } catch (err) { return err.name + ": " + err.message } }`, nil)
	e.route("home", sc.ID, "GET", "/", "")
	probe := func(url string) string {
		t.Helper()
		return e.get("home.test", "/?url="+url).String()
	}
	dataAddr := strings.TrimPrefix(e.n.DataURL, "http://")
	own := e.n.DataURL + "/healthz"
	admin := e.n.AdminURL + "/healthz"

	for _, tc := range []struct {
		name  string
		allow []string
		url   string
		want  string
	}{
		{"closed by default", nil, lan.URL, "TypeError: egress not allowed: 127.0.0.2"},
		{"lan range listed", []string{"127.0.0.0/8"}, lan.URL, "200 lan host"},
		{"own data plane under the range", []string{"127.0.0.0/8"}, own, "TypeError: egress not allowed: 127.0.0.1"},
		{"own admin API under the range", []string{"127.0.0.0/8"}, admin, "TypeError: egress not allowed: 127.0.0.1"},
		{"own data plane listed by address and port", []string{dataAddr}, own, `200 {"status":"ok"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := e.c.SetEgress(e.ctx, "home", tc.allow); err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(probe(tc.url)); got != tc.want {
				t.Fatalf("fetch %s with %q allowed: %q, want %q", tc.url, tc.allow, got, tc.want)
			}
		})
	}
	logs := nodetest.WaitLogs(t, e.c, "home", sc.ID, 5)
	for _, l := range logs {
		if l.Subrequests != 1 {
			t.Errorf("log %d: subrequests %d, want 1", l.ID, l.Subrequests)
		}
	}
}
