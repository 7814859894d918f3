package clusternet

import (
	"crypto/rand"
	"encoding/base32"
)

// newClusterID names a cluster when it is formed.
func newClusterID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}

// ClusterID is the cluster's id, "" when the node is in none.
func (m *Membership) ClusterID() string {
	id, _ := m.clusterID.Load().(string)
	return id
}
