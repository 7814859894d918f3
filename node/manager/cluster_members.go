package manager

import (
	"context"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/picloud/picloud/shared"
)

// ClusterMembers adds and removes cluster members and hands out join
// tokens (node/clusternet's Membership, SPEC §12).
type ClusterMembers interface {
	NewJoinToken(ctx context.Context) (shared.JoinToken, error)
	Add(ctx context.Context, req shared.AddMemberRequest) (shared.ClusterMember, error)
	Remove(ctx context.Context, nodeID string) error
}

// ClusterLogs merges this node's page of an app's logs with every
// reachable member's (GET .../logs?cluster=true, SPEC §12).
type ClusterLogs interface {
	ClusterLogs(ctx context.Context, appID, scriptID int64, limit int, local []shared.Log) (logs []shared.Log, unreachable []string)
}

// clusterLogPage answers a cluster page: {"logs", "unreachable"} (the
// members left out). A node without a cluster side tags its own page.
func (a *API) clusterLogPage(w http.ResponseWriter, r *http.Request, appID, scriptID int64, limit int, local []shared.Log) error {
	cl, ok := a.members.(ClusterLogs)
	if !ok {
		return shared.Errorf(shared.CodeNotFound, "this node has no cluster listener")
	}
	logs, unreachable := cl.ClusterLogs(r.Context(), appID, scriptID, limit, local)
	if unreachable == nil {
		unreachable = []string{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"logs": logs, "unreachable": unreachable})
}

func (a *API) clusterMemberRoutes() {
	a.handle(http.MethodPost, shared.PathClusterJoinToken, a.newJoinToken)
	a.handle(http.MethodPost, shared.PathClusterMembers, a.addMember)
	a.handle(http.MethodDelete, shared.PathClusterMember, a.removeMember)
}

func (a *API) clusterMembers() (ClusterMembers, error) {
	if a.members == nil {
		return nil, shared.Errorf(shared.CodeNotFound, "this node has no cluster listener")
	}
	return a.members, nil
}

// newJoinToken takes an empty body (or none): the token is the consent.
func (a *API) newJoinToken(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	m, err := a.clusterMembers()
	if err != nil {
		return err
	}
	tok, err := m.NewJoinToken(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, tok)
}

func (a *API) addMember(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	m, err := a.clusterMembers()
	if err != nil {
		return err
	}
	var req shared.AddMemberRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	mem, err := m.Add(r.Context(), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, mem)
}

func (a *API) removeMember(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	m, err := a.clusterMembers()
	if err != nil {
		return err
	}
	if err := m.Remove(r.Context(), ps.ByName("node_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
