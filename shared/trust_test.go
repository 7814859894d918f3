package shared_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/picloud/picloud/shared"
)

// selfSigned makes a self-signed server certificate for key, like a node's.
func selfSigned(t *testing.T, key crypto.Signer, serial int64) tls.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "picloud test node"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"picloud.local"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func nodeID(t *testing.T, key crypto.Signer) string {
	t.Helper()
	id, err := shared.NodeID(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// tlsNode starts a loopback HTTPS server presenting cert.
func tlsNode(t *testing.T, cert tls.Certificate) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func get(cfg *tls.Config, url string) error {
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
	defer c.CloseIdleConnections()
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

func TestPinnedTLSConfig(t *testing.T) {
	paired := newKey(t)
	other := newKey(t)
	pairedID := nodeID(t, paired)
	otherID := nodeID(t, other)

	tests := []struct {
		name    string
		cert    tls.Certificate
		pin     string
		wantGot string // "" = accepted
	}{
		{"paired node", selfSigned(t, paired, 1), pairedID, ""},
		{"renewed certificate, same key", selfSigned(t, paired, 2), pairedID, ""},
		{"pin typed in lower case", selfSigned(t, paired, 3), strings.ToLower(pairedID), ""},
		{"key changed", selfSigned(t, other, 4), pairedID, otherID},
		{"nothing pinned", selfSigned(t, paired, 5), "", pairedID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := tlsNode(t, tt.cert)
			err := get(shared.PinnedTLSConfig(tt.pin), srv.URL)
			if tt.wantGot == "" {
				if err != nil {
					t.Fatalf("paired node refused: %v", err)
				}
				return
			}
			var mismatch *shared.IdentityMismatchError
			if !errors.As(err, &mismatch) {
				t.Fatalf("err = %v, want *IdentityMismatchError", err)
			}
			if mismatch.Got != tt.wantGot || mismatch.Expected != strings.ToUpper(tt.pin) {
				t.Errorf("mismatch = %+v, want expected %q got %q", mismatch, tt.pin, tt.wantGot)
			}
			if !strings.Contains(err.Error(), "identity changed") {
				t.Errorf("message %q does not say the identity changed", err)
			}
		})
	}
}

func TestVerifyNodeID(t *testing.T) {
	paired, other := newKey(t), newKey(t)
	right := tlsNode(t, selfSigned(t, paired, 1))
	wrong := tlsNode(t, selfSigned(t, other, 1))
	ctx := context.Background()

	if err := shared.VerifyNodeID(ctx, right.Listener.Addr().String(), nodeID(t, paired)); err != nil {
		t.Errorf("right node refused: %v", err)
	}
	err := shared.VerifyNodeID(ctx, wrong.Listener.Addr().String(), nodeID(t, paired))
	var mismatch *shared.IdentityMismatchError
	if !errors.As(err, &mismatch) || mismatch.Got != nodeID(t, other) {
		t.Errorf("node with a changed key: err = %v, want identity mismatch reporting %s", err, nodeID(t, other))
	}
}

func TestFirstContactShowsNodeID(t *testing.T) {
	key := newKey(t)
	want := nodeID(t, key)
	srv := tlsNode(t, selfSigned(t, key, 1))

	var seen string
	if err := get(shared.FirstContactTLSConfig(func(id string) { seen = id }), srv.URL); err != nil {
		t.Fatalf("first contact refused: %v", err)
	}
	if seen != want {
		t.Errorf("first contact saw %q, want %q", seen, want)
	}

	got, err := shared.ProbeNodeID(context.Background(), srv.Listener.Addr().String())
	if err != nil || got != want {
		t.Errorf("ProbeNodeID = %q, %v; want %q", got, err, want)
	}
}

func TestProbeNodeIDPlainHTTP(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if id, err := shared.ProbeNodeID(ctx, srv.Listener.Addr().String()); err == nil {
		t.Errorf("plain HTTP server gave node id %q, want an error", id)
	}
}

func TestPeerNodeIDWithoutCertificate(t *testing.T) {
	if _, err := shared.PeerNodeID(nil); !errors.Is(err, shared.ErrNoPeerCertificate) {
		t.Errorf("err = %v, want ErrNoPeerCertificate", err)
	}
}

// The console's path: a shared.Client pinned to the paired node id.
func TestClientPinnedToNodeID(t *testing.T) {
	paired, other := newKey(t), newKey(t)
	right := tlsNode(t, selfSigned(t, paired, 1))
	wrong := tlsNode(t, selfSigned(t, other, 1))
	pin := shared.WithTLSConfig(shared.PinnedTLSConfig(nodeID(t, paired)))
	ctx := context.Background()

	if err := shared.NewClient(right.URL, "token", pin).Health(ctx); err != nil {
		t.Errorf("paired node refused: %v", err)
	}
	err := shared.NewClient(wrong.URL, "token", pin).Health(ctx)
	var mismatch *shared.IdentityMismatchError
	if !errors.As(err, &mismatch) || mismatch.Got != nodeID(t, other) {
		t.Errorf("node with a changed key: err = %v, want *IdentityMismatchError", err)
	}
}
