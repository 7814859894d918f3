package orchestrator

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/picloud/picloud/shared"
)

const (
	// maxLogBatch bounds one InsertLogs transaction.
	maxLogBatch = 512
	// enqueueWait is how long a request waits for room in a full log
	// queue before its log is dropped. A full queue means the disk cannot
	// keep up; waiting longer would make every request slow and then fail
	// anyway, while a short wait absorbs bursts.
	enqueueWait = 100 * time.Millisecond
	// batchInterval is the least time between the starts of two batch
	// writes while entries keep coming. Every transaction costs a commit
	// (WAL frames for the table's and both indexes' pages) however few
	// rows it carries; without the interval a fast commit makes the
	// batches, and so the work per log, shrink as load grows. Entries
	// wait at most this long in memory, where a crash loses them either
	// way; Close does not wait for it.
	batchInterval = 10 * time.Millisecond
	// writeTimeout bounds one batch write or prune.
	writeTimeout = 30 * time.Second
)

// logWriter records execution logs off the request path: requests append
// entries to a pending list and one goroutine takes the whole list at a
// time and writes it in batches (one transaction per batch of at most
// maxLogBatch). A batch is whatever has queued up while the previous one
// was written, or within batchInterval of its start, so under load batches
// grow instead of writes piling up. The writer is woken when the list goes
// non-empty or fills a batch, not for every entry: a wake-up costs the
// scheduler more than appending the entry.
//
// Pruning an app is a transaction of its own (and an app's first prune in
// a run counts its logs), so it is not done after every batch: an app is
// pruned once slack (a tenth of the retention) logs were written for it
// since its last prune, and every app written since its last prune is
// pruned when the writer closes. Between batches an app therefore holds at
// most retention+slack-1 logs; after a graceful shutdown, at most
// retention. After a crash (no final prune) the next run can add slack-1
// more before pruning, so the bound is retention+2*slack-2 until then. (A
// retention lowered between runs is reached once slack logs of the app
// have been written.)
//
// When queue entries are pending, a request waits at most enqueueWait for
// room, then the entry is dropped and counted; the writer reports drops in
// its log.
type logWriter struct {
	store     Store
	retention int
	slack     int // logs an app may gain over retention before it is pruned
	queue     int // most entries pending at once
	full      int // pending entries that make a batch worth writing at once
	log       *slog.Logger

	mu      sync.Mutex
	pending []shared.Log  // entries not yet taken by the writer, oldest first
	spare   []shared.Log  // the writer's emptied previous list, reused for pending
	room    chan struct{} // closed when the writer takes pending; nil while nobody waits for room
	waiting int           // requests waiting for room; close lets them finish
	closed  bool

	wake chan struct{} // one token: pending went non-empty, filled a batch, or closing
	done chan struct{}

	dropped atomic.Int64 // entries never queued
	failed  atomic.Int64 // entries queued but not written

	// unpruned counts, per app, the logs written since its last prune.
	// Only the writer goroutine touches it.
	unpruned map[int64]int
}

func newLogWriter(st Store, queue, retention int, logger *slog.Logger) *logWriter {
	l := &logWriter{
		store:     st,
		retention: retention,
		slack:     max(retention/10, 1),
		queue:     queue,
		full:      min(queue, maxLogBatch),
		log:       logger,
		wake:      make(chan struct{}, 1),
		done:      make(chan struct{}),
		unpruned:  make(map[int64]int),
	}
	go l.run()
	return l
}

// record queues one entry. It never blocks for more than enqueueWait.
func (l *logWriter) record(e shared.Log) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		l.dropped.Add(1)
		return
	}
	if len(l.pending) < l.queue {
		l.push(e)
		l.mu.Unlock()
		return
	}
	l.waiting++
	t := time.NewTimer(enqueueWait)
	defer t.Stop()
	for {
		if l.room == nil {
			l.room = make(chan struct{})
		}
		room := l.room
		l.mu.Unlock()
		timeout := false
		select {
		case <-room:
		case <-t.C:
			timeout = true
		}
		l.mu.Lock()
		if len(l.pending) < l.queue {
			l.push(e)
		} else if !timeout {
			continue
		} else {
			l.dropped.Add(1)
		}
		l.waiting--
		if l.closed {
			l.signal() // the writer may be waiting for the last of us
		}
		l.mu.Unlock()
		return
	}
}

