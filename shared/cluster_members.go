package shared

import (
	"net"
	"strings"
	"time"
)

// Cluster membership endpoints (SPEC §12).
const (
	PathCluster          = "/api/v1/admin/cluster"
	PathClusterJoinToken = "/api/v1/admin/cluster/join-token"
	PathClusterMembers   = "/api/v1/admin/cluster/members"
	PathClusterMember    = PathClusterMembers + "/:node_id"
)

// JoinToken is the joining node's one-time consent to be added.
type JoinToken struct {
	JoinToken string    `json:"join_token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// AddMemberRequest asks a member to add the node NodeID, whose cluster
// listener is at Address (host:port), with that node's join token.
type AddMemberRequest struct {
	NodeID    string `json:"node_id"`
	Address   string `json:"address"`
	JoinToken string `json:"join_token"`
}

// Cluster is GET /api/v1/admin/cluster: ID and Leader are null while the
// node is in no cluster (it lists itself as the only member) or, for
// Leader, while there is none.
type Cluster struct {
	ID      *string         `json:"id"`
	Leader  *string         `json:"leader"`
	Members []ClusterMember `json:"members"`
}

// ClusterMember is one member as GET /api/v1/admin/cluster lists it.
type ClusterMember struct {
	NodeID        string `json:"node_id"`
	Name          string `json:"name"`
	Address       string `json:"address"` // cluster address host:port
	Voter         bool   `json:"voter"`
	State         string `json:"state"` // leader, follower, candidate
	LastContactMS int64  `json:"last_contact_ms"`
}

// Validate checks the request's shape; the join token itself is checked
// by the joining node.
func (r AddMemberRequest) Validate() error {
	if strings.TrimSpace(r.NodeID) == "" {
		return Validation("node_id", "node_id is required: the joining node's id")
	}
	host, port, err := net.SplitHostPort(r.Address)
	if err != nil || host == "" || port == "" {
		return Validation("address", "address %q is not host:port (the joining node's cluster address)", r.Address)
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return Validation("address", "address %q names no host the members can dial", r.Address)
	}
	if r.JoinToken == "" {
		return Validation("join_token", "join_token is required: make one on the joining node")
	}
	return nil
}
