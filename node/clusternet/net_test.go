package clusternet

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/picloud/picloud/shared"
)

// newCert makes a self-signed identity certificate like the node's.
func newCert(t testing.TB) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// memberSet is a Members the test fills.
type memberSet struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (m *memberSet) IsMember(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ids[id]
}

func (m *memberSet) add(ids ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ids == nil {
		m.ids = map[string]bool{}
	}
	for _, id := range ids {
		m.ids[id] = true
	}
}

func newNet(t *testing.T, members Members) *Net {
	t.Helper()
	n, err := New(Config{Bind: "127.0.0.1:0", Cert: newCert(t), Members: members})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	if err := n.Listen(); err != nil {
		t.Fatal(err)
	}
	return n
}

func (n *Net) raftAddr() raft.ServerAddress { return RaftAddress(n.NodeID(), n.Advertise()) }

// countFSM counts applied entries.
type countFSM struct {
	mu   sync.Mutex
	logs []string
}

func (f *countFSM) Apply(l *raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, string(l.Data))
	return nil
}
func (f *countFSM) Snapshot() (raft.FSMSnapshot, error) { return nil, errors.New("no snapshots") }
func (f *countFSM) Restore(io.ReadCloser) error         { return errors.New("no snapshots") }
func (f *countFSM) has(s string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range f.logs {
		if l == s {
			return true
		}
	}
	return false
}

// Three members over the pinned transport elect a leader and replicate an
// entry to all of them: the transport is what Raft runs on.
func TestRaftOverPinnedTransport(t *testing.T) {
	set := &memberSet{}
	nets := []*Net{newNet(t, set), newNet(t, set), newNet(t, set)}
	var servers []raft.Server
	for _, n := range nets {
		set.add(n.NodeID())
		servers = append(servers, raft.Server{ID: raft.ServerID(n.NodeID()), Address: n.raftAddr()})
	}
	var rafts []*raft.Raft
	var fsms []*countFSM
	for _, n := range nets {
		cfg := raft.DefaultConfig()
		cfg.LocalID = raft.ServerID(n.NodeID())
		cfg.LogOutput = io.Discard
		trans := raft.NewNetworkTransport(n.StreamLayer(), 3, 10*time.Second, io.Discard)
		store := raft.NewInmemStore()
		fsm := &countFSM{}
		r, err := raft.NewRaft(cfg, fsm, store, store, raft.NewInmemSnapshotStore(), trans)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Shutdown().Error() })
		if err := r.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
			t.Fatal(err)
		}
		rafts, fsms = append(rafts, r), append(fsms, fsm)
	}
	leader := waitLeader(t, rafts)
	if err := leader.Apply([]byte("hello"), 30*time.Second).Error(); err != nil {
		t.Fatalf("apply on the leader: %v", err)
	}
	waitFor(t, "every member applied the entry", func() bool {
		for _, f := range fsms {
			if !f.has("hello") {
				return false
			}
		}
		return true
	})
	addr, id := leader.LeaderWithID()
	if gotID, _, err := SplitRaftAddress(addr); err != nil || gotID != string(id) {
		t.Errorf("leader address %q does not carry its id %q", addr, id)
	}
}

