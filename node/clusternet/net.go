// Package clusternet carries the traffic between cluster members (SPEC §12):
// one TLS listener on --cluster-bind, both ends pinned by node id, with three
// channels on it picked by the first byte after the handshake: Raft's own
// RPCs (a raft.StreamLayer), writes a follower forwards to the leader, and
// the join hand-shake with a node that is not a member yet.
package clusternet

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/picloud/picloud/shared"
)

// Channel bytes, sent by the dialer right after the TLS handshake.
const (
	chanRaft    byte = 'R'
	chanForward byte = 'F'
	chanJoin    byte = 'J'
	chanMember  byte = 'M' // membership requests to the leader (members.go)
)

// handshakeTimeout bounds a TLS handshake plus the channel byte, so a
// stranger holding a socket open costs a goroutine for this long at most.
const handshakeTimeout = 10 * time.Second

// Members answers whether a node id belongs to the cluster (the latest Raft
// configuration, committed or not). Only members (and nodes with a pending
// join) may open the raft and forward channels.
type Members interface {
	IsMember(nodeID string) bool
}

// Config configures a Net.
type Config struct {
	Bind    string          // listen address, e.g. ":7071"
	Cert    tls.Certificate // the node's identity certificate (its key gives the node id)
	Members Members         // nil: nobody is a member yet
	Logger  *slog.Logger
}

// Net is the node's cluster listener and dialer.
type Net struct {
	nodeID  string
	cert    tls.Certificate
	members atomic.Value // membersBox
	log     *slog.Logger
	bind    string
	ln      net.Listener // nil until Listen (guarded by mu)

	raftConns chan net.Conn
	closed    chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup

	advertise atomic.Value // string host:port others dial this node at

	mu      sync.Mutex
	pending map[string]time.Time    // node id → until when it may connect without being a member
	fpool   map[string][]pooledConn // idle forward connections by NODEID@host:port

	forward atomic.Value // ForwardHandler
	member  atomic.Value // ForwardHandler of membership requests
	join    atomic.Value // JoinHandler
}

// New returns the node's cluster network; it dials at once and listens
// on cfg.Bind from Listen on: a node in no cluster holds no port.
func New(cfg Config) (*Net, error) {
	id, err := CertNodeID(cfg.Cert)
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	n := &Net{
		nodeID: id, cert: cfg.Cert, log: cfg.Logger, bind: cfg.Bind,
		raftConns: make(chan net.Conn), closed: make(chan struct{}),
		pending: map[string]time.Time{}, fpool: map[string][]pooledConn{},
	}
	n.advertise.Store("")
	n.SetMembers(cfg.Members)
	return n, nil
}

// Listen binds the listener and serves it until Close; once bound, later
// calls do nothing.
func (n *Net) Listen() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ln != nil {
		return nil
	}
	select {
	case <-n.closed:
		return ErrClosed
	default:
	}
	ln, err := net.Listen("tcp", n.bind)
	if err != nil {
		return fmt.Errorf("cluster bind %s (--cluster-bind): %w", n.bind, err)
	}
	n.ln = ln
	if n.Advertise() == "" {
		n.advertise.Store(defaultAdvertise(n.bind, ln.Addr()))
	}
	n.wg.Add(1)
	go n.acceptLoop(ln)
	return nil
}

// CertNodeID is the node id of a certificate's key (SPEC §1).
func CertNodeID(c tls.Certificate) (string, error) {
	if len(c.Certificate) == 0 {
		return "", errors.New("cluster: identity certificate missing")
	}
	leaf := c.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return "", fmt.Errorf("cluster: identity certificate: %w", err)
		}
	}
	return shared.NodeIDFromSPKI(leaf.RawSubjectPublicKeyInfo), nil
}

// defaultAdvertise is the bind address when it names a host, else the
// listener's (an unspecified host is not dialable; SetAdvertise fixes it
// once a join tells the node how its peers reach it).
func defaultAdvertise(bind string, a net.Addr) string {
	host, _, err := net.SplitHostPort(bind)
	_, port, _ := net.SplitHostPort(a.String())
	if err == nil && host != "" {
		if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
			return net.JoinHostPort(host, port)
		}
	}
	return a.String()
}

// NodeID is this node's id.
func (n *Net) NodeID() string { return n.nodeID }

// ListenAddr is the address the listener is bound to, nil before Listen.
func (n *Net) ListenAddr() net.Addr {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ln == nil {
		return nil
	}
	return n.ln.Addr()
}

// Advertise is the host:port peers dial this node at.
func (n *Net) Advertise() string { return n.advertise.Load().(string) }

// SetAdvertise fixes the host:port peers dial this node at (before Raft is
// started: Raft keeps its local address from then on).
func (n *Net) SetAdvertise(hostport string) { n.advertise.Store(hostport) }

// Port is the port the listener is bound to (the bind's before Listen).
func (n *Net) Port() string {
	a := n.bind
	if la := n.ListenAddr(); la != nil {
		a = la.String()
	}
	_, p, _ := net.SplitHostPort(a)
	return p
}

