package clusternet

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/picloud/picloud/shared"
)

// memberStatusTimeout bounds asking one member how it is: one that does
// not answer in time is listed as unreachable.
const memberStatusTimeout = 2 * time.Second

// State of a member that did not answer GET /cluster's question.
const stateUnreachable = "unreachable"

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

// Status is GET /api/v1/admin/cluster: every member with its state and its
// last contact with the leader, each asked over the membership channel; a
// node in no cluster lists itself alone with a null id.
func (m *Membership) Status(ctx context.Context) (shared.Cluster, error) {
	self := m.cfg.Net.NodeID()
	c := m.Current()
	servers := m.servers()
	if c == nil || len(servers) == 0 {
		return shared.Cluster{Members: []shared.ClusterMember{{
			NodeID: self, Name: m.cfg.Name, Address: m.cfg.Net.Advertise(), Voter: true, State: "standalone",
		}}}, nil
	}
	out := shared.Cluster{Members: make([]shared.ClusterMember, len(servers))}
	if id := m.ClusterID(); id != "" {
		out.ID = &id
	}
	if leader, _ := c.Leader(); leader != "" {
		out.Leader = &leader
	}
	var wg sync.WaitGroup
	for i, s := range servers {
		_, hp, _ := SplitRaftAddress(s.Address)
		mem := shared.ClusterMember{NodeID: string(s.ID), Address: hp, Voter: s.Suffrage == raft.Voter}
		if string(s.ID) == self {
			st := m.ownStatus()
			mem.Name, mem.State, mem.LastContactMS = st.Name, st.State, st.LastContactMS
			out.Members[i] = mem
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			mem.State = stateUnreachable
			ctx, cancel := context.WithTimeout(ctx, memberStatusTimeout)
			defer cancel()
			var ans memberAnswer
			if err := m.ask(ctx, s.Address, memberRequest{Op: "status"}, &ans); err == nil && ans.Status != nil {
				mem.Name, mem.State, mem.LastContactMS = ans.Status.Name, ans.Status.State, ans.Status.LastContactMS
			}
			out.Members[i] = mem
		}()
	}
	wg.Wait()
	return out, nil
}

// ownStatus is this member's name, Raft state and last contact with the
// leader (0 on the leader).
func (m *Membership) ownStatus() shared.ClusterMember {
	st := shared.ClusterMember{NodeID: m.cfg.Net.NodeID(), Name: m.cfg.Name, State: "standalone"}
	c := m.Current()
	if c == nil {
		return st
	}
	r := c.Raft()
	st.State = stateName(r.State())
	if st.State != "leader" {
		if lc := r.LastContact(); !lc.IsZero() {
			st.LastContactMS = time.Since(lc).Milliseconds()
		}
	}
	return st
}

func stateName(s raft.RaftState) string {
	switch s {
	case raft.Leader:
		return "leader"
	case raft.Candidate:
		return "candidate"
	case raft.Shutdown:
		return "shutdown"
	}
	return "follower"
}
