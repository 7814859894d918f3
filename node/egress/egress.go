// Package egress makes the outbound HTTP requests of scripts (SPEC §10),
// behind each app's egress allowlist. It checks a request twice: its URL
// against the allowlist before anything is sent, and the address actually
// dialled, after DNS resolution, in the dialer's Control hook, so a name
// listed for the Internet that resolves (or is rebound) to a LAN address
// is refused unless an IP or CIDR entry covers that address. It follows no
// redirect: each hop is a new Fetch, checked again (the executor follows
// them).
//
// Each app has a transport of its own, so a connection one app's policy
// allowed is never reused by another app's request.
package egress

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/picloud/picloud/node/executor"
	"github.com/picloud/picloud/shared"
)

// Config configures a Client; zero values are sensible defaults.
type Config struct {
	// Resolver resolves names; nil is the system's. Tests inject one that
	// asks a DNS server of their own.
	Resolver *net.Resolver
	// Self returns the addresses the node's own listeners are bound to
	// (an unspecified address stands for every local one); they are
	// refused unless listed by address and port. nil means none.
	Self func() []netip.AddrPort
	// RootCAs verifies https upstreams; nil means the system's roots.
	RootCAs *x509.CertPool
}

// Client holds the per-app transports. It is safe for concurrent use.
type Client struct {
	cfg Config

	mu   sync.Mutex
	apps map[int64]*App
}

// New returns a Client.
func New(cfg Config) *Client {
	return &Client{cfg: cfg, apps: make(map[int64]*App)}
}

// App returns the fetcher of an app with the given allowlist (entries as
// stored, canonical). The same app keeps its transport across rebuilds;
// when its allowlist changed, its idle connections are closed, so nothing
// dialled under the old list is reused under the new one.
func (c *Client) App(appID int64, allow []string) (*App, error) {
	policy, err := shared.NewEgressPolicy(allow)
	if err != nil {
		return nil, fmt.Errorf("egress of app %d: %w", appID, err)
	}
	key := fmt.Sprint(allow)
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.apps[appID]
	if !ok {
		a = &App{}
		c.apps[appID] = a
	}
	if !ok || a.key != key {
		a.mu.Lock()
		old := a.transport
		a.policy, a.key, a.transport = policy, key, c.newTransport()
		a.mu.Unlock()
		if old != nil {
			old.CloseIdleConnections()
		}
	}
	return a, nil
}

// Fetcher is App as the orchestrator asks for it.
func (c *Client) Fetcher(appID int64, allow []string) (executor.Fetcher, error) {
	return c.App(appID, allow)
}

// Retain drops the transports of apps not in keep (deleted apps).
func (c *Client) Retain(keep map[int64]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, a := range c.apps {
		if !keep[id] {
			_, tr := a.current()
			tr.CloseIdleConnections()
			delete(c.apps, id)
		}
	}
}

// App makes one app's requests; it implements executor.Fetcher. A new
// allowlist comes with a new transport, so no connection dialled under
// the old list serves a request under the new one.
type App struct {
	mu        sync.Mutex
	policy    *shared.EgressPolicy
	transport *http.Transport
	key       string
}

func (a *App) current() (*shared.EgressPolicy, *http.Transport) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.policy, a.transport
}

// Fetch sends one request, without following redirects: the response to a
// redirect is returned as it is. A URL or address the allowlist does not
// allow is a *shared.EgressDeniedError; nothing is sent then.
func (a *App) Fetch(ctx context.Context, req *http.Request) (*http.Response, error) {
	u := req.URL
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("scheme %q is not supported: only http and https", u.Scheme)
	}
	host := u.Hostname()
	port, err := urlPort(u.Scheme, u.Port())
	if err != nil {
		return nil, err
	}
	policy, transport := a.current()
	if !policy.AllowsURL(host, port) {
		return nil, &shared.EgressDeniedError{Host: host}
	}
	req = req.WithContext(withDial(ctx, dialInfo{policy: policy, host: host}))
	resp, err := transport.RoundTrip(req)
	if err != nil {
		var denied *shared.EgressDeniedError
		if errors.As(err, &denied) {
			return nil, denied
		}
		return nil, err
	}
	return resp, nil
}

func urlPort(scheme, p string) (uint16, error) {
	if p == "" {
		if scheme == "https" {
			return 443, nil
		}
		return 80, nil
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("invalid port %q", p)
	}
	return uint16(n), nil
}

// dialInfo is what the dialer checks an address against: the policy in
// force when the request was made, and the URL's host for the error.
type dialInfo struct {
	policy *shared.EgressPolicy
	host   string
}

type dialKey struct{}

func withDial(ctx context.Context, d dialInfo) context.Context {
	return context.WithValue(ctx, dialKey{}, d)
}

// newTransport builds an app's transport. Its dialer checks every address
// it connects to, after resolution: the Control hook sees the address of
// each attempt (every A and AAAA record the dialer tries).
func (c *Client) newTransport() *http.Transport {
	tr := &http.Transport{
		Proxy:             nil, // never a proxy from the environment: it would dial for us
		ForceAttemptHTTP2: true,
		// A script proxying one upstream for many concurrent requests
		// reuses connections instead of dialling one per run; an idle
		// connection costs two goroutines and its buffers.
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    32,
		IdleConnTimeout:        30 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  0, // the run's deadline bounds it
		MaxResponseHeaderBytes: 64 << 10,
		TLSClientConfig:        &tls.Config{RootCAs: c.cfg.RootCAs, MinVersion: tls.VersionTLS12},
	}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		info, ok := ctx.Value(dialKey{}).(dialInfo)
		if !ok {
			return nil, errors.New("egress: dial without a policy")
		}
		d := &net.Dialer{
			Timeout:  10 * time.Second,
			Resolver: c.cfg.Resolver,
			Control: func(network, address string, _ syscall.RawConn) error {
				ap, err := netip.ParseAddrPort(address)
				if err != nil {
					return &shared.EgressDeniedError{Host: info.host}
				}
				if !info.policy.AllowsDial(ap, c.isSelf(ap)) {
					return &shared.EgressDeniedError{Host: info.host}
				}
				return nil
			},
		}
		return d.DialContext(ctx, network, addr)
	}
	return tr
}

// isSelf reports whether ap is one of the node's own listeners.
func (c *Client) isSelf(ap netip.AddrPort) bool {
	if c.cfg.Self == nil {
		return false
	}
	addr := ap.Addr().Unmap().WithZone("")
	var local []netip.Addr // the machine's addresses, read once if needed
	for _, l := range c.cfg.Self() {
		if l.Port() != ap.Port() {
			continue
		}
		la := l.Addr().Unmap()
		if !la.IsUnspecified() {
			if la == addr {
				return true
			}
			continue
		}
		if addr.IsLoopback() || addr.IsUnspecified() {
			return true
		}
		if local == nil {
			local = localAddrs()
		}
		for _, a := range local {
			if a == addr {
				return true
			}
		}
	}
	return false
}

// localAddrs lists the addresses of the machine's interfaces.
func localAddrs() []netip.Addr {
	out := []netip.Addr{}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return out
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr().Unmap())
		}
	}
	return out
}
