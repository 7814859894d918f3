package clusternet

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// A Raft server address carries the node id so a dial can pin it: Raft
// hands the stream layer only the address, and the address alone must say
// whose certificate to accept.
const addrSep = "@"

// RaftAddress is the raft.ServerAddress of node nodeID at host:port.
func RaftAddress(nodeID, hostport string) raft.ServerAddress {
	return raft.ServerAddress(nodeID + addrSep + hostport)
}

// SplitRaftAddress splits a raft.ServerAddress made by RaftAddress.
func SplitRaftAddress(a raft.ServerAddress) (nodeID, hostport string, err error) {
	id, hp, ok := strings.Cut(string(a), addrSep)
	if !ok || id == "" || hp == "" {
		return "", "", fmt.Errorf("cluster address %q is not NODEID@host:port", a)
	}
	return id, hp, nil
}

// ErrClosed is returned by Accept after Close.
var ErrClosed = errors.New("cluster network closed")

// StreamLayer is the raft.StreamLayer on the raft channel; give it to
// raft.NewNetworkTransport.
// Each call gives a new layer: closing one (Raft shutting down, say after
// the node was removed) leaves the listener up for a later join.
func (n *Net) StreamLayer() raft.StreamLayer {
	return &streamLayer{n: n, closed: make(chan struct{})}
}

type streamLayer struct {
	n      *Net
	closed chan struct{}
	once   sync.Once
}

func (s *streamLayer) Accept() (net.Conn, error) {
	select {
	case c := <-s.n.raftConns:
		return c, nil
	case <-s.closed:
		return nil, ErrClosed
	case <-s.n.closed:
		return nil, ErrClosed
	}
}

func (s *streamLayer) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

// Addr is this node's raft address (NODEID@advertised host:port); Raft
// sends it to peers as the leader's and candidate's address.
func (s *streamLayer) Addr() net.Addr { return raftAddr(RaftAddress(s.n.nodeID, s.n.Advertise())) }

func (s *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	id, hp, err := SplitRaftAddress(address)
	if err != nil {
		return nil, err
	}
	return s.n.dial(id, hp, chanRaft, timeout)
}

type raftAddr string

func (raftAddr) Network() string  { return "picloud-cluster" }
func (a raftAddr) String() string { return string(a) }
