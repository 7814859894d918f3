package orchestrator

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/picloud/picloud/node/tail"
	"github.com/picloud/picloud/shared"
)

const (
	// maxLogBatch bounds one InsertLogs transaction; a batch that reaches
	// it is written at once, so the writer keeps up with any rate a node
	// reaches.
	maxLogBatch = 4096
	// enqueueWait is how long a request waits for room in a full log
	// queue before its log is dropped. A full queue means the disk cannot
	// keep up; waiting longer would make every request slow and then fail
	// anyway, while a short wait absorbs bursts.
	enqueueWait = 100 * time.Millisecond
	// flushInterval is the longest an entry waits in memory before the
	// writer commits it, and so the newest logs a crash of the process
	// can lose (a power cut: whatever the kernel had not yet written back,
	// see store.InsertLogs). Every commit writes whole WAL pages (4 KiB
	// each for the table's and the index's pages it touches), however
	// few rows it carries: at homelab rates, committing each request's
	// log alone cost 13 KB written per request, and an SD card wears by
	// bytes written. Gathering a second's logs makes that some 1 KB at
	// 10 requests/s and less at higher rates (bench/RESULTS.md).
	flushInterval = time.Second
	// gatherStep is how long the writer sleeps between looks at the queue
	// while it gathers a batch: it sleeps on a timer, not on the channel,
	// so that a busy node's requests queue their entries without waking
	// it for each (some 0.4 µs of CPU per request,
	// BenchmarkLogWriterPaced). The queue holds far more than a step's
	// worth of entries at any rate a node reaches.
	gatherStep = 10 * time.Millisecond
	// maxBatchText bounds the error and output text a batch holds (up to
	// 128 KiB an entry), so a stream of big logs is written in batches of
	// bounded memory.
	maxBatchText = 4 << 20
	// writeTimeout bounds one batch write or prune.
	writeTimeout = 30 * time.Second
)

// logWriter records execution logs off the request path: requests put
// entries on a buffered channel and one goroutine writes them in batches
// (one transaction per batch). A batch is what queues up within
// flushInterval of its first entry, or less once it holds maxLogBatch
// entries or maxBatchText of text, so a busy node writes full batches
// several times a second and a quiet one a small batch a second.
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
// When the queue is full a request waits at most enqueueWait, then the entry
// is dropped and counted; the writer reports drops in its log.
type logWriter struct {
	store     Store
	retention int
	slack     int // logs an app may gain over retention before it is pruned
	log       *slog.Logger
	ch        chan shared.Log
	tails     *tail.Hub          // live tails see every entry, queued or not; nil for none
	closing   chan struct{}      // closed by close: the writer stops waiting for the interval
	flushes   chan chan struct{} // flush requests, each closed once what was queued before it is written
	done      chan struct{}

	mu     sync.RWMutex // held shared by senders, exclusively by close
	closed bool

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
		log:       logger,
		ch:        make(chan shared.Log, queue),
		closing:   make(chan struct{}),
		flushes:   make(chan chan struct{}),
		done:      make(chan struct{}),
		unpruned:  make(map[int64]int),
	}
	go l.run()
	return l
}

// maxLogText caps a log's error and output (SPEC §2): the executor caps
// what a script makes, this whatever else reaches a log.
const maxLogText = 64 << 10

// capLogText cuts s to maxLogText bytes on a character boundary, marked.
// An error is its message, then its stack: the stack goes first.
func capLogText(s string) string {
	if len(s) <= maxLogText {
		return s
	}
	const mark = "…(truncated)"
	n := maxLogText - len(mark)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + mark
}

// record queues one entry. It never blocks for more than enqueueWait.
func (l *logWriter) record(e shared.Log) {
	e.Error, e.Output = capLogText(e.Error), capLogText(e.Output)
	if l.tails != nil {
		l.tails.Publish(e)
	}
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
	batch := make([]shared.Log, 0, 512) // grows to maxLogBatch under load
	var waiting []chan struct{}         // flushes answered by the next write
	var reported int64
	step := time.NewTimer(time.Hour)
	step.Stop()
	for {
		var text int
		select {
		case e, ok := <-l.ch:
			if !ok {
				// Closing: leave every app at or under its retention.
				ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
				defer cancel()
				l.prune(ctx, 1)
				return
			}
			batch = append(batch[:0], e)
			text = len(e.Error) + len(e.Output)
		case f := <-l.flushes:
			// Entries may be queued beside the request: they go first.
			if batch, text = l.drain(batch[:0], 0); len(batch) == 0 {
				close(f)
				continue
			}
			waiting = append(waiting, f)
		}
		due := time.Now().Add(flushInterval)
		for now := len(waiting) > 0; ; {
			batch, text = l.drain(batch, text)
			wait := min(time.Until(due), gatherStep)
			if now || wait <= 0 || len(batch) >= maxLogBatch || text >= maxBatchText {
				break
			}
			step.Reset(wait)
			select {
			case <-step.C:
			case f := <-l.flushes:
				step.Stop()
				waiting = append(waiting, f)
				now = true // drain once more, then write without waiting
			case <-l.closing:
				step.Stop()
				now = true
			}
		}
		l.write(batch)
		// The next batch reuses the array: written entries (up to 128 KiB
		// of text each) must not stay reachable through it.
		clear(batch)
		for _, f := range waiting {
			close(f)
		}
		waiting = waiting[:0]
		if d := l.dropped.Load(); d != reported {
			l.log.Warn("execution logs dropped: the log queue was full", "dropped", d-reported, "total", d)
			reported = d
		}
	}
}

// flush waits until every entry recorded before it is written (or could
// not be), so that a reader of the logs sees the runs that ended before
// it asked; it costs a commit only when entries are waiting.
func (l *logWriter) flush(ctx context.Context) error {
	f := make(chan struct{})
	select {
	case l.flushes <- f:
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-f:
		return nil
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// drain adds what is queued to batch, up to its bounds, without waiting.
func (l *logWriter) drain(batch []shared.Log, text int) ([]shared.Log, int) {
	for len(batch) < maxLogBatch && text < maxBatchText {
		select {
		case e, ok := <-l.ch:
			if !ok {
				return batch, text
			}
			batch = append(batch, e)
			text += len(e.Error) + len(e.Output)
		default:
			return batch, text
		}
	}
	return batch, text
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
	if !l.closed {
		l.closed = true
		close(l.ch)
		close(l.closing)
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
