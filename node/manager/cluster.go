package manager

import (
	"context"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/picloud/picloud/shared"
)

// ClusterInfo answers what GET /api/v1/admin/cluster shows (the node's
// server: its Raft member, or itself alone).
type ClusterInfo interface {
	ClusterInfo(ctx context.Context) (shared.Cluster, error)
}

func (a *API) clusterRoutes() {
	a.handle(http.MethodGet, shared.PathCluster, a.getCluster)
}

// getCluster is SPEC §12's view of the cluster from this member: its id,
// the leader and every member with its state. A node in no cluster lists
// itself alone with id null.
func (a *API) getCluster(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	if a.cluster == nil {
		return shared.Errorf(shared.CodeNotFound, "this node has no cluster side")
	}
	cl, err := a.cluster.ClusterInfo(r.Context())
	if err != nil {
		return err
	}
	if cl.Members == nil {
		cl.Members = []shared.ClusterMember{}
	}
	return writeJSON(w, http.StatusOK, cl)
}
