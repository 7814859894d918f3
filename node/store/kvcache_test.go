package store

import (
	"context"
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picloud/picloud/shared"
)

// getValue is KVGet's value, "" with found false for not_found.
func getValue(t testing.TB, s *Store, appID int64, key string, now time.Time) (string, bool) {
	t.Helper()
	e, err := s.KVGet(context.Background(), appID, key, now)
	if shared.IsCode(err, shared.CodeNotFound) {
		return "", false
	}
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	return string(e.Value), true
}

// Reads are answered from the cache once an entry was read or written; each
// case checks that what a read returns is what the database holds.
func TestKVCacheAnswersAsTheDatabase(t *testing.T) {
	s, _ := openTest(t)
	a := mkApp(t, s, "a")
	big := strings.Repeat("x", kvCacheMaxEntry) // too large to cache

	for _, tc := range []struct {
		name   string
		writes []KVWrite
		key    string
		now    time.Time
		want   string // "" with found false: not found
		found  bool
	}{
		{"a put is read back", []KVWrite{put(a.ID, "k1", "v1")}, "k1", kvNow, "v1", true},
		{"an overwrite replaces the cached value", []KVWrite{put(a.ID, "k1", "v2")}, "k1", kvNow, "v2", true},
		{"a delete hides the cached value", []KVWrite{{AppID: a.ID, Key: "k1", Delete: true}}, "k1", kvNow, "", false},
		{"a put after a cached absence is seen", []KVWrite{put(a.ID, "k1", "v3")}, "k1", kvNow, "v3", true},
		{"an entry is hidden once expired", []KVWrite{{AppID: a.ID, Key: "ttl", Value: []byte("soon"), Expiration: kvNow.Unix() + 60}}, "ttl", kvNow.Add(time.Minute), "", false},
		{"and shown before", nil, "ttl", kvNow.Add(59 * time.Second), "soon", true},
		{"a value too large to cache is read back", []KVWrite{put(a.ID, "big", big)}, "big", kvNow, big, true},
		{"and its overwrite", []KVWrite{put(a.ID, "big", "small")}, "big", kvNow, "small", true},
		{"a quota refusal keeps the old value", []KVWrite{put(a.ID, "k1", strings.Repeat("y", 2<<20))}, "k1", kvNow, "v3", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.writes) > 0 {
				applyKV(t, s, 1<<20, tc.writes...)
			}
			for range 2 { // a miss that fills, then a hit
				if got, found := getValue(t, s, a.ID, tc.key, tc.now); got != tc.want || found != tc.found {
					t.Fatalf("get %q = %.20q, %v; want %.20q, %v", tc.key, got, found, tc.want, tc.found)
				}
			}
			c, err := s.kvRead(context.Background(), a.ID, tc.key)
			if err != nil {
				t.Fatal(err)
			}
			live := c.found && (c.e.Expiration == 0 || c.e.Expiration > tc.now.Unix())
			if live != tc.found || (live && string(c.e.Value) != tc.want) {
				t.Fatalf("the database holds %+v", c)
			}
		})
	}
}

// Readers racing a writer on the same keys never see a value older than
// the last write acknowledged before their read began: the read-your-writes
// guarantee, here across goroutines. Every other value is too large to
// cache, so its write drops the key from the cache and reads that
// straddle commits fill it again.
func TestKVCacheReadsNeverGoBackInTime(t *testing.T) {
	s, _ := openTest(t)
	a := mkApp(t, s, "a")
	const keys, writes = 4, 150
	var acked [keys]atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var stale atomic.Int64
	for r := range 6 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				k := (r + i) % keys
				floor := acked[k].Load()
				v, found := getValue(t, s, a.ID, fmt.Sprint("k", k), kvNow)
				n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				if floor > 0 && (!found || n < floor) {
					stale.Add(1)
					t.Errorf("key k%d read %q after %d was acknowledged", k, v, floor)
					return
				}
			}
		})
	}
	padding := strings.Repeat(" ", kvCacheMaxEntry)
	for i := 1; i <= writes; i++ {
		k := i % keys
		v := strconv.Itoa(i)
		if i/keys%2 == 0 {
			v += padding
		}
		applyKV(t, s, 1<<30, put(a.ID, fmt.Sprint("k", k), v))
		acked[k].Store(int64(i))
	}
	cancel()
	wg.Wait()
	if stale.Load() > 0 {
		t.Fatalf("%d stale reads", stale.Load())
	}
}

