package clusternet

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/picloud/picloud/shared"
)

// Execution logs stay on the member that ran the script (SPEC §12); a
// cluster page asks every other member for its newest page over the
// membership channel and merges them by time.

// memberLogsTimeout bounds one member's page: a member that does not
// answer in time is left out (and named), not waited for.
const memberLogsTimeout = 3 * time.Second

// LogReader reads this node's own page of an app's logs, newest first.
type LogReader func(ctx context.Context, appID, scriptID int64, limit int) ([]shared.Log, error)

// ClusterLogs merges local (this node's page) with every reachable
// member's newest page of the app's logs: newest first, at most limit,
// each log with its node_id. unreachable names the members left out.
func (m *Membership) ClusterLogs(ctx context.Context, appID, scriptID int64, limit int, local []shared.Log) (logs []shared.Log, unreachable []string) {
	self := m.cfg.Net.NodeID()
	all := tag(local, self)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, s := range m.servers() {
		if string(s.ID) == self {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			page, err := m.memberLogs(ctx, s.Address, appID, scriptID, limit)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				m.log.Info("member's logs left out", "node_id", s.ID, "err", err)
				unreachable = append(unreachable, string(s.ID))
				return
			}
			all = append(all, tag(page, string(s.ID))...)
		}()
	}
	wg.Wait()
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if !a.StartedAt.Equal(b.StartedAt) {
			return a.StartedAt.After(b.StartedAt)
		}
		if a.NodeID != b.NodeID {
			return a.NodeID < b.NodeID
		}
		return a.ID > b.ID
	})
	if len(all) > limit {
		all = all[:limit]
	}
	sort.Strings(unreachable)
	return all, unreachable
}

func tag(logs []shared.Log, nodeID string) []shared.Log {
	out := make([]shared.Log, len(logs))
	for i, l := range logs {
		l.NodeID = nodeID
		out[i] = l
	}
	return out
}

func (m *Membership) memberLogs(ctx context.Context, addr raft.ServerAddress, appID, scriptID int64, limit int) ([]shared.Log, error) {
	ctx, cancel := context.WithTimeout(ctx, memberLogsTimeout)
	defer cancel()
	var ans memberAnswer
	req := memberRequest{Op: "logs", Logs: &logsRequest{AppID: appID, ScriptID: scriptID, Limit: limit}}
	if err := m.ask(ctx, addr, req, &ans); err != nil {
		return nil, err
	}
	return ans.Logs, nil
}

type logsRequest struct {
	AppID    int64 `json:"app_id"`
	ScriptID int64 `json:"script_id"`
	Limit    int   `json:"limit"`
}

// serveLogs answers another member's request for this node's page.
func (m *Membership) serveLogs(ctx context.Context, req *logsRequest) ([]shared.Log, error) {
	if m.cfg.Logs == nil || req == nil {
		return nil, shared.Errorf(shared.CodeNotFound, "this node serves no logs to members")
	}
	return m.cfg.Logs(ctx, req.AppID, req.ScriptID, req.Limit)
}
