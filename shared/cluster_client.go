package shared

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// Cluster is the node's view of its cluster (GET /api/v1/admin/cluster).
func (c *Client) Cluster(ctx context.Context) (Cluster, error) {
	var out Cluster
	err := c.do(ctx, http.MethodGet, PathCluster, nil, nil, &out)
	return out, err
}

// NewJoinToken asks the node to be added for a one-time join token (SPEC
// §12): its consent, valid 10 minutes, given to a member with AddMember.
func (c *Client) NewJoinToken(ctx context.Context) (JoinToken, error) {
	var out JoinToken
	err := c.do(ctx, http.MethodPost, PathClusterJoinToken, nil, struct{}{}, &out)
	return out, err
}

// AddMember asks a member (or a node in no cluster yet, which forms one) to
// add a node; it answers once the node has caught up. 403
// invalid_join_token, 409 node_not_empty, 502 join_failed.
func (c *Client) AddMember(ctx context.Context, req AddMemberRequest) (ClusterMember, error) {
	var out ClusterMember
	err := c.do(ctx, http.MethodPost, PathClusterMembers, nil, req, &out)
	return out, err
}

// RemoveMember removes a member from the cluster.
func (c *Client) RemoveMember(ctx context.Context, nodeID string) error {
	return c.do(ctx, http.MethodDelete, Path(PathClusterMember, nodeID), nil, nil, nil)
}

// ClusterLogs is Logs for the whole cluster (?cluster=true): every
// reachable member's newest logs merged, newest first, each with its
// NodeID; unreachable names the members left out. It does not page.
func (c *Client) ClusterLogs(ctx context.Context, ref string, scriptID int64, limit int) (logs []Log, unreachable []string, err error) {
	q := url.Values{"cluster": {"true"}}
	if scriptID != 0 {
		q.Set("script", itoa(scriptID))
	}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Logs        []Log    `json:"logs"`
		Unreachable []string `json:"unreachable"`
	}
	err = c.do(ctx, http.MethodGet, Path(PathLogs, ref), q, nil, &out)
	return out.Logs, out.Unreachable, err
}