// A deleted app's cached entries go with it; an imported app reads what
// the import wrote even where a read of its id was cached before it existed.
func TestKVCacheForgetsDeletedAndImportedApps(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a := mkApp(t, s, "a")
	applyKV(t, s, 1<<20, put(a.ID, "k", "v"))
	if v, _ := getValue(t, s, a.ID, "k", kvNow); v != "v" {
		t.Fatalf("get = %q", v)
	}
	if err := s.DeleteApp(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if v, found := getValue(t, s, a.ID, "k", kvNow); found {
		t.Fatalf("deleted app's key reads %q", v)
	}

	next := a.ID + 1 // AUTOINCREMENT: the id the import gets
	if _, found := getValue(t, s, next, "k", kvNow); found {
		t.Fatal("a key of an app that does not exist")
	}
	imported, err := s.ImportApp(ctx, ImportPlan{App: shared.App{Slug: "imported", Name: "Imported"},
		KV: []shared.ExportKV{{Key: "k", Value: "from the import"}}})
	if err != nil {
		t.Fatal(err)
	}
	if imported.ID != next {
		t.Fatalf("import got id %d, want %d", imported.ID, next)
	}
	if v, _ := getValue(t, s, next, "k", kvNow); v != "from the import" {
		t.Fatalf("imported key reads %q", v)
	}
}

// The cache stays within its bytes however many entries are read.
func TestKVCacheStaysWithinItsBudget(t *testing.T) {
	s, _ := openTest(t)
	a := mkApp(t, s, "a")
	value := strings.Repeat("v", 1000)
	const n = 2 * kvCacheBytes / 1000
	for i := 0; i < n; i += 500 {
		batch := make([]KVWrite, 0, 500)
		for j := i; j < i+500; j++ {
			batch = append(batch, put(a.ID, fmt.Sprint("key", j), value))
		}
		applyKV(t, s, 1<<30, batch...)
	}
	for i := range n {
		if v, _ := getValue(t, s, a.ID, fmt.Sprint("key", i), kvNow); v != value {
			t.Fatalf("key%d = %.10q", i, v)
		}
	}
	total, entries := 0, 0
	for i := range s.kvCache.shards {
		sh := &s.kvCache.shards[i]
		if sh.bytes > kvShardBytes {
			t.Errorf("shard %d holds %d bytes, over %d", i, sh.bytes, kvShardBytes)
		}
		total += sh.bytes
		entries += len(sh.m)
	}
	if entries < n/4 {
		t.Errorf("only %d of %d entries cached in %d bytes", entries, n, total)
	}
}

// A read that missed, then raced a write, must not leave its older value in
// the cache: each case is a write stored while the read was in flight.
func TestKVCacheFillAfterARacingWrite(t *testing.T) {
	k := kvCacheKey{app: 1, key: "k"}
	old := kvCached{found: true, e: KVEntry{Value: []byte("old")}}
	big := kvCached{found: true, e: KVEntry{Value: make([]byte, kvCacheMaxEntry)}}
	for _, tc := range []struct {
		name    string
		write   func(c *kvCache)
		hit     bool   // the lookup after the fill finds an entry
		want    string // its value
		wantHas bool   // found
	}{
		{"a put", func(c *kvCache) { c.store(k, kvCached{found: true, e: KVEntry{Value: []byte("new")}}) }, true, "new", true},
		{"a delete", func(c *kvCache) { c.store(k, kvCached{}) }, true, "", false},
		{"a put too large to cache", func(c *kvCache) { c.store(k, big) }, false, "", false},
		{"the app's deletion", func(c *kvCache) { c.forgetApp(k.app) }, false, "", false},
		{"a write of another key of the shard", func(c *kvCache) {
			for i := 0; ; i++ {
				other := kvCacheKey{app: 1, key: fmt.Sprint("other", i)}
				if c.shard(other) == c.shard(k) {
					c.store(other, old)
					return
				}
			}
		}, false, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newKVCache()
			if _, hit, _ := c.lookup(k); hit {
				t.Fatal("hit in an empty cache")
			}
			_, _, gen := c.lookup(k)
			tc.write(c)
			c.fill(k, gen, old)
			e, hit, _ := c.lookup(k)
			if hit != tc.hit || (hit && (string(e.e.Value) != tc.want || e.found != tc.wantHas)) {
				t.Fatalf("after the fill: hit %v, %+v; want hit %v, %q found %v", hit, e, tc.hit, tc.want, tc.wantHas)
			}
		})
	}
	t.Run("no write: the fill is kept", func(t *testing.T) {
		c := newKVCache()
		_, _, gen := c.lookup(k)
		c.fill(k, gen, old)
		if e, hit, _ := c.lookup(k); !hit || string(e.e.Value) != "old" {
			t.Fatalf("hit %v, %+v", hit, e)
		}
	})
}

