package server

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/picloud/picloud/node/cluster"
	"github.com/picloud/picloud/node/clusternet"
	"github.com/picloud/picloud/node/manager"
	"github.com/picloud/picloud/node/replicate"
	"github.com/picloud/picloud/node/store"
	"github.com/picloud/picloud/shared"
)

// replicated is the store as the KV writer and the scheduler write to it:
// straight to SQLite on a single node, through the Raft log once the node
// is in a cluster (one atomic load per batch or run otherwise).
type replicated struct {
	*store.Store
	w atomic.Pointer[replicate.Writer]
}

func (r *replicated) ApplyKV(ctx context.Context, batch []store.KVWrite, quota int64, now time.Time) ([]error, error) {
	if w := r.w.Load(); w != nil {
		return replicate.KVCommitter{W: w}.ApplyKV(ctx, batch, quota, now)
	}
	return r.Store.ApplyKV(ctx, batch, quota, now)
}

func (r *replicated) ExpireKV(ctx context.Context, now time.Time, limit int) (int, error) {
	if w := r.w.Load(); w != nil {
		return replicate.KVExpirer{W: w}.ExpireKV(ctx, now, limit)
	}
	return r.Store.ExpireKV(ctx, now, limit)
}

// RecordScheduleRun notes a run; in a cluster only the leader runs
// schedules, and the note goes through the log so every member's
// schedules table agrees.
func (r *replicated) RecordScheduleRun(ctx context.Context, id int64, tick time.Time, status int) error {
	if w := r.w.Load(); w != nil {
		_, err := w.Write(ctx, &manager.Command{Op: manager.OpScheduleRun, At: tick, ID: id, Tick: tick, Status: status})
		return err
	}
	return r.Store.RecordScheduleRun(ctx, id, tick, status)
}

// replicateThrough makes m take every write of the node from now on: admin
// writes, KV batches and expiry, schedule runs; cron fires on the leader
// only (passive first, so a member that is not the leader never fires).
func (n *Node) replicateThrough(m *cluster.Node) {
	w := &replicate.Writer{Log: m, Sealer: n.secrets}
	n.api.SetWriter(w)
	n.repl.w.Store(w)
	n.sched.SetPassive(true)
	m.OnLeadership(func(leader bool) {
		n.sched.SetPassive(!leader)
		go n.recordFacts(n.factsCtx, w, leader)
	})
}

// startMember runs the node's Raft member on the cluster network's
// transport and forwarder (clusterSide calls it for a form, a join or a
// restart) and sends the node's writes through it.
func (n *Node) startMember(t raft.Transport, f cluster.Forwarder) (*cluster.Node, error) {
	m, err := cluster.New(cluster.Config{
		NodeID: n.identity.NodeID, DataDir: n.cfg.DataDir, Transport: t, State: n.state,
		Forwarder: f, Logger: n.log.With("component", "cluster"), Raft: n.cfg.ClusterRaft,
	})
	if err != nil {
		return nil, fmt.Errorf("start cluster member: %w", err)
	}
	n.replicateThrough(m)
	return m, nil
}

// ClusterMember is the node's Raft member, nil while it is in no cluster.
func (n *Node) ClusterMember() *cluster.Node { return n.clusterNet.Member() }

// Cluster facts every member can show: the cluster's id (recorded once, by
// the first leader) and each member's name (recorded by the member).
const (
	factID         = "id"
	factNamePrefix = "member_name/"
)

// recordFacts puts this member's name, and on the leader the cluster's
// id, in the log when the store lacks them; it retries while the cluster
// has no majority, until ctx ends.
func (n *Node) recordFacts(ctx context.Context, w *replicate.Writer, leader bool) {
	for ctx.Err() == nil {
		err := n.recordFactsOnce(ctx, w, leader)
		if err == nil {
			return
		}
		n.log.Debug("cluster facts not recorded yet", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (n *Node) recordFactsOnce(ctx context.Context, w *replicate.Writer, leader bool) error {
	facts, err := n.store.ClusterMeta(ctx)
	if err != nil {
		return err
	}
	if leader && facts[factID] == "" {
		b := make([]byte, 10)
		_, _ = rand.Read(b)
		id := base32.StdEncoding.EncodeToString(b)[:16]
		if _, err := w.Write(ctx, &manager.Command{Op: manager.OpClusterMeta, Name: factID, Value: id, Once: true}); err != nil {
			return err
		}
	}
	key := factNamePrefix + n.identity.NodeID
	if facts[key] != n.cfg.Name {
		if _, err := w.Write(ctx, &manager.Command{Op: manager.OpClusterMeta, Name: key, Value: n.cfg.Name}); err != nil {
			return err
		}
	}
	return nil
}

// ClusterInfo is GET /api/v1/admin/cluster as this member sees it.
func (n *Node) ClusterInfo(ctx context.Context) (shared.Cluster, error) {
	m := n.ClusterMember()
	if m == nil {
		return shared.Cluster{Members: []shared.ClusterMember{{NodeID: n.identity.NodeID, Name: n.cfg.Name,
			Address: n.clusterNet.net.Advertise(), Voter: true, State: "leader"}}}, nil
	}
	members, err := m.Members()
	if err != nil {
		return shared.Cluster{}, err
	}
	facts, err := n.store.ClusterMeta(ctx)
	if err != nil {
		return shared.Cluster{}, err
	}
	var cl shared.Cluster
	id := facts[factID]
	if id == "" {
		id = "forming" // the first leader has not recorded it yet
	}
	cl.ID = &id
	if leader, _ := m.Leader(); leader != "" {
		cl.Leader = &leader
	}
	for _, mem := range members {
		hostport := mem.Address
		if _, hp, err := clusternet.SplitRaftAddress(raft.ServerAddress(mem.Address)); err == nil {
			hostport = hp
		}
		name := facts[factNamePrefix+mem.NodeID]
		if name == "" && mem.NodeID == n.identity.NodeID {
			name = n.cfg.Name
		}
		cl.Members = append(cl.Members, shared.ClusterMember{NodeID: mem.NodeID, Name: name, Address: hostport,
			Voter: mem.Voter, State: mem.State, LastContactMS: mem.LastContact.Milliseconds()})
	}
	return cl, nil
}
