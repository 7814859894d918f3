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
	// writeTimeout bounds one batch write or prune.
	writeTimeout = 30 * time.Second
)

// logWriter records execution logs off the request path: requests put
// entries on a buffered channel and one goroutine writes them in batches
// (one transaction per batch, then prunes the apps concerned to the
// retention). A batch is whatever has queued up while the previous one was
// written, so under load batches grow instead of writes piling up.
//
// When the queue is full a request waits at most enqueueWait, then the entry
// is dropped and counted; the writer reports drops in its log.
type logWriter struct {
	store     Store
	retention int
	log       *slog.Logger
	ch        chan shared.Log
	done      chan struct{}

	mu     sync.RWMutex // held shared by senders, exclusively by close
	closed bool

	dropped atomic.Int64 // entries never queued
	failed  atomic.Int64 // entries queued but not written
}

func newLogWriter(st Store, queue, retention int, logger *slog.Logger) *logWriter {
	l := &logWriter{
		store:     st,
		retention: retention,
		log:       logger,
		ch:        make(chan shared.Log, queue),
		done:      make(chan struct{}),
	}
	go l.run()
	return l
}

// record queues one entry. It never blocks for more than enqueueWait.
func (l *logWriter) record(e shared.Log) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		l.dropped.Add(1)
		return
	}
	select {
	case l.ch <- e:
		return
	default:
	}
	t := time.NewTimer(enqueueWait)
	defer t.Stop()
	select {
	case l.ch <- e:
	case <-t.C:
		l.dropped.Add(1)
	}
}

func (l *logWriter) run() {
	defer close(l.done)
	batch := make([]shared.Log, 0, maxLogBatch)
	var reported int64
	for e := range l.ch {
		batch = append(batch[:0], e)
	fill:
		for len(batch) < maxLogBatch {
			select {
			case e, ok := <-l.ch:
				if !ok {
					break fill
				}
				batch = append(batch, e)
			default:
				break fill
			}
		}
		l.write(batch)
		if d := l.dropped.Load(); d != reported {
			l.log.Warn("execution logs dropped: the log queue was full", "dropped", d-reported, "total", d)
			reported = d
		}
	}
}

// write inserts one batch and prunes the apps it touched.
func (l *logWriter) write(batch []shared.Log) {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if err := l.store.InsertLogs(ctx, batch); err != nil {
		l.failed.Add(int64(len(batch)))
		l.log.Error("execution logs lost", "count", len(batch), "err", err)
		return
	}
	apps := make(map[int64]bool)
	for _, e := range batch {
		if apps[e.AppID] {
			continue
		}
		apps[e.AppID] = true
		if err := l.store.PruneLogs(ctx, e.AppID, l.retention); err != nil {
			l.log.Error("pruning execution logs", "app", e.AppID, "err", err)
		}
	}
}

// close stops accepting entries, writes everything queued and waits for
// the writer. Calling it again waits again.
func (l *logWriter) close(ctx context.Context) error {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.ch)
	}
	l.mu.Unlock()
	select {
	case <-l.done:
	case <-ctx.Done():
		return fmt.Errorf("flush execution logs: %d still queued: %w", len(l.ch), ctx.Err())
	}
	if n := l.failed.Load(); n > 0 {
		return fmt.Errorf("%d execution logs could not be written", n)
	}
	return nil
}
