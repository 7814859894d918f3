package clusternet

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/raft"
)

// The forward channel carries a follower's write to the leader: a request
// frame (uint32 big-endian length, payload) answered by a status byte and a
// frame. Payloads are opaque here; node/cluster encodes commands and results.

// maxFrame bounds one forwarded payload (an import of a large app, a KV
// batch); a peer announcing more is cut off rather than allocated for.
const maxFrame = 256 << 20

// forwardIdle is how long a pooled connection may sit unused before it is
// dropped rather than reused; the leader keeps them open longer.
const (
	forwardIdle       = 30 * time.Second
	forwardServerIdle = 5 * time.Minute
	forwardDefault    = 30 * time.Second
)

const (
	statusOK  byte = 0
	statusErr byte = 1
)

// ForwardHandler runs a forwarded write on the leader and returns its
// result, or an error whose message goes back to the follower.
type ForwardHandler func(ctx context.Context, fromNodeID string, payload []byte) ([]byte, error)

// RemoteError is the error a ForwardHandler returned on the other node.
type RemoteError struct{ Message string }

func (e *RemoteError) Error() string { return e.Message }

// HandleForward sets the handler for forwarded writes (on every member:
// any of them may become leader). Without one a forward answers an error.
func (n *Net) HandleForward(h ForwardHandler) { n.forward.Store(h) }

// Forward sends payload to the node at addr (NODEID@host:port, usually the
// leader's raft address) and returns its handler's answer. A *RemoteError
// is the handler's own error; any other error means the answer is unknown.
func (n *Net) Forward(ctx context.Context, addr raft.ServerAddress, payload []byte) ([]byte, error) {
	return n.call(ctx, addr, chanForward, payload)
}

// call is one request on channel ch (forward or member) of the node at addr.
func (n *Net) call(ctx context.Context, addr raft.ServerAddress, ch byte, payload []byte) ([]byte, error) {
	id, hp, err := SplitRaftAddress(addr)
	if err != nil {
		return nil, err
	}
	if len(payload) > maxFrame {
		return nil, fmt.Errorf("forward to %s: payload of %d bytes over the %d limit", id, len(payload), maxFrame)
	}
	c, err := n.pooledConn(ctx, id, hp, ch)
	if err != nil {
		return nil, err
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(forwardDefault)
	}
	_ = c.conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Now()) })
	out, err := roundTrip(c.conn, payload)
	stop()
	if err != nil {
		var re *RemoteError
		if !errors.As(err, &re) {
			c.conn.Close()
			return nil, fmt.Errorf("forward to %s: %w", id, err)
		}
	}
	_ = c.conn.SetDeadline(time.Time{})
	n.putConn(id, hp, ch, c)
	return out, err
}

type pooledConn struct {
	conn *tls.Conn
	idle time.Time
}

func poolKey(id, hp string, ch byte) string { return string(ch) + id + addrSep + hp }

func (n *Net) pooledConn(ctx context.Context, id, hp string, ch byte) (pooledConn, error) {
	n.mu.Lock()
	key := poolKey(id, hp, ch)
	for len(n.fpool[key]) > 0 {
		last := len(n.fpool[key]) - 1
		c := n.fpool[key][last]
		n.fpool[key] = n.fpool[key][:last]
		if time.Since(c.idle) < forwardIdle {
			n.mu.Unlock()
			return c, nil
		}
		c.conn.Close()
	}
	n.mu.Unlock()
	timeout := 10 * time.Second
	if d, ok := ctx.Deadline(); ok && time.Until(d) < timeout {
		timeout = time.Until(d)
	}
	tc, err := n.dial(id, hp, ch, timeout)
	if err != nil {
		return pooledConn{}, err
	}
	return pooledConn{conn: tc}, nil
}

func (n *Net) putConn(id, hp string, ch byte, c pooledConn) {
	n.mu.Lock()
	defer n.mu.Unlock()
	select {
	case <-n.closed:
		c.conn.Close()
		return
	default:
	}
	c.idle = time.Now()
	key := poolKey(id, hp, ch)
	if len(n.fpool[key]) >= 8 {
		c.conn.Close()
		return
	}
	n.fpool[key] = append(n.fpool[key], c)
}

func roundTrip(rw io.ReadWriter, payload []byte) ([]byte, error) {
	if err := writeFrame(rw, payload); err != nil {
		return nil, err
	}
	var st [1]byte
	if _, err := io.ReadFull(rw, st[:]); err != nil {
		return nil, err
	}
	body, err := readFrame(rw)
	if err != nil {
		return nil, err
	}
	if st[0] != statusOK {
		return nil, &RemoteError{Message: string(body)}
	}
	return body, nil
}

func writeFrame(w io.Writer, p []byte) error {
	buf := make([]byte, 4+len(p))
	binary.BigEndian.PutUint32(buf, uint32(len(p)))
	copy(buf[4:], p)
	_, err := w.Write(buf)
	return err
}

func readFrame(r io.Reader) ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(h[:])
	if size > maxFrame {
		return nil, fmt.Errorf("frame of %d bytes over the %d limit", size, maxFrame)
	}
	p := make([]byte, size)
	if _, err := io.ReadFull(r, p); err != nil {
		return nil, err
	}
	return p, nil
}

// serveRequests answers requests on one connection with the handler h
// gives (nil: none) until the peer closes it, it idles out, or the node stops.
func (n *Net) serveRequests(tc *tls.Conn, peer string, h func() ForwardHandler) {
	defer tc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-n.closed:
			tc.Close()
		case <-ctx.Done():
		}
	}()
	br := bufio.NewReader(tc)
	for {
		_ = tc.SetReadDeadline(time.Now().Add(forwardServerIdle))
		req, err := readFrame(br)
		if err != nil {
			return
		}
		_ = tc.SetReadDeadline(time.Time{})
		st, body := statusOK, []byte(nil)
		if h := h(); h == nil {
			st, body = statusErr, []byte("cluster: this node takes no such requests")
		} else if out, err := h(ctx, peer, req); err != nil {
			st, body = statusErr, []byte(err.Error())
		} else {
			body = out
		}
		if _, err := tc.Write([]byte{st}); err != nil {
			return
		}
		if err := writeFrame(tc, body); err != nil {
			return
		}
	}
}

func (n *Net) forwardHandler() ForwardHandler {
	h, _ := n.forward.Load().(ForwardHandler)
	return h
}

func (n *Net) memberHandler() ForwardHandler {
	h, _ := n.member.Load().(ForwardHandler)
	return h
}

// Forwarder is node/cluster's Forwarder over the forward channel.
type Forwarder struct{ Net *Net }

// Forward sends cmd to the leader at leaderAddr (its raft address).
func (f Forwarder) Forward(ctx context.Context, _, leaderAddr string, cmd []byte) ([]byte, error) {
	return f.Net.Forward(ctx, raft.ServerAddress(leaderAddr), cmd)
}
