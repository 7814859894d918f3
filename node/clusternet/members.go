package clusternet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/picloud/picloud/node/secrets"
	"github.com/picloud/picloud/shared"
)

// Cluster is this node's Raft member (node/cluster's *Node) as membership
// uses it. AddVoter and RemoveServer work on the leader only.
type Cluster interface {
	Bootstrap() error
	AddVoter(ctx context.Context, id, addr string) error
	RemoveServer(ctx context.Context, id string) error
	Leader() (id, addr string)
	Raft() *raft.Raft
}

// noQuorum: no leader to take a membership change (SPEC §12).
func noQuorum(format string, args ...any) *shared.Error {
	return shared.Errorf(shared.CodeNoQuorum, format, args...)
}

// Waits of a join: forming a cluster elects this node alone; a new member
// catches up (snapshot or log) before its 201.
const (
	formTimeout    = 30 * time.Second
	catchUpTimeout = 2 * time.Minute
	catchUpPoll    = 100 * time.Millisecond
)

// MembershipConfig configures a Membership. Net, Tokens, Start,
// SecretsPath, Secrets and HoldsOwnData are required.
type MembershipConfig struct {
	Net    *Net
	Tokens *JoinTokens
	// Start starts this node's Raft member, on a node in no cluster yet: to
	// form one, or once a join offer is accepted. The Net's advertised
	// address is set before.
	Start func(ctx context.Context) (Cluster, error)
	// SecretsPath is the node's secrets.key; Secrets the key in use.
	SecretsPath string
	Secrets     *secrets.Swappable
	// HoldsOwnData is the store's check of data other than the seed.
	HoldsOwnData func(ctx context.Context) (bool, error)
	// AdvertiseFile keeps the address this node is a member at (read it
	// back at start with ReadAdvertise); "" keeps nothing.
	AdvertiseFile string
	// Logs reads this node's own logs for a member's cluster page; nil
	// answers members not_found.
	Logs LogReader
	// IDFile keeps the id of the cluster, minted when it forms and handed
	// to every joiner ("" keeps nothing).
	IDFile string
	Logger *slog.Logger
}

// Membership adds and removes members (POST and DELETE
// /api/v1/admin/cluster/members), hands out join tokens and takes joins.
type Membership struct {
	cfg       MembershipConfig
	log       *slog.Logger
	formMu    sync.Mutex
	cluster   atomic.Value // clusterBox
	clusterID atomic.Value // string
}

type clusterBox struct{ c Cluster }

// NewMembership wires membership into cfg.Net: who the listener admits,
// the join channel and the membership requests sent to the leader.
func NewMembership(cfg MembershipConfig) *Membership {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Membership{cfg: cfg, log: cfg.Logger}
	m.cluster.Store(clusterBox{})
	if id, err := readLine(cfg.IDFile); err == nil {
		m.clusterID.Store(id)
	} else {
		m.log.Warn("cluster id unreadable", "err", err)
	}
	cfg.Net.SetMembers(m)
	cfg.Net.HandleJoin(cfg.Tokens, m)
	cfg.Net.member.Store(ForwardHandler(m.serveMember))
	return m
}

// Resume hands membership the member a restart started (a node that was
// in a cluster when it stopped).
func (m *Membership) Resume(c Cluster) { m.cluster.Store(clusterBox{c}) }

// Current is the running Raft member, nil when the node is in no cluster.
func (m *Membership) Current() Cluster { return m.cluster.Load().(clusterBox).c }

// servers is the latest configuration (committed or not), nil when the
// node is in no cluster.
func (m *Membership) servers() []raft.Server {
	c := m.Current()
	if c == nil {
		return nil
	}
	f := c.Raft().GetConfiguration()
	if f.Error() != nil {
		return nil
	}
	return f.Configuration().Servers
}

// IsMember is the transport's admission check: the latest configuration.
func (m *Membership) IsMember(nodeID string) bool {
	for _, s := range m.servers() {
		if string(s.ID) == nodeID {
			return true
		}
	}
	return false
}

// NewJoinToken is POST /api/v1/admin/cluster/join-token on the joining node.
func (m *Membership) NewJoinToken(context.Context) (shared.JoinToken, error) {
	if err := m.cfg.Net.Listen(); err != nil {
		return shared.JoinToken{}, shared.Errorf(shared.CodeInternal, "%v", err)
	}
	tok, exp, err := m.cfg.Tokens.New()
	if err != nil {
		return shared.JoinToken{}, err
	}
	return shared.JoinToken{JoinToken: tok, ExpiresAt: exp}, nil
}

