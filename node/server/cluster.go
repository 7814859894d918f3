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

// clusterSide is the node's cluster wiring (SPEC §12): the pinned cluster
// network, membership, and the Raft member once the node is in a cluster.
type clusterSide struct {
	net        *clusternet.Net
	membership *clusternet.Membership
	member     atomic.Pointer[cluster.Node]
	// state is the replicated state machine over the store; nil until
	// replication is built, and then forming or joining fails.
	state cluster.StateMachine
	cfg   Config
	log   *slog.Logger
}

// newClusterSide builds the cluster network and membership; a node that
// was in a cluster before (it has Raft state) listens and rejoins at once,
// any other holds no port until it forms or joins one.
func newClusterSide(cfg Config, id *Identity, st *store.Store, key *secrets.Swappable, state cluster.StateMachine, logs clusternet.LogReader, log *slog.Logger) (*clusterSide, error) {
	cn, err := clusternet.New(clusternet.Config{Bind: cfg.ClusterBind, Cert: id.Cert, Logger: log})
	if err != nil {
		return nil, err
	}
	cs := &clusterSide{net: cn, state: state, cfg: cfg, log: log}
	addrFile := filepath.Join(cfg.DataDir, clusterAddrFile)
	mcfg := clusternet.MembershipConfig{
		Net: cn, Tokens: clusternet.NewJoinTokens(nil),
		Start:       func(context.Context) (clusternet.Cluster, error) { return cs.start() },
		SecretsPath: filepath.Join(cfg.DataDir, secrets.FileName), Secrets: key,
		HoldsOwnData: st.HoldsOwnData, AdvertiseFile: addrFile, Logs: logs, Logger: log,
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "raft")); err == nil {
		addr, err := clusternet.ReadAdvertise(addrFile)
		if err != nil {
			return nil, err
		}
		if addr != "" {
			cn.SetAdvertise(addr)
		}
		if err := cn.Listen(); err != nil {
			return nil, err
		}
		if mcfg.Running, err = cs.start(); err != nil {
			cn.Close()
			return nil, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("cluster state: %w", err)
	}
	cs.membership = clusternet.NewMembership(mcfg)
	return cs, nil
}

// start runs this node's Raft member on the cluster network.
func (cs *clusterSide) start() (clusternet.Cluster, error) {
	if cs.state == nil {
		return nil, errors.New("this node cannot replicate its store yet")
	}
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: cs.net.StreamLayer(), MaxPool: 3, Timeout: 10 * time.Second,
		Logger: hclog.New(&hclog.LoggerOptions{Name: "raft-net", Level: hclog.Warn, Output: warnWriter{cs.log}, DisableTime: true}),
	})
	m, err := cluster.New(cluster.Config{
		NodeID: cs.net.NodeID(), DataDir: cs.cfg.DataDir, Transport: trans, State: cs.state,
		Forwarder: clusternet.Forwarder{Net: cs.net}, Logger: cs.log,
	})
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
