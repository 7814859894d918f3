package kv

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/picloud/picloud/node/nodetest/storetest"
	"github.com/picloud/picloud/node/store"
	"github.com/picloud/picloud/shared"
)

func openStore(t testing.TB) (*store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "picloud.db")
	return storetest.OpenAt(t, path), path
}

func mkApp(t testing.TB, s *store.Store, slug string) shared.App {
	t.Helper()
	a, err := s.CreateApp(context.Background(), shared.App{Slug: slug, Name: "App " + slug}, false)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// start runs w until the test ends.
func start(t testing.TB, w *Writer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func put(appID int64, key, value string) store.KVWrite {
	return store.KVWrite{AppID: appID, Key: key, Value: []byte(value)}
}

// gated is the store with a gate in front of its commits: the first batch
// waits until the test opens the gate, so the test can queue writes
// behind it, as writes queue behind a batch being synced on a busy node.
// It records the size of every batch and which keys were committed.
type gated struct {
	inner   Committer
	gate    chan struct{}
	entered chan struct{} // the first batch reached the gate

	mu        sync.Mutex
	sizes     []int
	committed map[string]bool
}

func newGated(c Committer) *gated {
	return &gated{inner: c, gate: make(chan struct{}), entered: make(chan struct{}, 1), committed: map[string]bool{}}
}

func (g *gated) ApplyKV(ctx context.Context, batch []store.KVWrite, quota int64, now time.Time) ([]error, error) {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	<-g.gate
	res, err := g.inner.ApplyKV(ctx, batch, quota, now)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sizes = append(g.sizes, len(batch))
	for i, w := range batch {
		if err == nil && res[i] == nil {
			g.committed[w.Key] = true
		}
	}
	return res, err
}

func (g *gated) wasCommitted(key string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.committed[key]
}

// waitQueued waits until n writes wait in w's queue.
func waitQueued(t *testing.T, w *Writer, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(w.queue) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", len(w.queue), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Writes that arrive while a batch commits are committed together, in as
// few transactions as a batch's bounds allow, and each writer is answered
// only once its own write is committed and readable.
func TestWriterGroupCommitsConcurrentWrites(t *testing.T) {
	s, _ := openStore(t)
	a := mkApp(t, s, "a")
	g := newGated(s)
	w := NewWriter(Config{Committer: g})
	start(t, w)

	const queued = maxBatchWrites + 88
	var wg sync.WaitGroup
	errs := make(chan error, queued+1)
	write := func(key string) {
		defer wg.Done()
		if err := w.Write(context.Background(), put(a.ID, key, "v-"+key)); err != nil {
			errs <- fmt.Errorf("write %s: %w", key, err)
			return
		}
		if !g.wasCommitted(key) {
			errs <- fmt.Errorf("write %s answered before its batch committed", key)
		}
		e, err := s.KVGet(context.Background(), a.ID, key, time.Now())
		if err != nil || string(e.Value) != "v-"+key {
			errs <- fmt.Errorf("read after write %s = %q, %v", key, e.Value, err)
		}
	}
	wg.Add(1)
	go write("first")
	<-g.entered
	for i := range queued {
		wg.Add(1)
		go write(fmt.Sprintf("k%04d", i))
	}
	waitQueued(t, w, queued)
	close(g.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if want := fmt.Sprint([]int{1, maxBatchWrites, 88}); fmt.Sprint(g.sizes) != want {
		t.Errorf("batch sizes %v, want %s", g.sizes, want)
	}
	if b, n := w.Stats(); b != 3 || n != queued+1 {
		t.Errorf("Stats = %d batches, %d writes; want 3, %d", b, n, queued+1)
	}
}

// A batch also ends at about 8 MiB of writes, so that one transaction
// never holds the writer connection for long.
func TestWriterBoundsBatchBytes(t *testing.T) {
	s, _ := openStore(t)
	a := mkApp(t, s, "a")
	g := newGated(s)
	w := NewWriter(Config{Committer: g})
	start(t, w)
	big := strings.Repeat("x", 1<<20)
	var wg sync.WaitGroup
	write := func(key string) {
		defer wg.Done()
		if err := w.Write(context.Background(), put(a.ID, key, big)); err != nil {
			t.Error(err)
		}
	}
	wg.Add(1)
	go write("first")
	<-g.entered
	for i := range 10 {
		wg.Add(1)
		go write(fmt.Sprint("k", i))
	}
	waitQueued(t, w, 10)
	close(g.gate)
	wg.Wait()
	if want := fmt.Sprint([]int{1, 8, 2}); fmt.Sprint(g.sizes) != want {
		t.Errorf("batch sizes %v, want %s", g.sizes, want)
	}
}

// An idle writer commits a lone write at once: it never waits for other
// writes to join its batch. Inside the synctest bubble the clock only
// moves when every goroutine of the test waits, so a writer that waited
// any fixed time for company would show it here as elapsed time.
func TestWriterCommitsALoneWriteAtOnce(t *testing.T) {
	s, _ := openStore(t)
	a := mkApp(t, s, "a")
	synctest.Test(t, func(t *testing.T) {
		w := NewWriter(Config{Committer: s})
		ctx, cancel := context.WithCancel(context.Background())
		go w.Run(ctx)
		for i := range 3 {
			begin := time.Now()
			if err := w.Write(ctx, put(a.ID, fmt.Sprint("k", i), "v")); err != nil {
				t.Fatal(err)
			}
			if waited := time.Since(begin); waited != 0 {
				t.Errorf("write %d waited %v for a batch to fill", i, waited)
			}
		}
		if b, n := w.Stats(); b != 3 || n != 3 {
			t.Errorf("Stats = %d batches, %d writes; want 3, 3", b, n)
		}
		cancel()
		synctest.Wait()
	})
}

// A write refused for the quota, or for an app that is gone, is answered
// with its own error; the writes batched with it are committed.
func TestWriterRefusesOneWriteOfABatch(t *testing.T) {
	s, _ := openStore(t)
	a, gone := mkApp(t, s, "a"), mkApp(t, s, "gone")
	if err := s.DeleteApp(context.Background(), gone.ID); err != nil {
		t.Fatal(err)
	}
	g := newGated(s)
	w := NewWriter(Config{Committer: g, QuotaBytes: 100})
	start(t, w)

	writes := []store.KVWrite{
		put(a.ID, "small", "fits"),
		put(a.ID, "huge", strings.Repeat("x", 200)),
		put(gone.ID, "k", "v"),
		put(a.ID, "other", "fits too"),
	}
	results := make([]error, len(writes))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		results[0] = w.Write(context.Background(), writes[0])
	}()
	<-g.entered
	for i := 1; i < len(writes); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = w.Write(context.Background(), writes[i])
		}()
	}
	waitQueued(t, w, len(writes)-1)
	close(g.gate)
	wg.Wait()

	if results[0] != nil || results[3] != nil {
		t.Errorf("writes within the quota: %v, %v", results[0], results[3])
	}
	if !shared.IsCode(results[1], shared.CodeKVQuotaExceeded) || !strings.Contains(results[1].Error(), "KV quota exceeded") {
		t.Errorf("write past the quota: %v", results[1])
	}
	if !shared.IsCode(results[2], shared.CodeNotFound) {
		t.Errorf("write to a deleted app: %v", results[2])
	}
	if _, err := s.KVGet(context.Background(), a.ID, "huge", time.Now()); !shared.IsCode(err, shared.CodeNotFound) {
		t.Errorf("refused write stored: %v", err)
	}
	if keys, bytes, _ := s.KVUsage(context.Background(), a.ID); keys != 2 || bytes != int64(len("smallfitsotherfits too")) {
		t.Errorf("usage %d keys, %d bytes", keys, bytes)
	}
}

// failing is the store with one key the database refuses at commit.
type failing struct{ *store.Store }

func (f failing) ApplyKV(ctx context.Context, batch []store.KVWrite, quota int64, now time.Time) ([]error, error) {
	for _, w := range batch {
		if w.Key == "poison" {
			return nil, errors.New("disk I/O error")
		}
	}
	return f.Store.ApplyKV(ctx, batch, quota, now)
}

// When a batch's transaction fails, its writes are committed one by one,
// so only the write that cannot be stored fails.
func TestWriterIsolatesAFailedWrite(t *testing.T) {
	s, _ := openStore(t)
	a := mkApp(t, s, "a")
	g := newGated(failing{s})
	w := NewWriter(Config{Committer: g})
	start(t, w)
	keys := []string{"first", "ok1", "poison", "ok2"}
	results := make([]error, len(keys))
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = w.Write(context.Background(), put(a.ID, k, "v"))
		}()
		if i == 0 {
			<-g.entered
		}
	}
	waitQueued(t, w, len(keys)-1)
	close(g.gate)
	wg.Wait()
	for i, k := range keys {
		if (results[i] != nil) != (k == "poison") {
			t.Errorf("write %s: %v", k, results[i])
		}
	}
	for _, k := range []string{"first", "ok1", "ok2"} {
		if _, err := s.KVGet(context.Background(), a.ID, k, time.Now()); err != nil {
			t.Errorf("get %s: %v", k, err)
		}
	}
}

