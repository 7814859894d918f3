package orchestrator

import "github.com/picloud/picloud/node/tail"

// Tail opens a live tail of app's execution logs that f keeps (SPEC §11):
// every entry from now on, as it is recorded, before it reaches the
// database. The caller must Close it. It ends by itself when the app is
// deleted or the node stops.
func (o *Orchestrator) Tail(appID int64, f tail.Filter) *tail.Tail {
	t := o.tails.Open(appID, f, tail.DefaultBuffer)
	// An app deleted before Open was missed by endDeletedTails; one deleted
	// after it is not.
	if snap := o.current.Load(); snap == nil || snap.apps[appID] == nil {
		t.Close()
	}
	return t
}

// OpenTails is how many live tails are open.
func (o *Orchestrator) OpenTails() int { return o.tails.Count() }

// EndTails ends every live tail and refuses new ones. The server calls it
// when it starts shutting down, so open streams do not hold the shutdown
// until its grace runs out.
func (o *Orchestrator) EndTails() { o.tails.Close() }

// endDeletedTails ends the tails of apps that the new snapshot no longer
// has: they were deleted.
func (o *Orchestrator) endDeletedTails(old, cur *snapshot) {
	if old == nil {
		return
	}
	for id := range old.apps {
		if _, ok := cur.apps[id]; !ok {
			o.tails.EndApp(id)
		}
	}
}
