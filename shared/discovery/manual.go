package discovery

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/picloud/picloud/shared"
)

// ParseAddr reads an address typed by the user: "host", "host:port",
// "[v6]:port", optionally with an https:// or http:// prefix and a trailing
// slash. It returns the scheme ("" when not given: try https, then http)
// and host:port, with DefaultAdminPort when no port was typed.
func ParseAddr(s string) (scheme, hostport string, err error) {
	in := s
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "://"); i >= 0 {
		scheme = strings.ToLower(s[:i])
		if scheme != "https" && scheme != "http" {
			return "", "", fmt.Errorf("address %q: scheme must be https or http", in)
		}
		s = s[i+3:]
	}
	s = strings.TrimSuffix(s, "/")
	if s == "" || strings.ContainsAny(s, "/?#@ \t") {
		return "", "", fmt.Errorf("address %q: want host:port", in)
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		// No port: a bare host name, IPv4 or IPv6 address (brackets optional).
		host, port = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), strconv.Itoa(DefaultAdminPort)
		if strings.ContainsAny(host, "[]") || (strings.Contains(host, ":") && !isIP(host)) {
			return "", "", fmt.Errorf("address %q: want host:port", in)
		}
	}
	p, err := strconv.Atoi(port)
	if err != nil || p <= 0 || p > 65535 {
		return "", "", fmt.Errorf("address %q: port must be 1-65535", in)
	}
	if !validHost(host) {
		return "", "", fmt.Errorf("address %q: bad host %q", in, host)
	}
	return scheme, net.JoinHostPort(host, strconv.Itoa(p)), nil
}

// validHost accepts an IP address (IPv6 with an optional zone) or a host
// name without spaces, control characters or URL punctuation.
func validHost(h string) bool {
	if h == "" {
		return false
	}
	if strings.Contains(h, ":") {
		return isIP(h)
	}
	for _, r := range h {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("[]/?#@\\%", r) {
			return false
		}
	}
	return true
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// AddManual adds an address typed by the user and probes it at once. The
// entry is kept even when the probe fails (the node may be off); the
// returned Node then has Err set and so does the error. Only a malformed
// address is refused.
func (b *Browser) AddManual(ctx context.Context, addr string) (Node, error) {
	scheme, hostport, err := ParseAddr(addr)
	if err != nil {
		return Node{}, err
	}
	b.mu.Lock()
	if _, ok := b.manual[hostport]; !ok {
		b.manual[hostport] = &manual{scheme: scheme, node: Node{Manual: hostport, Port: portOf(hostport)}}
	}
	b.mu.Unlock()
	b.notify()
	return b.probeManual(ctx, hostport)
}

// RemoveManual forgets a manual address; it reports whether it was there.
func (b *Browser) RemoveManual(addr string) bool {
	_, hostport, err := ParseAddr(addr)
	if err != nil {
		return false
	}
	b.mu.Lock()
	_, ok := b.manual[hostport]
	delete(b.manual, hostport)
	b.mu.Unlock()
	if ok {
		b.notify()
	}
	return ok
}

// probeManual asks a manual address who it is and records the answer. Once
// the entry has learned a node id, later probes pin it, so a node whose key
// changed shows *shared.IdentityMismatchError instead of a new identity.
func (b *Browser) probeManual(ctx context.Context, hostport string) (Node, error) {
	b.mu.Lock()
	m, ok := b.manual[hostport]
	if !ok {
		b.mu.Unlock()
		return Node{}, fmt.Errorf("no manual entry %s", hostport)
	}
	scheme, pin := m.scheme, m.node.ID
	b.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, b.cfg.ProbeTimeout)
	defer cancel()
	n, err := Probe(ctx, scheme, hostport, pin)

	b.mu.Lock()
	defer b.mu.Unlock()
	m, ok = b.manual[hostport]
	if !ok {
		return n, err // removed meanwhile
	}
	if err != nil {
		prev := m.node
		prev.Err = err
		m.node = prev
	} else {
		m.node = n
		m.scheme = n.Admin // pinned with the id: no later downgrade to http
	}
	b.notify()
	return m.node, err
}

