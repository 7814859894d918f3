package clusternet

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/picloud/picloud/shared"
)

// Joining takes both sides' consent (SPEC §12): a member dials the joining
// node pinned to the node id the user gave, and sends an offer holding the
// joining node's one-time token, the cluster's members and its secrets key;
// the joining node checks the token and that it holds nothing of its own,
// takes the key and starts following. One request, one answer.

// JoinOffer is what a member sends to the node it adds.
type JoinOffer struct {
	JoinToken  string       `json:"join_token"`
	ClusterID  string       `json:"cluster_id"`
	Address    string       `json:"address"` // host:port the members reach the joining node at
	Members    []PeerMember `json:"members"`
	SecretsKey []byte       `json:"secrets_key"` // the cluster's key; it replaces the joining node's
}

// PeerMember is one member in a JoinOffer.
type PeerMember struct {
	NodeID  string `json:"node_id"`
	Address string `json:"address"` // host:port
}

// Join refusal codes (rows of shared/errors.go).
const (
	CodeInvalidJoinToken = shared.CodeInvalidJoinToken
	CodeNodeNotEmpty     = shared.CodeNodeNotEmpty
	CodeJoinFailed       = shared.CodeJoinFailed
)

// JoinError is a refusal from the joining node.
type JoinError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *JoinError) Error() string { return e.Code + ": " + e.Message }

// ErrNodeNotEmpty is what a JoinHandler's Check returns for a node holding
// more than the seeded default app.
var ErrNodeNotEmpty = errors.New("this node holds apps, scripts, variables or KV of its own: export its apps and remove them first")

// JoinHandler is the joining node's side, implemented by the node.
type JoinHandler interface {
	// Check returns ErrNodeNotEmpty (wrapped or not) if the node may not join.
	Check(ctx context.Context) error
	// Accept installs the offer: the secrets key, the members, and starts
	// following the cluster. It runs after the token was spent.
	Accept(ctx context.Context, from string, offer JoinOffer) error
}

// joinTimeout bounds the whole join exchange (Accept opens Raft's store).
const joinTimeout = 60 * time.Second

// HandleJoin serves join offers with tokens from tokens and handler h.
func (n *Net) HandleJoin(tokens *JoinTokens, h JoinHandler) {
	n.join.Store(joinServer{tokens: tokens, h: h})
}

type joinServer struct {
	tokens *JoinTokens
	h      JoinHandler
}

func (n *Net) serveJoin(tc *tls.Conn, peer string) {
	defer tc.Close()
	_ = tc.SetDeadline(time.Now().Add(joinTimeout))
	req, err := readFrame(tc)
	if err != nil {
		return
	}
	ans := n.answerJoin(peer, req)
	b, _ := json.Marshal(ans)
	_ = writeFrame(tc, b)
}

func (n *Net) answerJoin(peer string, req []byte) JoinError {
	js, _ := n.join.Load().(joinServer)
	if js.h == nil || js.tokens == nil {
		return JoinError{Code: CodeJoinFailed, Message: "this node takes no joins"}
	}
	var offer JoinOffer
	if err := json.Unmarshal(req, &offer); err != nil {
		return JoinError{Code: CodeJoinFailed, Message: "malformed join offer"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), joinTimeout)
	defer cancel()
	// One join at a time: the token is checked, the node checked, then
	// the token spent, with nothing in between.
	js.tokens.joinMu.Lock()
	defer js.tokens.joinMu.Unlock()
	if !js.tokens.Valid(offer.JoinToken) {
		n.log.Warn("join refused: invalid token", "from", peer)
		return JoinError{Code: CodeInvalidJoinToken, Message: "the join token is wrong, expired or used; make a new one on the joining node"}
	}
	if err := js.h.Check(ctx); err != nil {
		if errors.Is(err, ErrNodeNotEmpty) {
			return JoinError{Code: CodeNodeNotEmpty, Message: err.Error()}
		}
		return JoinError{Code: CodeJoinFailed, Message: err.Error()}
	}
	if !js.tokens.Spend(offer.JoinToken) {
		return JoinError{Code: CodeInvalidJoinToken, Message: "the join token is wrong, expired or used; make a new one on the joining node"}
	}
	for _, m := range offer.Members {
		n.AllowPending(m.NodeID, time.Now().Add(joinTimeout))
	}
	if offer.Address != "" {
		n.SetAdvertise(offer.Address)
	}
	if err := js.h.Accept(ctx, peer, offer); err != nil {
		n.log.Error("join failed after the token was spent", "from", peer, "err", err)
		return JoinError{Code: CodeJoinFailed, Message: err.Error()}
	}
	n.log.Info("joined cluster", "cluster", offer.ClusterID, "via", peer)
	return JoinError{}
}

// JoinSession is a member's open join channel to the node it adds.
type JoinSession struct {
	conn *tls.Conn
}

// DialJoin opens the join channel to nodeID at hostport, pinned to nodeID.
// Its LocalHost is how the joining node sees this one, which a node not in
// a cluster yet advertises when it forms one.
func (n *Net) DialJoin(ctx context.Context, nodeID, hostport string) (*JoinSession, error) {
	timeout := 10 * time.Second
	if d, ok := ctx.Deadline(); ok && time.Until(d) < timeout {
		timeout = time.Until(d)
	}
	tc, err := n.dial(nodeID, hostport, chanJoin, timeout)
	if err != nil {
		return nil, err
	}
	return &JoinSession{conn: tc}, nil
}

// LocalHost is this end's IP address on the join connection.
func (s *JoinSession) LocalHost() string {
	host, _, _ := net.SplitHostPort(s.conn.LocalAddr().String())
	return host
}

// Offer sends the offer and waits for the answer: nil when the joining node
// accepted it, a *JoinError when it refused.
func (s *JoinSession) Offer(ctx context.Context, offer JoinOffer) error {
	deadline := time.Now().Add(joinTimeout + 5*time.Second)
	if d, ok := ctx.Deadline(); ok {
		deadline = d
	}
	_ = s.conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = s.conn.SetDeadline(time.Now()) })
	defer stop()
	b, err := json.Marshal(offer)
	if err != nil {
		return err
	}
	if err := writeFrame(s.conn, b); err != nil {
		return fmt.Errorf("join offer: %w", err)
	}
	resp, err := readFrame(s.conn)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("join offer: the joining node closed the connection (is this node allowed to reach it?): %w", err)
		}
		return fmt.Errorf("join offer: %w", err)
	}
	var ans JoinError
	if err := json.Unmarshal(resp, &ans); err != nil {
		return fmt.Errorf("join offer: malformed answer: %w", err)
	}
	if ans.Code != "" {
		return &ans
	}
	return nil
}

// Close closes the join channel.
func (s *JoinSession) Close() error { return s.conn.Close() }