// push appends e to pending and wakes the writer when it has work: an
// idle writer for the first entry, a gathering one for a full batch.
// l.mu must be held.
func (l *logWriter) push(e shared.Log) {
	if l.pending == nil {
		l.pending = make([]shared.Log, 0, l.full)
	}
	l.pending = append(l.pending, e)
	if n := len(l.pending); n == 1 || n == l.full {
		l.signal()
	}
}

func (l *logWriter) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *logWriter) run() {
	defer close(l.done)
	var reported int64
	var last time.Time // when the previous batch began to be written
	gather := time.NewTimer(time.Hour)
	gather.Stop()
	for {
		l.mu.Lock()
		n, closed, waiting := len(l.pending), l.closed, l.waiting
		l.mu.Unlock()
		if n == 0 {
			if closed && waiting == 0 {
				break
			}
			<-l.wake
			continue
		}
		// Writing back to back, gather until batchInterval after the
		// previous write began or until a batch is full: under load at
		// most one partial transaction per interval, and none delayed
		// when the writer was idle.
		if wait := time.Until(last.Add(batchInterval)); wait > 0 && n < l.full && !closed {
			gather.Reset(wait)
		gathering:
			for {
				select {
				case <-l.wake:
					l.mu.Lock()
					n, closed = len(l.pending), l.closed
					l.mu.Unlock()
					if n >= l.full || closed {
						break gathering
					}
				case <-gather.C:
					break gathering
				}
			}
			gather.Stop()
		}
		l.mu.Lock()
		batch := l.pending
		l.pending, l.spare = l.spare, nil
		if l.room != nil {
			close(l.room)
			l.room = nil
		}
		l.mu.Unlock()

		last = time.Now()
		for b := batch; len(b) > 0; {
			n := min(len(b), maxLogBatch)
			l.write(b[:n])
			b = b[n:]
		}
		clear(batch) // let go of the entries' strings before reusing the array
		l.mu.Lock()
		l.spare = batch[:0]
		l.mu.Unlock()
		if d := l.dropped.Load(); d != reported {
			l.log.Warn("execution logs dropped: the log queue was full", "dropped", d-reported, "total", d)
			reported = d
		}
	}
	// Closing: leave every app at or under its retention.
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	l.prune(ctx, 1)
}

// write inserts one batch and prunes the apps that went slack logs past
// their last prune.
func (l *logWriter) write(batch []shared.Log) {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if err := l.store.InsertLogs(ctx, batch); err != nil {
		l.failed.Add(int64(len(batch)))
		l.log.Error("execution logs lost", "count", len(batch), "err", err)
		return
	}
	for _, e := range batch {
		l.unpruned[e.AppID]++
	}
	l.prune(ctx, l.slack)
}

// prune prunes every app with at least atLeast logs written since its last
// prune. An app whose prune fails stays due and is tried again later.
func (l *logWriter) prune(ctx context.Context, atLeast int) {
	for app, n := range l.unpruned {
		if n < atLeast {
			continue
		}
		if err := l.store.PruneLogs(ctx, app, l.retention); err != nil {
			l.log.Error("pruning execution logs", "app", app, "err", err)
			continue
		}
		delete(l.unpruned, app)
	}
}

// close stops accepting entries, writes everything queued and waits for
// the writer. Calling it again waits again.
func (l *logWriter) close(ctx context.Context) error {
	l.mu.Lock()
	l.closed = true
	l.signal()
	l.mu.Unlock()
	select {
	case <-l.done:
	case <-ctx.Done():
		l.mu.Lock()
		n := len(l.pending)
		l.mu.Unlock()
		return fmt.Errorf("flush execution logs: %d still queued: %w", n, ctx.Err())
	}
	if n := l.failed.Load(); n > 0 {
		return fmt.Errorf("%d execution logs could not be written", n)
	}
	return nil
}