func waitLeader(t *testing.T, rafts []*raft.Raft) *raft.Raft {
	t.Helper()
	var leader *raft.Raft
	waitFor(t, "a leader", func() bool {
		for _, r := range rafts {
			if r.State() == raft.Leader {
				leader = r
				return true
			}
		}
		return false
	})
	return leader
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A node whose id is not in the member list gets its raft and forward
// connections closed right after the handshake; a member's get through.
func TestStrangerRefused(t *testing.T) {
	set := &memberSet{}
	server := newNet(t, set)
	member, stranger := newNet(t, nil), newNet(t, nil)
	set.add(member.NodeID())
	server.HandleForward(func(_ context.Context, from string, p []byte) ([]byte, error) {
		return append([]byte(from+":"), p...), nil
	})
	ctx := context.Background()
	got, err := member.Forward(ctx, server.raftAddr(), []byte("x"))
	if err != nil || string(got) != member.NodeID()+":x" {
		t.Fatalf("member forward = %q, %v; want %q", got, err, member.NodeID()+":x")
	}
	if _, err := stranger.Forward(ctx, server.raftAddr(), []byte("x")); err == nil {
		t.Fatal("a stranger's forward was served")
	}
	c, err := stranger.StreamLayer().Dial(server.raftAddr(), 10*time.Second)
	if err == nil {
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, err = c.Read(make([]byte, 1))
		c.Close()
	}
	if err == nil {
		t.Fatal("a stranger's raft connection stayed open")
	}
	// Admitted while its join is pending, and not after it lapsed.
	server.AllowPending(stranger.NodeID(), time.Now().Add(time.Minute))
	if _, err := stranger.Forward(ctx, server.raftAddr(), []byte("y")); err != nil {
		t.Fatalf("pending joiner's forward: %v", err)
	}
	server.AllowPending(stranger.NodeID(), time.Now().Add(-time.Second))
	stranger.Close() // drops its pooled connection
	again := newNetWithCert(t, stranger.cert)
	if _, err := again.Forward(ctx, server.raftAddr(), []byte("z")); err == nil {
		t.Fatal("a lapsed pending joiner was served")
	}
}

func newNetWithCert(t *testing.T, cert tls.Certificate) *Net {
	t.Helper()
	n, err := New(Config{Bind: "127.0.0.1:0", Cert: cert})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n // dials only: no listener
}

// Dialing an address whose id is not the certificate the listener holds
// fails with the identity mismatch, on every channel.
func TestMismatchedIDRefused(t *testing.T) {
	set := &memberSet{}
	server, client := newNet(t, set), newNet(t, set)
	set.add(server.NodeID(), client.NodeID())
	other := newNet(t, nil)
	wrong := RaftAddress(other.NodeID(), server.Advertise())
	_, err := client.StreamLayer().Dial(wrong, 10*time.Second)
	var mm *shared.IdentityMismatchError
	if !errors.As(err, &mm) || mm.Expected != other.NodeID() || mm.Got != server.NodeID() {
		t.Fatalf("dial with the wrong id: %v; want IdentityMismatchError", err)
	}
	if _, err := client.Forward(context.Background(), wrong, []byte("x")); !errors.As(err, &mm) {
		t.Fatalf("forward with the wrong id: %v; want IdentityMismatchError", err)
	}
	if _, err := client.DialJoin(context.Background(), other.NodeID(), server.Advertise()); !errors.As(err, &mm) {
		t.Fatalf("join dial with the wrong id: %v; want IdentityMismatchError", err)
	}
	if _, err := client.StreamLayer().Dial(raft.ServerAddress(server.Advertise()), time.Second); err == nil {
		t.Fatal("an address without a node id was dialed")
	}
}

// A handler's error comes back as a RemoteError and leaves the connection
// usable; requests on one member run one after another.
func TestForwardErrorsAndReuse(t *testing.T) {
	set := &memberSet{}
	leader, follower := newNet(t, set), newNet(t, set)
	set.add(follower.NodeID())
	leader.HandleForward(func(_ context.Context, _ string, p []byte) ([]byte, error) {
		if string(p) == "bad" {
			return nil, errors.New("no_quorum: no majority")
		}
		return p, nil
	})
	ctx := context.Background()
	for i := range 20 {
		in := fmt.Sprint(i)
		if i%3 == 0 {
			in = "bad"
		}
		out, err := follower.Forward(ctx, leader.raftAddr(), []byte(in))
		var re *RemoteError
		switch {
		case in == "bad" && (!errors.As(err, &re) || re.Message != "no_quorum: no majority"):
			t.Fatalf("request %d: %v; want RemoteError no_quorum", i, err)
		case in != "bad" && (err != nil || string(out) != in):
			t.Fatalf("request %d = %q, %v", i, out, err)
		}
	}
	big := make([]byte, 3<<20)
	out, err := follower.Forward(ctx, leader.raftAddr(), big)
	if err != nil || len(out) != len(big) {
		t.Fatalf("3 MB forward: %d bytes, %v", len(out), err)
	}
}
