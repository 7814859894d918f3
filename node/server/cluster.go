package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/picloud/picloud/node/cluster"
	"github.com/picloud/picloud/node/clusternet"
	"github.com/picloud/picloud/node/secrets"
	"github.com/picloud/picloud/node/store"
)

// clusterAddrFile keeps the address this node is a cluster member at
// (Raft knows members by it), written by a form or a join.
const clusterAddrFile = "cluster.addr"

// clusterIDFile keeps the id of the cluster the node is a member of.
const clusterIDFile = "cluster.id"

// clusterSide is the node's cluster wiring (SPEC §12): the pinned cluster
// network, membership, and the Raft member once the node is in a cluster.
type clusterSide struct {
	net        *clusternet.Net
	membership *clusternet.Membership
	member     atomic.Pointer[cluster.Node]
	// startMember starts the Raft member on the given transport and
	// forwarder (the Node's StartCluster: writes through the log, cron on
	// the leader); nil answers a form or join with join_failed.
	startMember func(raft.Transport, cluster.Forwarder) (*cluster.Node, error)
	cfg         Config
	log         *slog.Logger
}

// newClusterSide builds the cluster network and membership. The node
// holds no port until it forms or joins a cluster, or resume finds it was
// in one.
func newClusterSide(cfg Config, id *Identity, st *store.Store, key *secrets.Swappable, logs clusternet.LogReader, log *slog.Logger) (*clusterSide, error) {
	cn, err := clusternet.New(clusternet.Config{Bind: cfg.ClusterBind, Cert: id.Cert, Logger: log})
	if err != nil {
		return nil, err
	}
	cs := &clusterSide{net: cn, cfg: cfg, log: log}
	cs.membership = clusternet.NewMembership(clusternet.MembershipConfig{
		Net: cn, Tokens: clusternet.NewJoinTokens(nil),
		Start:       func(context.Context) (clusternet.Cluster, error) { return cs.start() },
		SecretsPath: filepath.Join(cfg.DataDir, secrets.FileName), Secrets: key,
		HoldsOwnData: st.HoldsOwnData, AdvertiseFile: cs.addrFile(), Logs: logs, Logger: log,
		IDFile: filepath.Join(cfg.DataDir, clusterIDFile),
	})
	return cs, nil
}

func (cs *clusterSide) addrFile() string { return filepath.Join(cs.cfg.DataDir, clusterAddrFile) }

// resume rejoins the cluster a node with Raft state was in before it
// stopped: listen at the address it is a member at, start the member.
func (cs *clusterSide) resume() error {
	if _, err := os.Stat(filepath.Join(cs.cfg.DataDir, "raft")); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("cluster state: %w", err)
	}
	addr, err := clusternet.ReadAdvertise(cs.addrFile())
	if err != nil {
		return err
	}
	if addr != "" {
		cs.net.SetAdvertise(addr)
	}
	if err := cs.net.Listen(); err != nil {
		return err
	}
	c, err := cs.start()
	if err != nil {
		return err
	}
	cs.membership.Resume(c)
	return nil
}

// start runs this node's Raft member on the cluster network.
func (cs *clusterSide) start() (clusternet.Cluster, error) {
	if cs.startMember == nil {
		return nil, errors.New("this node cannot replicate its store yet")
	}
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: cs.net.StreamLayer(), MaxPool: 3, Timeout: 10 * time.Second,
		Logger: hclog.New(&hclog.LoggerOptions{Name: "raft-net", Level: hclog.Warn, Output: warnWriter{cs.log}, DisableTime: true}),
	})
	m, err := cs.startMember(trans, clusternet.Forwarder{Net: cs.net})
	if err != nil {
		return nil, err
	}
	cs.net.HandleForward(func(ctx context.Context, _ string, cmd []byte) ([]byte, error) {
		return m.ServeForward(ctx, cmd), nil
	})
	cs.member.Store(m)
	cs.log.Info("cluster member started", "advertise", cs.net.Advertise())
	return m, nil
}

// Member is the running Raft member, nil while the node is in no cluster.
func (cs *clusterSide) Member() *cluster.Node { return cs.member.Load() }

// close stops the Raft member and the cluster network.
func (cs *clusterSide) close() error {
	var err error
	if m := cs.member.Load(); m != nil {
		err = m.Shutdown()
	}
	return errors.Join(err, cs.net.Close())
}

// warnWriter logs Raft's transport lines at warning level.
type warnWriter struct{ l *slog.Logger }

func (w warnWriter) Write(p []byte) (int, error) {
	w.l.Warn(string(bytes.TrimSpace(p)))
	return len(p), nil
}
