package egress

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/picloud/picloud/shared"
)

// upstream is an HTTP server on a loopback address that counts requests
// and says where it runs.
type upstream struct {
	srv  *httptest.Server
	hits atomic.Int64
	port uint16
}

func startUpstream(t *testing.T, addr string) *upstream {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("listen %s: %v", addr, err)
	}
	u := &upstream{}
	u.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		w.Header().Set("Connection", "close") // every request dials afresh
		fmt.Fprintf(w, "hello from %s", ln.Addr())
	}))
	u.srv.Listener.Close()
	u.srv.Listener = ln
	u.srv.Start()
	t.Cleanup(u.srv.Close)
	u.port = netip.MustParseAddrPort(ln.Addr().String()).Port()
	return u
}

// resolver answers A queries from a table the test may change (a DNS
// server on loopback), as a rebinding attacker's name server would.
type resolver struct {
	mu      sync.Mutex
	answers map[string]string // name. → IPv4
}

func (r *resolver) set(name, ip string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answers[dns.Fqdn(name)] = ip
}

func startResolver(t *testing.T) (*resolver, *net.Resolver) {
	t.Helper()
	r := &resolver{answers: map[string]string{}}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		r.mu.Lock()
		ip, ok := r.answers[q.Question[0].Name]
		r.mu.Unlock()
		if ok && q.Question[0].Qtype == dns.TypeA {
			m.Answer = append(m.Answer, &dns.A{
				Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 0},
				A:   net.ParseIP(ip),
			})
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	addr := pc.LocalAddr().String()
	return r, &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

func get(t *testing.T, a *App, url string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Fetch(ctx, req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, b), err
}

func wantDenied(t *testing.T, err error, host string) {
	t.Helper()
	var d *shared.EgressDeniedError
	if !errors.As(err, &d) || d.Host != host || d.Error() != "egress not allowed: "+host {
		t.Fatalf("err = %v, want egress not allowed: %s", err, host)
	}
}

func mustApp(t *testing.T, c *Client, allow ...string) *App {
	t.Helper()
	a, err := c.App(1, allow)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestFetchChecksURLAndDialledAddress(t *testing.T) {
	up := startUpstream(t, "127.0.0.1:0")
	names, res := startResolver(t)
	names.set("api.test", "127.0.0.1")
	c := New(Config{Resolver: res})
	url := func(host string) string { return fmt.Sprintf("http://%s:%d/", host, up.port) }

	cases := []struct {
		name  string
		allow []string
		url   string
		ok    bool
	}{
		{"closed by default", nil, url("127.0.0.1"), false},
		{"ip entry with port", []string{fmt.Sprintf("127.0.0.1:%d", up.port)}, url("127.0.0.1"), true},
		{"ip entry, other port", []string{"127.0.0.1:1"}, url("127.0.0.1"), false},
		{"cidr entry", []string{"127.0.0.0/8"}, url("127.0.0.1"), true},
		{"name listed, resolves to loopback", []string{"api.test"}, url("api.test"), false},
		{"name and its range listed", []string{"api.test", "127.0.0.0/8"}, url("api.test"), true},
		{"range alone does not list the name", []string{"127.0.0.0/8"}, url("api.test"), false},
		{"wildcard and range", []string{"*.test", "127.0.0.1"}, url("api.test"), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := up.hits.Load()
			body, err := get(t, mustApp(t, c, tc.allow...), tc.url)
			if tc.ok {
				if err != nil || body != "200 hello from 127.0.0.1:"+fmt.Sprint(up.port) {
					t.Fatalf("got %q, %v; want the upstream's answer", body, err)
				}
				return
			}
			wantDeniedHost(t, err, tc.url)
			if up.hits.Load() != before {
				t.Error("a refused request reached the upstream")
			}
		})
	}
}

func wantDeniedHost(t *testing.T, err error, url string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	wantDenied(t, err, req.URL.Hostname())
}

// A name that first resolves to an allowed address and then to another
// LAN address is refused the second time: the check is on the address
// dialled, not on the name.
func TestFetchRefusesRebinding(t *testing.T) {
	allowed := startUpstream(t, "127.0.0.2:0")
	target := startUpstream(t, fmt.Sprintf("127.0.0.1:%d", allowed.port))
	names, res := startResolver(t)
	c := New(Config{Resolver: res})
	a := mustApp(t, c, "rebind.test", "127.0.0.2")
	url := fmt.Sprintf("http://rebind.test:%d/", allowed.port)

	names.set("rebind.test", "127.0.0.2")
	if body, err := get(t, a, url); err != nil || body != fmt.Sprintf("200 hello from 127.0.0.2:%d", allowed.port) {
		t.Fatalf("first answer: %q, %v", body, err)
	}
	names.set("rebind.test", "127.0.0.1")
	_, err := get(t, a, url)
	wantDenied(t, err, "rebind.test")
	if target.hits.Load() != 0 {
		t.Fatal("the rebound address was reached")
	}
}

func TestFetchRefusesOwnListeners(t *testing.T) {
	up := startUpstream(t, "127.0.0.1:0")
	own := netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", up.port))
	url := fmt.Sprintf("http://127.0.0.1:%d/", up.port)
	for _, tc := range []struct {
		name  string
		self  netip.AddrPort
		allow []string
		ok    bool
	}{
		{"listener on the address, range listed", own, []string{"127.0.0.0/8"}, false},
		{"listener on the address, ip without port", own, []string{"127.0.0.1"}, false},
		{"listener on every address", netip.AddrPortFrom(netip.IPv4Unspecified(), up.port), []string{"127.0.0.0/8"}, false},
		{"listed by address and port", own, []string{own.String()}, true},
		{"another port of the node", netip.MustParseAddrPort("127.0.0.1:1"), []string{"127.0.0.0/8"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := New(Config{Self: func() []netip.AddrPort { return []netip.AddrPort{tc.self} }})
			body, err := get(t, mustApp(t, c, tc.allow...), url)
			if tc.ok {
				if err != nil || body == "" {
					t.Fatalf("got %q, %v", body, err)
				}
				return
			}
			wantDenied(t, err, "127.0.0.1")
		})
	}
}

func TestFetchHTTPSVerifiesCertificates(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "secure") }))
	defer srv.Close()
	allow := []string{"127.0.0.1"}

	// The system's roots do not know the test's certificate.
	if _, err := get(t, mustApp(t, New(Config{}), allow...), srv.URL); err == nil {
		t.Fatal("a self-signed upstream was accepted with the system roots")
	} else if !isCertError(err) {
		t.Fatalf("err = %v, want a certificate error", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	if body, err := get(t, mustApp(t, New(Config{RootCAs: pool}), allow...), srv.URL); err != nil || body != "200 secure" {
		t.Fatalf("with the test's root: %q, %v", body, err)
	}
}

func isCertError(err error) bool {
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	var he x509.HostnameError
	return errors.As(err, &ua) || errors.As(err, &ci) || errors.As(err, &he)
}

func TestFetchDoesNotFollowRedirects(t *testing.T) {
	up := startUpstream(t, "127.0.0.1:0")
	a := mustApp(t, New(Config{}), "127.0.0.1")
	body, err := get(t, a, fmt.Sprintf("http://127.0.0.1:%d/redirect", up.port))
	if err != nil || body[:3] != "302" || up.hits.Load() != 1 {
		t.Fatalf("got %q, %v after %d requests; want the 302 itself", body, err, up.hits.Load())
	}
}

func TestFetchRefusesOtherSchemes(t *testing.T) {
	a := mustApp(t, New(Config{}), "127.0.0.1")
	if _, err := get(t, a, "ftp://127.0.0.1/"); err == nil {
		t.Fatal("ftp accepted")
	}
}

// A changed allowlist takes effect for the very next request, also for a
// host the old one allowed.
func TestFetchAllowlistChangeTakesEffect(t *testing.T) {
	up := startUpstream(t, "127.0.0.1:0")
	c := New(Config{})
	url := fmt.Sprintf("http://127.0.0.1:%d/", up.port)
	if _, err := get(t, mustApp(t, c, "127.0.0.1"), url); err != nil {
		t.Fatal(err)
	}
	_, err := get(t, mustApp(t, c, "127.0.0.2"), url)
	wantDenied(t, err, "127.0.0.1")
}

// Retain drops the fetchers of apps without an allowlist: a dropped app
// asked again starts from its new list.
func TestRetainDropsOtherApps(t *testing.T) {
	c := New(Config{})
	a1, _ := c.App(1, []string{"127.0.0.1"})
	if _, err := c.App(2, []string{"127.0.0.2"}); err != nil {
		t.Fatal(err)
	}
	c.Retain(map[int64]bool{1: true})
	if len(c.apps) != 1 || c.apps[1] != a1 {
		t.Fatalf("after Retain: %v", c.apps)
	}
	again, _ := c.App(1, []string{"127.0.0.1"})
	if again != a1 {
		t.Fatal("a retained app lost its fetcher")
	}
}
