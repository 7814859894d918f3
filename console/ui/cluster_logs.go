package ui

import (
	"context"
	"strings"

	"fyne.io/fyne/v2/widget"

	"github.com/picloud/picloud/shared"
)

// clusterLogsAdmin reads the merged log of every member (SPEC §12).
type clusterLogsAdmin interface {
	ClusterLogs(ctx context.Context, ref string, scriptID int64, limit int) ([]shared.Log, []string, error)
}

// clusterLogsCheck is the Logs tab's "Whole cluster": the newest
// executions of every reachable member, merged by the node (it does not
// page: log ids are per member).
func clusterLogsCheck(t *logsTab) *widget.Check {
	return widget.NewCheck("Whole cluster", func(bool) {
		if t.v.tabs != nil {
			t.reload()
		}
	})
}

// fetchCluster is fetch for the whole cluster; members that did not answer
// are named in the status bar.
func (t *logsTab) fetchCluster() func(ctx context.Context) (logsPage, error) {
	v, id := t.v, t.scriptID
	return func(ctx context.Context) (logsPage, error) {
		scripts, err := v.client.Scripts(ctx, v.ref)
		if err != nil {
			return logsPage{}, err
		}
		logs, unreachable, err := v.client.ClusterLogs(ctx, v.ref, id, logPage)
		if err == nil && len(unreachable) > 0 {
			v.post(func() { v.info("Logs of members that did not answer are missing: " + strings.Join(unreachable, ", ")) })
		}
		return logsPage{scripts, logs}, err
	}
}

// logNode is the detail pane's line naming the member that ran it.
func logNode(l shared.Log) string {
	if l.NodeID == "" {
		return ""
	}
	return "on node " + l.NodeID + "\n"
}
