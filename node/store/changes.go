package store

import (
	"context"
	"database/sql"
	"maps"
	"slices"
	"sync"
)

// ChangeKind names what part of an app's configuration a write changed.
type ChangeKind string

// The kinds of change the store publishes. Execution logs, schedule runs
// and other state the node records about itself are not configuration and
// are not published.
const (
	ChangeApp      ChangeKind = "app" // created, renamed, deleted (with everything it held)
	ChangeDomain   ChangeKind = "domain"
	ChangeScript   ChangeKind = "script" // deleting one deletes its routes and schedules
	ChangeRoute    ChangeKind = "route"
	ChangeEgress   ChangeKind = "egress"
	ChangeSchedule ChangeKind = "schedule"
	ChangeEnv      ChangeKind = "env" // variables and secrets
)

// Change is one committed write of configuration: its kind and the app it
// belongs to.
type Change struct {
	Kind  ChangeKind
	AppID int64
}

// changes holds the subscribers to committed changes.
type changes struct {
	mu   sync.Mutex
	next int
	subs map[int]func(context.Context, Change)
}

// Subscribe has fn called after every committed change of configuration,
// whoever wrote it: an admin handler, a tool holding the store, or (in a
// cluster) the replication log. fn runs in the writer's goroutine before
// the write returns, so once a write has returned every subscriber has
// seen it; fn may run concurrently for concurrent writes and must not
// write configuration itself. Its context keeps the writer's values but
// is never cancelled: a client hanging up after the commit must not leave
// a subscriber stale. The returned function ends the subscription.
func (s *Store) Subscribe(fn func(context.Context, Change)) (unsubscribe func()) {
	c := &s.changes
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.subs == nil {
		c.subs = make(map[int]func(context.Context, Change))
	}
	id := c.next
	c.next++
	c.subs[id] = fn
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.subs, id)
	}
}

// publish tells every subscriber about ch, in the order they subscribed.
func (c *changes) publish(ctx context.Context, ch Change) {
	c.mu.Lock()
	fns := make([]func(context.Context, Change), 0, len(c.subs))
	for _, id := range slices.Sorted(maps.Keys(c.subs)) {
		fns = append(fns, c.subs[id])
	}
	c.mu.Unlock()
	ctx = context.WithoutCancel(ctx)
	for _, fn := range fns {
		fn(ctx, ch)
	}
}

// change is write for configuration: once fn's transaction has committed,
// the subscribers learn ch. fn may fill in ch.AppID when it learns it
// (a new app's id).
func (s *Store) change(ctx context.Context, ch *Change, fn func(tx *sql.Tx) error) error {
	if err := s.write(ctx, fn); err != nil {
		return err
	}
	s.changes.publish(ctx, *ch)
	return nil
}