func portOf(hostport string) int {
	_, p, _ := net.SplitHostPort(hostport)
	n, _ := strconv.Atoi(p)
	return n
}

// Probe asks the node at hostport who it is: GET /version over TLS, with the
// node id taken from the certificate's key. With pin set, a different key
// fails with *shared.IdentityMismatchError. scheme "" tries https and falls
// back to http when the server does not speak TLS (admin TLS off); over
// http the id is the one /version reports, unverified. With a pin, ""
// means https: a pinned node is never silently downgraded to plain HTTP,
// where anyone could claim its id.
func Probe(ctx context.Context, scheme, hostport, pin string) (Node, error) {
	if scheme == "" && pin != "" {
		scheme = "https"
	}
	if scheme == "" || scheme == "https" {
		// A bare handshake first: net/http hides tls.RecordHeaderError
		// (the server speaks plain HTTP) behind an untyped error.
		cfg := shared.FirstContactTLSConfig(nil)
		if pin != "" {
			cfg = shared.PinnedTLSConfig(pin)
		}
		conn, err := (&tls.Dialer{Config: cfg}).DialContext(ctx, "tcp", hostport)
		if err == nil {
			conn.Close()
			return probe(ctx, "https", hostport, pin)
		}
		var notTLS tls.RecordHeaderError
		if scheme == "https" || !errors.As(err, &notTLS) {
			return Node{}, fmt.Errorf("probe %s: %w", hostport, err)
		}
	}
	return probe(ctx, "http", hostport, pin)
}

func probe(ctx context.Context, scheme, hostport, pin string) (Node, error) {
	var certID string
	cfg := shared.FirstContactTLSConfig(func(id string) { certID = id })
	if pin != "" {
		cfg = shared.PinnedTLSConfig(pin)
		cfg.VerifyConnection = chain(cfg.VerifyConnection, func(id string) { certID = id })
	}
	tr := &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true, Proxy: nil}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+hostport+"/version", nil)
	if err != nil {
		return Node{}, fmt.Errorf("probe %s: %w", hostport, err)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return Node{}, fmt.Errorf("probe %s: %w", hostport, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Node{}, fmt.Errorf("probe %s: /version answered %s", hostport, resp.Status)
	}
	var v shared.Version
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&v); err != nil {
		return Node{}, fmt.Errorf("probe %s: reading /version: %w", hostport, err)
	}
	if v.Product != shared.Product {
		return Node{}, fmt.Errorf("probe %s: not a PiCloud node (product %q)", hostport, v.Product)
	}
	id := strings.ToUpper(v.NodeID)
	if scheme == "https" {
		id = certID // the key is what counts, not what the body says
	} else if pin != "" && !shared.SameNodeID(pin, id) {
		return Node{}, fmt.Errorf("probe %s: %w", hostport, &shared.IdentityMismatchError{Expected: pin, Got: id})
	}
	n := Node{
		ID:       id,
		Name:     v.Name,
		Port:     portOf(hostport),
		Version:  v.Version,
		Schema:   v.Schema,
		Admin:    scheme,
		DataPort: v.DataPort,
		LastSeen: time.Now(),
		Manual:   hostport,
	}
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		if ip, err := netip.ParseAddr(host); err == nil {
			n.Addrs = []netip.Addr{ip.Unmap()}
		}
	}
	return n, nil
}

// chain runs verify, then reports the id of the peer it accepted.
func chain(verify func(tls.ConnectionState) error, seen func(string)) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if err := verify(cs); err != nil {
			return err
		}
		id, err := shared.PeerNodeID(&cs)
		if err == nil {
			seen(id)
		}
		return err
	}
}
