package store

import (
	"hash/maphash"
	"sync"
)

// kvCache keeps recently read and written KV entries, present or absent,
// so that most gets cost a map lookup instead of a SQL query (about 30 µs
// of a node's CPU per get, measured, against a hello world's 20 µs).
//
// It never answers with less than the database holds for a write that was
// acknowledged: ApplyKV stores every committed write's result here before
// it returns, so before the writer answers the write's caller, and a
// value read from the database is kept only if no write of its shard was
// stored between the lookup that missed and the fill (gen), so a read that
// raced a commit cannot leave the older value behind. What the cache holds
// is thus what the database holds, or a write being committed that is not
// yet stored here (no caller has been answered for it yet).
//
// The store is the only writer of kv_entries: ApplyKV and the expiry
// sweep, which store what they changed, the app's deletion and import,
// which forget the app, and a cluster snapshot's restore, which forgets
// everything. Another process writing the same file's KV rows is not
// supported.
type kvCache struct {
	// applying is held by ApplyKV from its commit until its results are
	// stored, so that results are stored in the order they committed.
	applying sync.Mutex
	seed     maphash.Seed
	shards   [kvCacheShards]kvShard
}

const (
	kvCacheShards = 16
	// kvCacheBytes bounds the whole cache (a Pi Zero has 512 MB); an
	// entry counts its key, value, metadata and kvEntryOverhead.
	kvCacheBytes    = 4 << 20
	kvShardBytes    = kvCacheBytes / kvCacheShards
	kvEntryOverhead = 128
	// Larger entries are read from the database each time: one would
	// push out many small ones.
	kvCacheMaxEntry = kvShardBytes / 8
)

type kvShard struct {
	mu    sync.Mutex
	gen   uint64 // counts the writes stored in this shard
	m     map[kvCacheKey]kvCached
	bytes int
}

type kvCacheKey struct {
	app int64
	key string
}

// kvCached is an entry as the database holds it; found false: absent.
// Its slices are shared with every reader and never modified.
type kvCached struct {
	found bool
	e     KVEntry
}

func (c kvCached) size(key string) int {
	return kvEntryOverhead + len(key) + len(c.e.Value) + len(c.e.Metadata)
}

func newKVCache() *kvCache { return &kvCache{seed: maphash.MakeSeed()} }

func (c *kvCache) shard(k kvCacheKey) *kvShard {
	h := maphash.String(c.seed, k.key) ^ uint64(k.app)*0x9E3779B97F4A7C15
	return &c.shards[h%kvCacheShards]
}

// lookup returns the cached entry of k and whether there is one; on a
// miss, gen is what fill needs to keep the value the caller reads.
func (c *kvCache) lookup(k kvCacheKey) (e kvCached, hit bool, gen uint64) {
	sh := c.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, hit = sh.m[k]
	return e, hit, sh.gen
}

// fill keeps e, read from the database after a lookup of k that missed at
// gen, unless a write was stored in k's shard since.
func (c *kvCache) fill(k kvCacheKey, gen uint64, e kvCached) {
	if e.size(k.key) > kvCacheMaxEntry {
		return
	}
	sh := c.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.gen != gen {
		return
	}
	if _, ok := sh.m[k]; ok {
		return
	}
	sh.put(k, e)
}

// store records a committed write's result: the entry now, or absent.
func (c *kvCache) store(k kvCacheKey, e kvCached) {
	sh := c.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.gen++
	if old, ok := sh.m[k]; ok {
		sh.bytes -= old.size(k.key)
		delete(sh.m, k)
	}
	if e.size(k.key) <= kvCacheMaxEntry {
		sh.put(k, e)
	}
}

// forgetApp drops every entry of an app (deleted, or created by import),
// and counts as a write in every shard.
func (c *kvCache) forgetApp(app int64) {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		sh.gen++
		for k, e := range sh.m {
			if k.app == app {
				sh.bytes -= e.size(k.key)
				delete(sh.m, k)
			}
		}
		sh.mu.Unlock()
	}
}

// forgetAll drops every entry (the tables were replaced), and counts as
// a write in every shard.
func (c *kvCache) forgetAll() {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		sh.gen++
		clear(sh.m)
		sh.bytes = 0
		sh.mu.Unlock()
	}
}

// put adds e (k absent) and evicts entries until the shard fits; map
// iteration starts at a random entry, so eviction is random.
func (sh *kvShard) put(k kvCacheKey, e kvCached) {
	if sh.m == nil {
		sh.m = make(map[kvCacheKey]kvCached)
	}
	sh.m[k] = e
	sh.bytes += e.size(k.key)
	for victim, ve := range sh.m {
		if sh.bytes <= kvShardBytes {
			break
		}
		if victim != k {
			sh.bytes -= ve.size(victim.key)
			delete(sh.m, victim)
		}
	}
}