// A stopped writer answers at once instead of leaving a run waiting.
func TestWriterAnswersAfterStop(t *testing.T) {
	s, _ := openStore(t)
	a := mkApp(t, s, "a")
	w := NewWriter(Config{Committer: s})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	if err := w.Write(context.Background(), put(a.ID, "k", "v")); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	for range 2 * queueLength { // more than the queue holds
		if err := w.Write(context.Background(), put(a.ID, "k", "v")); !errors.Is(err, ErrClosed) {
			t.Fatalf("write after stop: %v", err)
		}
	}
}

// Expired entries are hidden at once and removed by the writer's sweep,
// which gives their bytes back to the app's quota.
func TestWriterRemovesExpiredEntries(t *testing.T) {
	s, _ := openStore(t)
	a := mkApp(t, s, "a")
	now := time.Now()
	clock := func() time.Time { return now }
	w := NewWriter(Config{Committer: s, Expirer: s, Now: clock})
	start(t, w)
	ctx := context.Background()
	for i := range 1200 { // more than one sweep chunk
		exp := now.Unix() + 60
		if i%2 == 0 {
			exp = 0
		}
		if err := w.Write(ctx, store.KVWrite{AppID: a.ID, Key: fmt.Sprintf("k%04d", i), Value: []byte("v"), Expiration: exp}); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(61 * time.Second)
	if _, err := s.KVGet(ctx, a.ID, "k0001", now); !shared.IsCode(err, shared.CodeNotFound) {
		t.Fatalf("expired entry returned: %v", err)
	}
	w.expireOnce(ctx)
	if keys, bytes, _ := s.KVUsage(ctx, a.ID); keys != 600 || bytes != 600*int64(len("k0000v")) {
		t.Errorf("after the sweep: %d keys, %d bytes; want 600, %d", keys, bytes, 600*len("k0000v"))
	}
}
