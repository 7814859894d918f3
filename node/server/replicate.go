package server

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/picloud/picloud/node/cluster"
	"github.com/picloud/picloud/node/manager"
	"github.com/picloud/picloud/node/replicate"
	"github.com/picloud/picloud/node/store"
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
	m.OnLeadership(func(leader bool) { n.sched.SetPassive(!leader) })
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