type membersBox struct{ m Members }

// SetMembers replaces the member list the listener admits (nil: nobody).
func (n *Net) SetMembers(m Members) { n.members.Store(membersBox{m}) }

// AllowPending lets nodeID open the raft and forward channels until the
// given time although it is not a member yet (a join in progress).
func (n *Net) AllowPending(nodeID string, until time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.pending[nodeID] = until
}

// allowed reports whether a peer may use the raft and forward channels.
func (n *Net) allowed(nodeID string) bool {
	if m := n.members.Load().(membersBox).m; m != nil && m.IsMember(nodeID) {
		return true
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	until, ok := n.pending[nodeID]
	if ok && time.Now().After(until) {
		delete(n.pending, nodeID)
		return false
	}
	return ok
}

// Close stops the listener and every channel; raft's Accept returns an error.
func (n *Net) Close() error {
	var err error
	n.closeOnce.Do(func() {
		close(n.closed)
		n.mu.Lock()
		if n.ln != nil {
			err = n.ln.Close()
		}
		for _, conns := range n.fpool {
			for _, c := range conns {
				c.conn.Close()
			}
		}
		n.fpool = map[string][]pooledConn{}
		n.mu.Unlock()
	})
	n.wg.Wait()
	return err
}

func (n *Net) serverTLS() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{n.cert},
		// Any certificate may finish the handshake: whether its node id may
		// use a channel is decided once the channel byte says which.
		ClientAuth: tls.RequireAnyClientCert,
	}
}

func (n *Net) clientTLS(nodeID string) *tls.Config {
	c := shared.PinnedTLSConfig(nodeID)
	c.MinVersion = tls.VersionTLS13
	c.Certificates = []tls.Certificate{n.cert}
	return c
}

func (n *Net) acceptLoop(ln net.Listener) {
	defer n.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			select {
			case <-n.closed:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			n.log.Warn("cluster accept", "err", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.serveConn(c)
		}()
	}
}

// serveConn handshakes, reads the channel byte and hands the connection to
// its channel, or closes it when the peer may not use that channel.
func (n *Net) serveConn(raw net.Conn) {
	tc := tls.Server(raw, n.serverTLS())
	_ = tc.SetDeadline(time.Now().Add(handshakeTimeout))
	peer, ch, err := n.serverHandshake(tc)
	if err != nil {
		n.log.Info("cluster connection refused", "remote", raw.RemoteAddr().String(), "err", err)
		tc.Close()
		return
	}
	_ = tc.SetDeadline(time.Time{})
	switch ch {
	case chanRaft:
		// Nobody accepts while Raft is not running (a node not in a cluster).
		t := time.NewTimer(handshakeTimeout)
		defer t.Stop()
		select {
		case n.raftConns <- tc:
		case <-t.C:
			tc.Close()
		case <-n.closed:
			tc.Close()
		}
	case chanForward:
		n.serveRequests(tc, peer, n.forwardHandler)
	case chanMember:
		n.serveRequests(tc, peer, n.memberHandler)
	case chanJoin:
		n.serveJoin(tc, peer)
	}
}

func (n *Net) serverHandshake(tc *tls.Conn) (peer string, ch byte, err error) {
	if err := tc.Handshake(); err != nil {
		return "", 0, fmt.Errorf("handshake: %w", err)
	}
	cs := tc.ConnectionState()
	if peer, err = shared.PeerNodeID(&cs); err != nil {
		return "", 0, err
	}
	var b [1]byte
	if _, err := tc.Read(b[:]); err != nil {
		return peer, 0, fmt.Errorf("channel byte from %s: %w", peer, err)
	}
	switch b[0] {
	case chanRaft, chanForward, chanMember:
		if !n.allowed(peer) {
			return peer, 0, fmt.Errorf("node %s is not a cluster member", peer)
		}
	case chanJoin:
		// anyone may offer a join: the joining node's token is the proof
	default:
		return peer, 0, fmt.Errorf("unknown channel %q from %s", b[0], peer)
	}
	return peer, b[0], nil
}

// dial connects to nodeID at hostport, pinned to its id, and opens channel ch.
func (n *Net) dial(nodeID, hostport string, ch byte, timeout time.Duration) (*tls.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	raw, err := d.Dial("tcp", hostport)
	if err != nil {
		return nil, fmt.Errorf("cluster dial %s at %s: %w", nodeID, hostport, err)
	}
	tc := tls.Client(raw, n.clientTLS(nodeID))
	_ = tc.SetDeadline(time.Now().Add(timeout))
	if err := tc.Handshake(); err != nil {
		raw.Close()
		return nil, fmt.Errorf("cluster dial %s at %s: %w", nodeID, hostport, err)
	}
	if _, err := tc.Write([]byte{ch}); err != nil {
		tc.Close()
		return nil, fmt.Errorf("cluster dial %s at %s: %w", nodeID, hostport, err)
	}
	_ = tc.SetDeadline(time.Time{})
	return tc, nil
}
