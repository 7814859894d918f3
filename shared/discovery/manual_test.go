package discovery_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/shared"
	"github.com/picloud/picloud/shared/discovery"
)

// Manual entries need no mDNS: these tests talk to loopback HTTP(S) servers
// answering /version like a node, with ManualOnly so nothing is multicast.

type testNode struct {
	id   string
	cert tls.Certificate
}

func newTestNode(t *testing.T) testNode {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "picloud"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	id, err := shared.NodeID(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return testNode{id: id, cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}}
}

func versionHandler(v shared.Version) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/version" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(v)
	})
}

// serve runs a node on addr ("127.0.0.1:0" for any port), over TLS with
// n's certificate, or plain HTTP when n is nil.
func serve(t *testing.T, addr string, n *testNode, v shared.Version) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(versionHandler(v))
	srv.Listener.Close()
	srv.Listener = ln
	if n == nil {
		srv.Start()
	} else {
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{n.cert}}
		srv.StartTLS()
	}
	t.Cleanup(srv.Close)
	return srv
}

func manualBrowser() *discovery.Browser {
	return discovery.NewBrowser(discovery.Config{ManualOnly: true, ProbeTimeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)})
}

func TestManualEntryLearnsNodeID(t *testing.T) {
	n := newTestNode(t)
	srv := serve(t, "127.0.0.1:0", &n, shared.Version{Product: "picloud", Version: "1.4.0", Schema: 6, NodeID: n.id, Name: "attic"})
	addr := srv.Listener.Addr().String()
	b := manualBrowser()

	got, err := b.AddManual(context.Background(), addr)
	if err != nil {
		t.Fatalf("AddManual: %v", err)
	}
	if got.ID != n.id || got.Name != "attic" || got.Version != "1.4.0" || got.Schema != 6 || got.Admin != "https" || got.Manual != addr {
		t.Errorf("manual node = %+v", got)
	}
	if got.AdminURL() != "https://"+addr {
		t.Errorf("AdminURL = %q", got.AdminURL())
	}
	nodes := b.Nodes()
	if len(nodes) != 1 || nodes[0].ID != n.id || nodes[0].Discovered {
		t.Errorf("Nodes() = %+v", nodes)
	}
	select {
	case <-b.Changes():
	default:
		t.Error("adding a manual entry did not notify")
	}
	if !b.RemoveManual(addr) || len(b.Nodes()) != 0 {
		t.Errorf("RemoveManual left %+v", b.Nodes())
	}
}

// The id comes from the certificate's key, not from what /version claims.
func TestManualEntryTrustsTheKeyNotTheBody(t *testing.T) {
	n := newTestNode(t)
	srv := serve(t, "127.0.0.1:0", &n, shared.Version{Product: "picloud", NodeID: "LIARLIARLIARLIARLIARLIARLI", Name: "liar"})
	got, err := manualBrowser().AddManual(context.Background(), "https://"+srv.Listener.Addr().String()+"/")
	if err != nil || got.ID != n.id {
		t.Errorf("AddManual = %+v, %v; want id %s from the certificate", got, err, n.id)
	}
}

func TestManualEntryRefusesChangedIdentity(t *testing.T) {
	first, second := newTestNode(t), newTestNode(t)
	v := shared.Version{Product: "picloud", Version: "1.0.0", Schema: 1, NodeID: first.id, Name: "pi"}
	srv := serve(t, "127.0.0.1:0", &first, v)
	addr := srv.Listener.Addr().String()
	b := manualBrowser()
	if _, err := b.AddManual(context.Background(), addr); err != nil {
		t.Fatal(err)
	}

	// The node is reinstalled: same address, new key.
	srv.Close()
	v.NodeID = second.id
	serve(t, addr, &second, v)
	b.Refresh(context.Background())

	nodes := b.Nodes()
	if len(nodes) != 1 {
		t.Fatalf("Nodes() = %+v", nodes)
	}
	var mismatch *shared.IdentityMismatchError
	if !errors.As(nodes[0].Err, &mismatch) || mismatch.Expected != first.id || mismatch.Got != second.id {
		t.Fatalf("err = %v, want identity mismatch %s → %s", nodes[0].Err, first.id, second.id)
	}
	if nodes[0].ID != first.id {
		t.Errorf("entry took the new identity %s; it must keep the pinned %s", nodes[0].ID, first.id)
	}
	if !strings.Contains(nodes[0].Err.Error(), "identity changed") {
		t.Errorf("message %q does not say why", nodes[0].Err)
	}
}

func TestManualEntryPlainHTTP(t *testing.T) {
	srv := serve(t, "127.0.0.1:0", nil, shared.Version{Product: "picloud", Version: "1.0.0", NodeID: strings.Repeat("C", 26), Name: "dev"})
	got, err := manualBrowser().AddManual(context.Background(), srv.Listener.Addr().String())
	if err != nil {
		t.Fatalf("AddManual: %v", err)
	}
	if got.Admin != "http" || got.ID != strings.Repeat("C", 26) || got.Name != "dev" {
		t.Errorf("plain-HTTP node = %+v", got)
	}
	if !strings.HasPrefix(got.AdminURL(), "http://") {
		t.Errorf("AdminURL = %q", got.AdminURL())
	}
}

func TestManualEntryKeptWhenUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now

	b := manualBrowser()
	got, err := b.AddManual(context.Background(), addr)
	if err == nil {
		t.Fatal("AddManual of a dead address gave no error")
	}
	if got.Err == nil || got.Manual != addr {
		t.Errorf("node = %+v, want the entry with its error", got)
	}
	if nodes := b.Nodes(); len(nodes) != 1 || nodes[0].Manual != addr || nodes[0].Err == nil {
		t.Errorf("Nodes() = %+v, want the entry kept with its error", nodes)
	}
}