// Check is the joining node's refusal of a join when it holds data or
// already belongs to a cluster (JoinHandler).
func (m *Membership) Check(ctx context.Context) error {
	if len(m.servers()) > 0 {
		return fmt.Errorf("%w: it is a member of a cluster already", ErrNodeNotEmpty)
	}
	own, err := m.cfg.HoldsOwnData(ctx)
	if err != nil {
		return err
	}
	if own {
		return ErrNodeNotEmpty
	}
	return nil
}

// Accept starts following and takes the cluster's secrets key
// (JoinHandler). Raft starts first: if it cannot, the node keeps its own
// key; the leader sends nothing before the offer is answered, so no
// command needs the cluster's key before it is in place.
func (m *Membership) Accept(ctx context.Context, from string, offer JoinOffer) error {
	m.formMu.Lock()
	defer m.formMu.Unlock()
	if m.Current() == nil { // else an earlier offer started it but its add did not finish
		if err := m.saveMembership(offer.ClusterID); err != nil {
			return err
		}
		c, err := m.cfg.Start(ctx)
		if err != nil {
			return fmt.Errorf("start raft: %w", err)
		}
		m.cluster.Store(clusterBox{c})
	}
	k, err := secrets.Replace(m.cfg.SecretsPath, offer.SecretsKey)
	if err != nil {
		return err
	}
	m.cfg.Secrets.Set(k)
	m.log.Info("took the cluster's secrets key", "key", k.ID(), "from", from)
	return nil
}

// Add is POST /api/v1/admin/cluster/members: it adds the node, forming a
// cluster of this node first if it is in none, and answers once the new
// member has caught up.
func (m *Membership) Add(ctx context.Context, req shared.AddMemberRequest) (shared.ClusterMember, error) {
	if err := req.Validate(); err != nil {
		return shared.ClusterMember{}, err
	}
	if shared.SameNodeID(req.NodeID, m.cfg.Net.NodeID()) {
		return shared.ClusterMember{}, shared.Validation("node_id", "node %s is this node", req.NodeID)
	}
	if m.Current() == nil {
		if mem, formed, err := m.formWith(ctx, req); formed || err != nil {
			return mem, err
		}
	}
	c := m.Current()
	leaderID, leaderAddr := c.Leader()
	switch leaderID {
	case m.cfg.Net.NodeID():
		return m.addAsLeader(ctx, c, req)
	case "":
		return shared.ClusterMember{}, noQuorum("the cluster has no leader to add a member")
	}
	var ans memberAnswer
	if err := m.ask(ctx, raft.ServerAddress(leaderAddr), memberRequest{Op: "add", Add: &req}, &ans); err != nil {
		return shared.ClusterMember{}, err
	}
	return *ans.Member, nil
}