// Random batches of puts, overwrites, deletes (duplicates within a batch
// included), expiry sweeps and reads, against a model of what each app
// holds: every quota decision, every read and the usage are the model's.
// The sizes the quota check compares come from the batch, the cache or the
// database, so a stale one would show as a wrong decision.
func TestKVQuotaDecisionsMatchAModel(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	apps := []int64{mkApp(t, s, "a").ID, mkApp(t, s, "b").ID}
	type entry struct {
		size, exp int64
		value     string
	}
	model := map[int64]map[string]entry{apps[0]: {}, apps[1]: {}}
	usage := func(app int64) (n int64) {
		for _, e := range model[app] {
			n += e.size
		}
		return n
	}
	const quota = 3000
	rng := rand.New(rand.NewSource(2))
	now := kvNow
	for round := range 120 {
		var batch []KVWrite
		for range 1 + rng.Intn(25) {
			w := KVWrite{AppID: apps[rng.Intn(2)], Key: fmt.Sprint("k", rng.Intn(25))}
			if rng.Intn(4) == 0 {
				w.Delete = true
			} else {
				w.Value = []byte(strings.Repeat("v", rng.Intn(300)))
				if rng.Intn(2) == 0 {
					w.Expiration = now.Unix() + int64(60+rng.Intn(120))
				}
			}
			batch = append(batch, w)
		}
		res := applyKV(t, s, quota, batch...)
		for i, w := range batch {
			m := model[w.AppID]
			if w.Delete {
				delete(m, w.Key)
				if res[i] != nil {
					t.Fatalf("round %d: delete %q refused: %v", round, w.Key, res[i])
				}
				continue
			}
			size := w.size()
			grow := size - m[w.Key].size
			refuse := grow > 0 && usage(w.AppID)+grow > quota
			if refuse != (res[i] != nil) {
				t.Fatalf("round %d write %d (%q, %d bytes, app at %d): refused %v, want %v", round, i, w.Key, size, usage(w.AppID), res[i], refuse)
			}
			if !refuse {
				m[w.Key] = entry{size: size, exp: w.Expiration, value: string(w.Value)}
			}
		}
		if round%3 == 2 { // time passes and the sweep runs
			now = now.Add(time.Minute)
			if _, err := s.ExpireKV(ctx, now, 1000); err != nil {
				t.Fatal(err)
			}
			for _, m := range model {
				for k, e := range m {
					if e.exp != 0 && e.exp <= now.Unix() {
						delete(m, k)
					}
				}
			}
		}
		for _, app := range apps {
			if _, bytes := checkUsage(t, s, app); bytes != usage(app) {
				t.Fatalf("round %d: app %d uses %d bytes, the model %d", round, app, bytes, usage(app))
			}
			for k := range 25 {
				key := fmt.Sprint("k", k)
				e, ok := model[app][key]
				ok = ok && (e.exp == 0 || e.exp > now.Unix())
				if v, found := getValue(t, s, app, key, now); found != ok || v != e.value && ok {
					t.Fatalf("round %d: app %d %s = %.10q, %v; the model %.10q, %v", round, app, key, v, found, e.value, ok)
				}
			}
		}
	}
}

// A member restoring a cluster snapshot reads the snapshot's entries, not
// the ones it had cached.
func TestKVCacheForgetsARestoredCopy(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a := mkApp(t, s, "a")
	applyKV(t, s, 1<<20, put(a.ID, "k", "in the copy"))
	copied, err := s.CopyReplicated(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer copied.Close()
	applyKV(t, s, 1<<20, put(a.ID, "k", "after the copy"), put(a.ID, "new", "after the copy"))
	for _, k := range []string{"k", "new"} {
		if v, _ := getValue(t, s, a.ID, k, kvNow); v != "after the copy" {
			t.Fatalf("%s = %q before the restore", k, v)
		}
	}
	if err := s.RestoreReplicated(ctx, t.TempDir(), copied); err != nil {
		t.Fatal(err)
	}
	if v, _ := getValue(t, s, a.ID, "k", kvNow); v != "in the copy" {
		t.Errorf("k = %q after the restore, want the copy's", v)
	}
	if v, found := getValue(t, s, a.ID, "new", kvNow); found {
		t.Errorf("a key the copy does not hold reads %q", v)
	}
}