func TestManualEntryNotAPiCloudNode(t *testing.T) {
	srv := serve(t, "127.0.0.1:0", nil, shared.Version{Product: "something-else"})
	if _, err := manualBrowser().AddManual(context.Background(), srv.Listener.Addr().String()); err == nil {
		t.Error("a server that is not a PiCloud node was accepted")
	}
}

func TestParseAddr(t *testing.T) {
	tests := []struct {
		in, scheme, hostport string
		wantErr              bool
	}{
		{"pi.local:7070", "", "pi.local:7070", false},
		{"pi.local", "", "pi.local:7070", false},
		{" 192.168.1.5:7443 ", "", "192.168.1.5:7443", false},
		{"https://pi.local:7070/", "https", "pi.local:7070", false},
		{"HTTP://pi.local", "http", "pi.local:7070", false},
		{"[fe80::1%eth0]:7070", "", "[fe80::1%eth0]:7070", false},
		{"fd00::5", "", "[fd00::5]:7070", false},
		{"[fd00::5]", "", "[fd00::5]:7070", false},
		{"ftp://pi.local", "", "", true},
		{"pi.local:0", "", "", true},
		{"pi.local:99999", "", "", true},
		{"pi.local:http", "", "", true},
		{"https://pi.local/admin", "", "", true},
		{"user@pi.local", "", "", true},
		{"", "", "", true},
		{":7070", "", "", true},
		{"a:b:c", "", "", true},
		{"pi\x01.local:7070", "", "", true},
		{"[\f0", "", "", true},
	}
	for _, tt := range tests {
		scheme, hp, err := discovery.ParseAddr(tt.in)
		if (err != nil) != tt.wantErr || scheme != tt.scheme || hp != tt.hostport {
			t.Errorf("ParseAddr(%q) = %q, %q, %v; want %q, %q, err %v", tt.in, scheme, hp, err, tt.scheme, tt.hostport, tt.wantErr)
		}
	}
}

func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{"pi.local:7070", "https://[::1]:7070/", "fd00::5", "[x", "http://:", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		scheme, hp, err := discovery.ParseAddr(s)
		if err != nil {
			return
		}
		if scheme != "" && scheme != "https" && scheme != "http" {
			t.Fatalf("ParseAddr(%q) scheme %q", s, scheme)
		}
		host, port, err := net.SplitHostPort(hp)
		if err != nil || host == "" || port == "" || port == "0" {
			t.Fatalf("ParseAddr(%q) = %q, not a usable host:port", s, hp)
		}
		// Idempotent: what it returns parses to itself.
		_, again, err := discovery.ParseAddr(hp)
		if err != nil || again != hp {
			t.Fatalf("ParseAddr(%q) = %q, which reparses as %q, %v", s, hp, again, err)
		}
	})
}

func TestFormat(t *testing.T) {
	var buf bytes.Buffer
	if err := discovery.Format(&buf, nil); err != nil || !strings.Contains(buf.String(), "no PiCloud nodes found") {
		t.Errorf("empty list printed %q, %v", buf.String(), err)
	}
	buf.Reset()
	n := newTestNode(t)
	srv := serve(t, "127.0.0.1:0", &n, shared.Version{Product: "picloud", Version: "1.4.0", Schema: 6, NodeID: n.id, Name: "attic\x1b[2J"})
	b := manualBrowser()
	if _, err := b.AddManual(context.Background(), srv.Listener.Addr().String()); err != nil {
		t.Fatal(err)
	}
	if err := discovery.Format(&buf, b.Nodes()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"NAME", "NODE ID", n.id, "https://" + srv.Listener.Addr().String(), "1.4.0", "127.0.0.1"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("a control character from the network reached the terminal:\n%q", out)
	}
}

// A node first met over TLS that later answers in plain HTTP (anyone can
// claim an id there) is refused, not silently downgraded.
func TestManualEntryNoDowngradeToPlainHTTP(t *testing.T) {
	n := newTestNode(t)
	v := shared.Version{Product: "picloud", Version: "1.0.0", NodeID: n.id, Name: "pi"}
	srv := serve(t, "127.0.0.1:0", &n, v)
	addr := srv.Listener.Addr().String()
	b := manualBrowser()
	if _, err := b.AddManual(context.Background(), addr); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	serve(t, addr, nil, v) // same address, same claimed id, no TLS
	b.Refresh(context.Background())
	if nodes := b.Nodes(); len(nodes) != 1 || nodes[0].Err == nil || nodes[0].Admin != "https" {
		t.Errorf("Nodes() = %+v, want the https entry with an error", nodes)
	}
	if _, err := discovery.Probe(context.Background(), "", addr, n.id); err == nil {
		t.Error("pinned Probe accepted plain HTTP")
	}
}

// A dev node with admin TLS off stays reachable as a manual entry.
func TestManualEntryPlainHTTPStaysReachable(t *testing.T) {
	srv := serve(t, "127.0.0.1:0", nil, shared.Version{Product: "picloud", NodeID: strings.Repeat("D", 26), Name: "dev"})
	b := manualBrowser()
	if _, err := b.AddManual(context.Background(), srv.Listener.Addr().String()); err != nil {
		t.Fatal(err)
	}
	b.Refresh(context.Background())
	if nodes := b.Nodes(); len(nodes) != 1 || nodes[0].Err != nil || nodes[0].Admin != "http" {
		t.Errorf("Nodes() = %+v", nodes)
	}
}
