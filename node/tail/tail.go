// Package tail fans execution logs out to live tails (SPEC §11) as they
// are recorded. Publishing never blocks: each tail has a bounded buffer,
// and what does not fit is dropped for that tail alone and counted, so a
// slow or stuck reader never slows the run that made the entry. An idle
// tail is a goroutine waiting on a channel; a node without tails pays one
// atomic load per entry.
package tail

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/picloud/picloud/shared"
)

// DefaultBuffer is how many entries a tail holds for its reader before it
// drops.
const DefaultBuffer = 256

// Filter keeps the entries a tail wants (shared.TailFilter.Match).
type Filter = shared.TailFilter

// Hub is the node's set of live tails, by app. It is safe for concurrent
// use; its zero value is not: use New.
type Hub struct {
	active atomic.Int64 // tails open: Publish's fast path
	mu     sync.RWMutex
	apps   map[int64]map[*Tail]struct{}
	closed bool
}

// New returns a hub without tails.
func New() *Hub { return &Hub{apps: make(map[int64]map[*Tail]struct{})} }

// item is a buffered entry with the drops that happened just before it.
type item struct {
	log     shared.Log
	dropped int64
}

// Tail is one reader's subscription to one app's entries.
type Tail struct {
	hub     *Hub
	app     int64
	filter  Filter
	ch      chan item
	pending atomic.Int64 // dropped since the last entry that got through
	ended   chan struct{}
	once    sync.Once
}

// Open starts a tail of app's entries that f keeps, buffering up to buf
// of them (DefaultBuffer when buf < 1). The caller reads with Next and
// must Close it. On a closed hub the tail is already ended.
func (h *Hub) Open(app int64, f Filter, buf int) *Tail {
	if buf < 1 {
		buf = DefaultBuffer
	}
	t := &Tail{hub: h, app: app, filter: f, ch: make(chan item, buf), ended: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		t.end()
		return t
	}
	set := h.apps[app]
	if set == nil {
		set = make(map[*Tail]struct{})
		h.apps[app] = set
	}
	set[t] = struct{}{}
	h.active.Add(1)
	return t
}

// Count is how many tails are open.
func (h *Hub) Count() int { return int(h.active.Load()) }

// Publish hands l to every tail of its app whose filter keeps it, without
// ever waiting for a reader.
func (h *Hub) Publish(l shared.Log) {
	if h.active.Load() == 0 {
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for t := range h.apps[l.AppID] {
		if t.filter.Match(l) {
			t.offer(l)
		}
	}
}

func (t *Tail) offer(l shared.Log) {
	n := t.pending.Swap(0)
	select {
	case t.ch <- item{log: l, dropped: n}:
	default:
		t.pending.Add(n + 1)
	}
}

// EndApp ends every tail of app: it was deleted.
func (h *Hub) EndApp(app int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for t := range h.apps[app] {
		h.remove(t)
	}
}

// Close ends every tail and refuses new ones: the node is stopping.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, set := range h.apps {
		for t := range set {
			h.remove(t)
		}
	}
}

// remove takes t out of the hub and ends it; h.mu is held.
func (h *Hub) remove(t *Tail) {
	set := h.apps[t.app]
	if _, ok := set[t]; !ok {
		return
	}
	delete(set, t)
	if len(set) == 0 {
		delete(h.apps, t.app)
	}
	h.active.Add(-1)
	t.end()
}

func (t *Tail) end() { t.once.Do(func() { close(t.ended) }) }

// Close stops the tail; Next then reports it ended.
func (t *Tail) Close() {
	t.hub.mu.Lock()
	defer t.hub.mu.Unlock()
	t.hub.remove(t)
	t.end()
}

// Ended is closed once the tail has ended (its app was deleted, the hub
// closed, or Close was called).
func (t *Tail) Ended() <-chan struct{} { return t.ended }

// Event is what Next returns: entries dropped for this reader since the
// previous event (Dropped > 0), then the entry that came after them, if
// any (HasLog).
type Event struct {
	Dropped int64
	Log     shared.Log
	HasLog  bool
}

// Next waits for the next entry, or for drops to report once the buffer
// is empty. ok is false when the tail ended or ctx is done; entries still
// buffered when the tail ends are not returned.
func (t *Tail) Next(ctx context.Context) (ev Event, ok bool) {
	select {
	case it := <-t.ch:
		return Event{Dropped: it.dropped, Log: it.log, HasLog: true}, true
	default:
	}
	// The buffer is empty: drops not yet attached to an entry are told now,
	// so a reader that caught up learns of them without waiting for more.
	if n := t.pending.Swap(0); n > 0 {
		return Event{Dropped: n}, true
	}
	select {
	case it := <-t.ch:
		return Event{Dropped: it.dropped, Log: it.log, HasLog: true}, true
	case <-t.ended:
		return ev, false
	case <-ctx.Done():
		return ev, false
	}
}
