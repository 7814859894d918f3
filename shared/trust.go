package shared

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
)

// A node's admin API uses a self-signed certificate, so there is no CA to
// ask. Trust works like Syncthing: the console pins the node id (a hash of
// the certificate's public key, SPEC §1) and accepts a connection only when
// the presented key hashes to it. A renewed certificate with the same key
// keeps working; a new key is refused with *IdentityMismatchError.

// IdentityMismatchError is returned (wrapped by net/http and crypto/tls as
// the case may be; use errors.As) when a node presents a certificate whose
// key does not hash to the node id it was paired with.
type IdentityMismatchError struct {
	Expected string // the pinned node id
	Got      string // the id of the key the node presented
}

func (e *IdentityMismatchError) Error() string {
	return fmt.Sprintf("node identity changed: expected node id %s but the node presented %s; "+
		"if the node was reinstalled or its key was replaced, remove it and pair again", e.Expected, e.Got)
}

// ErrNoPeerCertificate is returned when a TLS peer presented no certificate.
var ErrNoPeerCertificate = errors.New("node presented no certificate")

// PeerNodeID returns the node id of the leaf certificate of a TLS connection
// (for example http.Response.TLS).
func PeerNodeID(cs *tls.ConnectionState) (string, error) {
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return "", ErrNoPeerCertificate
	}
	return NodeIDFromSPKI(cs.PeerCertificates[0].RawSubjectPublicKeyInfo), nil
}

// SameNodeID reports whether two node ids are equal. Ids are upper case
// base32, but one typed by a person may not be; surrounding space is ignored.
func SameNodeID(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// PinnedTLSConfig returns a client TLS config that accepts the server only if
// its certificate's key hashes to nodeID. CA and host name checks are skipped
// on purpose: the pin is the whole trust decision. The check runs in
// VerifyConnection, which also runs on resumed sessions, unlike
// VerifyPeerCertificate. An empty nodeID refuses every server.
func PinnedTLSConfig(nodeID string) *tls.Config {
	want := strings.ToUpper(strings.TrimSpace(nodeID))
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // replaced by the node id check below
		VerifyConnection: func(cs tls.ConnectionState) error {
			got, err := PeerNodeID(&cs)
			if err != nil {
				return err
			}
			if want == "" || got != want {
				return &IdentityMismatchError{Expected: want, Got: got}
			}
			return nil
		},
	}
}

// FirstContactTLSConfig returns a client TLS config that accepts any server
// certificate and calls seen (if not nil) with the node id it presented, so
// the console can show the id to the user before pairing. Use it only to
// learn an id; once paired, use PinnedTLSConfig.
func FirstContactTLSConfig(seen func(nodeID string)) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // first contact: nothing to pin yet
		VerifyConnection: func(cs tls.ConnectionState) error {
			id, err := PeerNodeID(&cs)
			if err != nil {
				return err
			}
			if seen != nil {
				seen(id)
			}
			return nil
		},
	}
}

// ProbeNodeID makes a TLS handshake with addr (host:port) and returns the
// node id of the certificate it presents, without sending a request.
func ProbeNodeID(ctx context.Context, addr string) (string, error) {
	d := tls.Dialer{Config: FirstContactTLSConfig(nil)}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("probe node id at %s: %w", addr, err)
	}
	defer conn.Close()
	cs := conn.(*tls.Conn).ConnectionState()
	id, err := PeerNodeID(&cs)
	if err != nil {
		return "", fmt.Errorf("probe node id at %s: %w", addr, err)
	}
	return id, nil
}

// VerifyNodeID makes a TLS handshake with addr and checks that it presents
// the certificate of nodeID; a different key gives *IdentityMismatchError.
func VerifyNodeID(ctx context.Context, addr, nodeID string) error {
	d := tls.Dialer{NetDialer: &net.Dialer{}, Config: PinnedTLSConfig(nodeID)}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connect to node %s at %s: %w", nodeID, addr, err)
	}
	return conn.Close()
}