// formWith adds the first member to a node in no cluster: the joining
// node's consent comes first, so a refused join forms nothing; then this
// node becomes the one-member cluster's leader, advertising the address
// the joining node sees it at, and adds it. formed is false when another
// request formed the cluster meanwhile.
func (m *Membership) formWith(ctx context.Context, req shared.AddMemberRequest) (mem shared.ClusterMember, formed bool, err error) {
	m.formMu.Lock()
	defer m.formMu.Unlock()
	if m.Current() != nil {
		return mem, false, nil
	}
	sess, err := m.dialJoin(ctx, req)
	if err != nil {
		return mem, true, err
	}
	defer sess.Close()
	if err := m.cfg.Net.Listen(); err != nil {
		return mem, true, shared.Errorf(shared.CodeInternal, "%v", err)
	}
	if host, _, _ := net.SplitHostPort(m.cfg.Net.Advertise()); unspecified(host) {
		m.cfg.Net.SetAdvertise(net.JoinHostPort(sess.LocalHost(), m.cfg.Net.Port()))
	}
	self := PeerMember{NodeID: m.cfg.Net.NodeID(), Address: m.cfg.Net.Advertise()}
	clusterID := newClusterID()
	if err := m.offer(ctx, sess, req, clusterID, []PeerMember{self}); err != nil {
		return mem, true, err
	}
	if err := m.saveMembership(clusterID); err != nil {
		return mem, true, err
	}
	c, err := m.cfg.Start(ctx)
	if err != nil {
		return mem, true, shared.Errorf(shared.CodeJoinFailed, "start raft: %v", err)
	}
	if err := c.Bootstrap(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
		return mem, true, fmt.Errorf("form the cluster: %w", err)
	}
	m.cluster.Store(clusterBox{c})
	deadline := time.Now().Add(formTimeout)
	for id, _ := c.Leader(); id != m.cfg.Net.NodeID(); id, _ = c.Leader() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return mem, true, noQuorum("the new cluster elected no leader in %v", formTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	m.log.Info("formed a cluster", "advertise", m.cfg.Net.Advertise())
	mem, err = m.admit(ctx, c, req)
	return mem, true, err
}

// saveMembership keeps the cluster's id and the address this node is a
// member at: Raft knows a member by it, so the next start must advertise
// it again.
func (m *Membership) saveMembership(clusterID string) error {
	m.clusterID.Store(clusterID)
	for _, f := range []struct{ path, value string }{{m.cfg.AdvertiseFile, m.cfg.Net.Advertise()}, {m.cfg.IDFile, clusterID}} {
		if f.path == "" {
			continue
		}
		if err := shared.WriteFileAtomic(f.path, []byte(f.value+"\n"), 0o600); err != nil {
			return fmt.Errorf("save cluster membership: %w", err)
		}
	}
	return nil
}

func unspecified(host string) bool {
	ip := net.ParseIP(host)
	return host == "" || (ip != nil && ip.IsUnspecified())
}

func (m *Membership) dialJoin(ctx context.Context, req shared.AddMemberRequest) (*JoinSession, error) {
	sess, err := m.cfg.Net.DialJoin(ctx, req.NodeID, req.Address)
	if err != nil {
		var mm *shared.IdentityMismatchError
		if errors.As(err, &mm) {
			return nil, shared.Errorf(shared.CodeJoinFailed, "the node at %s is %s, not %s", req.Address, mm.Got, mm.Expected)
		}
		return nil, shared.Errorf(shared.CodeJoinFailed, "cannot reach node %s at %s: %v", req.NodeID, req.Address, err)
	}
	return sess, nil
}

// offer sends the join offer with the cluster's members and secrets key;
// the joining node's refusal comes back as the contract's error.
func (m *Membership) offer(ctx context.Context, sess *JoinSession, req shared.AddMemberRequest, clusterID string, members []PeerMember) error {
	key, err := secrets.Raw(m.cfg.SecretsPath)
	if err != nil {
		return err
	}
	o := JoinOffer{JoinToken: req.JoinToken, ClusterID: clusterID, Address: req.Address, SecretsKey: key, Members: members}
	if err := sess.Offer(ctx, o); err != nil {
		var je *JoinError
		if errors.As(err, &je) {
			return shared.Errorf(je.Code, "%s", je.Message)
		}
		return shared.Errorf(shared.CodeJoinFailed, "join offer to %s: %v", req.NodeID, err)
	}
	return nil
}

// addAsLeader sends the offer, adds the voter and waits for it to catch up.
func (m *Membership) addAsLeader(ctx context.Context, c Cluster, req shared.AddMemberRequest) (shared.ClusterMember, error) {
	servers := m.servers()
	var members []PeerMember
	for _, s := range servers {
		if string(s.ID) == req.NodeID {
			// added before (the token was spent then): answer it again
			return shared.ClusterMember{NodeID: req.NodeID, Address: req.Address, Voter: true, State: "follower"}, nil
		}
		if id, hp, err := SplitRaftAddress(s.Address); err == nil {
			members = append(members, PeerMember{NodeID: id, Address: hp})
		}
	}
	sess, err := m.dialJoin(ctx, req)
	if err != nil {
		return shared.ClusterMember{}, err
	}
	defer sess.Close()
	if err := m.offer(ctx, sess, req, m.ClusterID(), members); err != nil {
		return shared.ClusterMember{}, err
	}
	return m.admit(ctx, c, req)
}

// admit adds the node that accepted the offer as a voter and waits until
// it has caught up.
func (m *Membership) admit(ctx context.Context, c Cluster, req shared.AddMemberRequest) (shared.ClusterMember, error) {
	member := shared.ClusterMember{NodeID: req.NodeID, Address: req.Address, Voter: true, State: "follower"}
	m.cfg.Net.AllowPending(req.NodeID, time.Now().Add(catchUpTimeout))
	if err := c.AddVoter(ctx, req.NodeID, string(RaftAddress(req.NodeID, req.Address))); err != nil {
		return member, err
	}
	if err := m.waitCaughtUp(ctx, req, c.Raft().AppliedIndex()); err != nil {
		return member, err
	}
	m.log.Info("added member", "node_id", req.NodeID, "address", req.Address)
	return member, nil
}

// waitCaughtUp asks the new member for its applied index until it reaches
// target, the leader's when the member was added.
func (m *Membership) waitCaughtUp(ctx context.Context, req shared.AddMemberRequest, target uint64) error {
	ctx, cancel := context.WithTimeout(ctx, catchUpTimeout)
	defer cancel()
	addr := RaftAddress(req.NodeID, req.Address)
	for {
		var ans memberAnswer
		err := m.ask(ctx, addr, memberRequest{Op: "applied"}, &ans)
		if err == nil && ans.Applied >= target {
			return nil
		}
		select {
		case <-ctx.Done():
			return shared.Errorf(shared.CodeJoinFailed, "node %s joined but did not catch up in %v (applied %d of %d)",
				req.NodeID, catchUpTimeout, ans.Applied, target)
		case <-time.After(catchUpPoll):
		}
	}
}

// Remove is DELETE /api/v1/admin/cluster/members/{node_id}.
func (m *Membership) Remove(ctx context.Context, nodeID string) error {
	if !m.IsMember(nodeID) {
		return shared.NotFound("cluster member", nodeID)
	}
	c := m.Current()
	leaderID, leaderAddr := c.Leader()
	switch leaderID {
	case m.cfg.Net.NodeID():
		return c.RemoveServer(ctx, nodeID)
	case "":
		return noQuorum("the cluster has no leader to remove a member")
	}
	return m.ask(ctx, raft.ServerAddress(leaderAddr), memberRequest{Op: "remove", NodeID: nodeID}, &memberAnswer{})
}

// memberRequest and memberAnswer are the membership channel's JSON.
type memberRequest struct {
	Op     string                   `json:"op"` // add, remove, applied, logs
	Add    *shared.AddMemberRequest `json:"add,omitempty"`
	NodeID string                   `json:"node_id,omitempty"`
	Logs   *logsRequest             `json:"logs,omitempty"`
}

type memberAnswer struct {
	Member  *shared.ClusterMember `json:"member,omitempty"`
	Applied uint64                `json:"applied,omitempty"`
	Logs    []shared.Log          `json:"logs,omitempty"`
	Error   *shared.Error         `json:"error,omitempty"`
}

// ask sends a membership request to the node at addr; a refusal comes back
// as its *shared.Error.
func (m *Membership) ask(ctx context.Context, addr raft.ServerAddress, req memberRequest, ans *memberAnswer) error {
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	out, err := m.cfg.Net.call(ctx, addr, chanMember, b)
	if err != nil {
		return noQuorum("cannot reach the leader: %v", err)
	}
	if err := json.Unmarshal(out, ans); err != nil {
		return fmt.Errorf("membership answer: %w", err)
	}
	if ans.Error != nil {
		e := *ans.Error
		e.Status = shared.StatusOf(e.Code)
		return &e
	}
	return nil
}

// serveMember answers membership requests from other members.
func (m *Membership) serveMember(ctx context.Context, from string, p []byte) ([]byte, error) {
	var req memberRequest
	if err := json.Unmarshal(p, &req); err != nil {
		return nil, fmt.Errorf("malformed membership request: %w", err)
	}
	var ans memberAnswer
	var err error
	c := m.Current()
	switch {
	case req.Op == "applied":
		if c != nil {
			ans.Applied = c.Raft().AppliedIndex()
		}
	case req.Op == "logs":
		ans.Logs, err = m.serveLogs(ctx, req.Logs)
	case c == nil:
		err = noQuorum("node %s is in no cluster", m.cfg.Net.NodeID())
	case req.Op == "add" && req.Add != nil:
		if id, _ := c.Leader(); id != m.cfg.Net.NodeID() {
			err = noQuorum("the leader changed; try again")
			break
		}
		var mem shared.ClusterMember
		mem, err = m.addAsLeader(ctx, c, *req.Add)
		ans.Member = &mem
	case req.Op == "remove":
		if id, _ := c.Leader(); id != m.cfg.Net.NodeID() {
			err = noQuorum("the leader changed; try again")
			break
		}
		err = c.RemoveServer(ctx, req.NodeID)
	default:
		err = fmt.Errorf("unknown membership request %q", req.Op)
	}
	if err != nil {
		se, ok := shared.AsError(err)
		if !ok {
			se = shared.Errorf(shared.CodeInternal, "%v", err)
		}
		ans.Error = se
	}
	m.log.Debug("membership request", "op", req.Op, "from", from, "err", err)
	return json.Marshal(ans)
}

// ReadAdvertise is the address saved in file by a form or a join, "" when
// the node never was in a cluster.
func ReadAdvertise(file string) (string, error) { return readLine(file) }

func readLine(file string) (string, error) {
	if file == "" {
		return "", nil
	}
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("cluster address: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
