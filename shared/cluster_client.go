package shared

import (
	"context"
	"net/http"
)

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
