package executor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/picloud/picloud/node/executor"
	"github.com/picloud/picloud/node/kv"
	"github.com/picloud/picloud/node/nodetest/storetest"
	"github.com/picloud/picloud/node/store"
	"github.com/picloud/picloud/shared"
)

// kvNode is a real store with the node's KV service running over it.
type kvNode struct {
	store *store.Store
	kv    *kv.Service
	apps  map[string]int64
}

func startKV(t *testing.T, cfg kv.ServiceConfig, wrap func(*store.Store) kv.Storage) *kvNode {
	t.Helper()
	st := storetest.Open(t)
	n := &kvNode{store: st, apps: map[string]int64{}}
	for _, slug := range []string{"a", "b"} {
		a, err := st.CreateApp(context.Background(), shared.App{Slug: slug, Name: slug}, false)
		if err != nil {
			t.Fatal(err)
		}
		n.apps[slug] = a.ID
	}
	cfg.Store = st
	if wrap != nil {
		cfg.Store = wrap(st)
	}
	n.kv = kv.NewService(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.kv.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return n
}

func (n *kvNode) bindings(slug string) *executor.Bindings {
	return &executor.Bindings{KV: n.kv.App(n.apps[slug])}
}

func runKV(t *testing.T, e *executor.Executor, b *executor.Bindings, body string) *executor.Result {
	t.Helper()
	l := shared.DefaultLimits()
	p, err := e.Compile(0, 0, "async function handle(req, env) {\n"+body+"\n}", l)
	if err != nil {
		t.Fatal(err)
	}
	return e.Run(context.Background(), executor.Invocation{Program: p, Limits: l, Bindings: b})
}

func kvBody(t *testing.T, res *executor.Result) string {
	t.Helper()
	if res.Err != nil {
		t.Fatalf("run failed: %v (output %q)", res.Err, res.Output)
	}
	return string(res.Body)
}

// The script API of SPEC §7 in the shapes of Workers KV, each case on a
// namespace of its own keys.
func TestKVScriptAPI(t *testing.T) {
	n := startKV(t, kv.ServiceConfig{}, nil)
	e := executor.New(executor.Options{})
	b := n.bindings("a")
	for _, tc := range []struct{ name, body, want string }{
		{"put then get", `await env.KV.put("pg", "hello"); return await env.KV.get("pg")`, "hello"},
		{"get text explicitly", `await env.KV.put("pt", "x"); return [await env.KV.get("pt", "text"), await env.KV.get("pt", {type: "text"})].join()`, "x,x"},
		{"missing key is null", `const v = await env.KV.get("never"); return String(v === null)`, "true"},
		{"put resolves undefined", `return String(await env.KV.put("pu", "v"))`, "undefined"},
		{"json", `await env.KV.put("pj", JSON.stringify({n: 1, a: [true]}));
			const a = await env.KV.get("pj", "json"), b = await env.KV.get("pj", {type: "json", cacheTtl: 60});
			return [a.n, a.a[0], b.n].join()`, "1,true,1"},
		{"json of a missing key is null", `return String(await env.KV.get("never", "json"))`, "null"},
		{"json that does not parse", `await env.KV.put("bad-json", "{nope");
			try { await env.KV.get("bad-json", "json") } catch (e) { return e.name }`, "SyntaxError"},
		{"getWithMetadata", `await env.KV.put("gm", "v", {metadata: {owner: "me", n: 2}});
			const r = await env.KV.getWithMetadata("gm"); return [r.value, r.metadata.owner, r.metadata.n].join()`, "v,me,2"},
		{"getWithMetadata json", `await env.KV.put("gmj", "[1,2]", {metadata: "m"});
			const r = await env.KV.getWithMetadata("gmj", "json"); return r.value.length + r.metadata`, "2m"},
		{"getWithMetadata without metadata", `await env.KV.put("gmn", "v"); return JSON.stringify(await env.KV.getWithMetadata("gmn"))`,
			`{"value":"v","metadata":null}`},
		{"getWithMetadata of a missing key", `return JSON.stringify(await env.KV.getWithMetadata("never"))`, `{"value":null,"metadata":null}`},
		{"overwrite", `await env.KV.put("ow", "1", {metadata: 1}); await env.KV.put("ow", "2");
			return JSON.stringify(await env.KV.getWithMetadata("ow"))`, `{"value":"2","metadata":null}`},
		{"delete", `await env.KV.put("del", "v"); const r = await env.KV.delete("del");
			return [String(r), String(await env.KV.get("del"))].join()`, "undefined,null"},
		{"delete a missing key", `return String(await env.KV.delete("never"))`, "undefined"},
		{"empty value", `await env.KV.put("empty", ""); return JSON.stringify(await env.KV.get("empty"))`, `""`},
		{"unicode key and value", `await env.KV.put("ключ/🔑", "значение 🎉"); return await env.KV.get("ключ/🔑")`, "значение 🎉"},
		{"expirationTtl", `await env.KV.put("ttl", "v", {expirationTtl: 120});
			const {keys} = await env.KV.list({prefix: "ttl"}); const left = keys[0].expiration - Math.floor(Date.now() / 1000);
			return String(left >= 118 && left <= 120) + " " + (await env.KV.get("ttl"))`, "true v"},
		{"expiration", `const at = Math.floor(Date.now() / 1000) + 3600; await env.KV.put("exp", "v", {expiration: at});
			const {keys} = await env.KV.list({prefix: "exp"}); return String(keys[0].expiration === at)`, "true"},
		{"parallel calls", `await Promise.all(Array.from({length: 50}, (_, i) => env.KV.put("par" + i, String(i))));
			const all = await Promise.all(Array.from({length: 50}, (_, i) => env.KV.get("par" + i)));
			return all.join("").length + " " + all[49]`, "90 49"},
		{"methods are shared and frozen", `const p = Object.getPrototypeOf(env.KV);
			try { p.get = null } catch (e) {} return [typeof env.KV.get, Object.isFrozen(p)].join()`, "function,true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := kvBody(t, runKV(t, e, b, tc.body)); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// list returns keys in byte order (UTF-8), filtered by prefix, in pages
// of limit with an opaque cursor, with expiration and metadata.
func TestKVList(t *testing.T) {
	n := startKV(t, kv.ServiceConfig{}, nil)
	e := executor.New(executor.Options{})
	b := n.bindings("a")
	kvBody(t, runKV(t, e, b, `for (const k of ["é", "a0", "B", "a", "a/b", "b/1", "b/2", "b/3", "b0"]) await env.KV.put(k, "v");
		await env.KV.put("m", "v", {metadata: {x: 1}, expirationTtl: 600}); return ""`))
	for _, tc := range []struct{ name, body, want string }{
		{"byte order", `const r = await env.KV.list(); return r.keys.map(k => k.name).join(" ") + " " + r.list_complete + " " + ("cursor" in r)`,
			"B a a/b a0 b/1 b/2 b/3 b0 m é true false"},
		{"prefix", `return (await env.KV.list({prefix: "b/"})).keys.map(k => k.name).join(" ")`, "b/1 b/2 b/3"},
		{"prefix matching nothing", `const r = await env.KV.list({prefix: "zzz"}); return r.keys.length + " " + r.list_complete`, "0 true"},
		{"metadata and expiration", `const [k] = (await env.KV.list({prefix: "m"})).keys;
			return [k.name, k.metadata.x, typeof k.expiration, Object.keys(k).join("/")].join()`, "m,1,number,name/expiration/metadata"},
		{"plain key has only a name", `const [k] = (await env.KV.list({prefix: "B"})).keys; return JSON.stringify(k)`, `{"name":"B"}`},
		{"pages", `const p1 = await env.KV.list({limit: 4}); const p2 = await env.KV.list({limit: 4, cursor: p1.cursor});
			const p3 = await env.KV.list({limit: 4, cursor: p2.cursor});
			return [p1.keys.map(k => k.name), p1.list_complete, p2.keys.map(k => k.name), p3.keys.map(k => k.name), p3.list_complete, p3.cursor].join("|")`,
			"B,a,a/b,a0|false|b/1,b/2,b/3,b0|m,é|true|"},
		{"pages with a prefix", `const p1 = await env.KV.list({prefix: "b/", limit: 2}); const p2 = await env.KV.list({prefix: "b/", limit: 2, cursor: p1.cursor});
			return [p1.keys.map(k => k.name), p2.keys.map(k => k.name), p2.list_complete].join("|")`, "b/1,b/2|b/3|true"},
		// The cursor loop of Cloudflare's documentation, unchanged.
		{"Cloudflare's cursor loop", `
			let cursor = undefined;
			const names = [];
			while (true) {
				const value = await env.KV.list({ limit: 3, cursor });
				for (const key of value.keys) names.push(key.name);
				if (value.list_complete) break;
				cursor = value.cursor;
			}
			return names.length + " " + names[names.length - 1]`, "10 é"},
		// docs/scripts.md's loop, which stops when cursor is absent.
		{"the docs' cursor loop", `
			async function allKeys(env, prefix) {
				const names = [];
				let cursor;
				do {
					const page = await env.KV.list({ prefix, cursor });
					for (const k of page.keys) names.push(k.name);
					cursor = page.cursor;
				} while (cursor);
				return names;
			}
			return (await allKeys(env, "b")).join(" ")`, "b/1 b/2 b/3 b0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := kvBody(t, runKV(t, e, b, tc.body)); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// A bad argument rejects the call's promise with a TypeError or a
// RangeError the script catches; nothing is stored.
func TestKVBadArguments(t *testing.T) {
	n := startKV(t, kv.ServiceConfig{MaxValue: 1000}, nil)
	e := executor.New(executor.Options{})
	b := n.bindings("a")
	for _, tc := range []struct{ name, call, want string }{
		{"number key", `env.KV.get(1)`, "TypeError"},
		{"missing key", `env.KV.get()`, "TypeError"},
		{"object key", `env.KV.put({}, "v")`, "TypeError"},
		{"empty key", `env.KV.get("")`, "RangeError"},
		{"key over 512 bytes", `env.KV.put("é".repeat(257), "v")`, "RangeError"},
		{"key of 512 bytes", `env.KV.put("k".repeat(512), "v")`, "ok"},
		{"non-string value", `env.KV.put("k", 42)`, "TypeError"},
		{"object value", `env.KV.put("k", {a: 1})`, "TypeError"},
		{"value over the limit", `env.KV.put("k", "x".repeat(1001))`, "RangeError"},
		{"value at the limit", `env.KV.put("k", "x".repeat(1000))`, "ok"},
		{"metadata over 1024 bytes", `env.KV.put("k", "v", {metadata: "x".repeat(1100)})`, "RangeError"},
		{"metadata not JSON", `env.KV.put("k", "v", {metadata: () => 1})`, "TypeError"},
		{"metadata cycle", `const m = {}; m.m = m; return env.KV.put("k", "v", {metadata: m})`, "TypeError"},
		{"expirationTtl under 60", `env.KV.put("k", "v", {expirationTtl: 30})`, "RangeError"},
		{"expirationTtl zero", `env.KV.put("k", "v", {expirationTtl: 0})`, "RangeError"},
		{"expirationTtl not a number", `env.KV.put("k", "v", {expirationTtl: "120"})`, "TypeError"},
		{"expiration in the past", `env.KV.put("k", "v", {expiration: 1000})`, "RangeError"},
		{"expiration 30 s ahead", `env.KV.put("k", "v", {expiration: Math.floor(Date.now() / 1000) + 30})`, "RangeError"},
		{"both expirations", `env.KV.put("k", "v", {expiration: Math.floor(Date.now() / 1000) + 600, expirationTtl: 600})`, "TypeError"},
		{"options not an object", `env.KV.put("k", "v", 60)`, "TypeError"},
		{"unknown type", `env.KV.get("k", "blob")`, "TypeError"},
		{"arrayBuffer type", `env.KV.get("k", {type: "arrayBuffer"})`, "TypeError"},
		{"list limit 0", `env.KV.list({limit: 0})`, "RangeError"},
		{"list limit 1001", `env.KV.list({limit: 1001})`, "RangeError"},
		{"list prefix not a string", `env.KV.list({prefix: 1})`, "TypeError"},
		{"list cursor not one returned", `env.KV.list({cursor: "not a cursor!"})`, "RangeError"},
		{"a throwing getter", `env.KV.put("k", "v", {get metadata() { throw new EvalError("mine") }})`, "EvalError"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			call := tc.call
			if !strings.HasPrefix(call, "const") {
				call = "return " + call
			}
			body := fmt.Sprintf(`const p = (() => { %s })();
				if (!(p instanceof Promise)) return "not a promise";
				try { await p; return "ok" } catch (e) { return e.name + (e instanceof Error ? "" : " (not an Error)") }`, call)
			if got := kvBody(t, runKV(t, e, b, body)); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	if keys, bytes, _ := n.store.KVUsage(context.Background(), n.apps["a"]); keys != 2 || bytes != 1001+513 {
		t.Errorf("usage after the bad calls: %d keys, %d bytes; want only the two valid puts (2 keys, 1514 bytes)", keys, bytes)
	}
}

// A write that would pass the app's quota rejects with an Error saying
// "KV quota exceeded"; a write that does not grow the app still works.
func TestKVQuotaExceeded(t *testing.T) {
	n := startKV(t, kv.ServiceConfig{QuotaBytes: 1000}, nil)
	e := executor.New(executor.Options{})
	b := n.bindings("a")
	got := kvBody(t, runKV(t, e, b, `await env.KV.put("a", "x".repeat(900));
		let msg;
		try { await env.KV.put("b", "y".repeat(200)) } catch (e) { msg = e.name + ": " + e.message.slice(0, 17) + " " + (e instanceof Error) }
		await env.KV.put("a", "smaller");
		await env.KV.put("b", "y".repeat(200));
		return msg + " " + (await env.KV.get("b")).length`))
	if want := "Error: KV quota exceeded true 200"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	// Another app has its own quota.
	if got := kvBody(t, runKV(t, e, n.bindings("b"), `await env.KV.put("a", "x".repeat(900)); return "ok"`)); got != "ok" {
		t.Fatalf("app b: %q", got)
	}
}

// The 1,001st KV call of a run stops it with max_kv_operations, whatever
// the script catches; 1,000 are fine, and the next run starts afresh.
func TestKVCallLimit(t *testing.T) {
	n := startKV(t, kv.ServiceConfig{}, nil)
	e := executor.New(executor.Options{})
	b := n.bindings("a")
	res := runKV(t, e, b, `for (let i = 0; i < 1001; i++) { try { await env.KV.get("k" + i) } catch (e) {} } return "not here"`)
	var le *executor.LimitError
	if !errors.As(res.Err, &le) || le.Knob != executor.KnobMaxKVOperations {
		t.Fatalf("got %q, %v; want limit %s", res.Body, res.Err, executor.KnobMaxKVOperations)
	}
	res = runKV(t, e, b, `const ps = []; for (let i = 0; i < 2000; i++) ps.push(env.KV.get("k").catch(() => 0)); await Promise.all(ps); return "not here"`)
	if !errors.As(res.Err, &le) || le.Knob != executor.KnobMaxKVOperations {
		t.Fatalf("in parallel: got %q, %v", res.Body, res.Err)
	}
	if got := kvBody(t, runKV(t, e, b, `let n = 0; for (let i = 0; i < 1000; i++) { await env.KV.get("k"); n++ } return String(n)`)); got != "1000" {
		t.Fatalf("1,000 calls: %q", got)
	}
}

// Apps never see each other's keys, and a run without a namespace has no
// env.KV.
func TestKVIsolation(t *testing.T) {
	n := startKV(t, kv.ServiceConfig{}, nil)
	e := executor.New(executor.Options{})
	kvBody(t, runKV(t, e, n.bindings("a"), `await env.KV.put("secret", "of a"); return ""`))
	if got := kvBody(t, runKV(t, e, n.bindings("b"), `return String(await env.KV.get("secret")) + " " + (await env.KV.list()).keys.length`)); got != "null 0" {
		t.Fatalf("app b sees %q", got)
	}
	if got := kvBody(t, runKV(t, e, &executor.Bindings{}, `return typeof env.KV`)); got != "undefined" {
		t.Fatalf("without a namespace env.KV is %q", got)
	}
}

// Values bigger than the script's max_string_size stop the run, like any
// other string it would get.
func TestKVValueOverMaxStringSize(t *testing.T) {
	n := startKV(t, kv.ServiceConfig{}, nil)
	e := executor.New(executor.Options{})
	b := n.bindings("a")
	kvBody(t, runKV(t, e, b, `await env.KV.put("big", "x".repeat(5000)); return ""`))
	l := shared.DefaultLimits()
	l.MaxStringSize = 1000
	p, err := e.Compile(0, 0, `async function handle(req, env) { try { await env.KV.get("big") } catch (e) {} return "not here" }`, l)
	if err != nil {
		t.Fatal(err)
	}
	res := e.Run(context.Background(), executor.Invocation{Program: p, Limits: l, Bindings: b})
	var le *executor.LimitError
	if !errors.As(res.Err, &le) || le.Knob != shared.KnobMaxStringSize {
		t.Fatalf("got %q, %v", res.Body, res.Err)
	}
}

// gatedStore holds every commit until the test opens the gate.
type gatedStore struct {
	*store.Store
	entered chan struct{}
	gate    chan struct{}
}

func (g *gatedStore) ApplyKV(ctx context.Context, batch []store.KVWrite, quota int64, now time.Time) ([]error, error) {
	g.entered <- struct{}{}
	<-g.gate
	return g.Store.ApplyKV(ctx, batch, quota, now)
}

// A run waiting for its put's commit holds no run slot: with one slot
// and no overflow, other scripts run meanwhile, and the put's promise
// resolves only once the commit is done.
func TestKVWaitingForACommitHoldsNoSlot(t *testing.T) {
	var g *gatedStore
	n := startKV(t, kv.ServiceConfig{}, func(s *store.Store) kv.Storage {
		g = &gatedStore{Store: s, entered: make(chan struct{}, 16), gate: make(chan struct{})}
		return g
	})
	e := executor.New(executor.Options{PoolSize: 1, SlotWait: time.Hour})
	l := shared.DefaultLimits()
	l.TimeoutMS = 30000
	writer, err := e.Compile(1, 1, `async function handle(req, env) { await env.KV.put("k", "v"); return "committed " + await env.KV.get("k") }`, l)
	if err != nil {
		t.Fatal(err)
	}
	hello, err := e.Compile(2, 1, `function handle(req) { return "hello" }`, l)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var res *executor.Result
	wg.Go(func() {
		res = e.Run(context.Background(), executor.Invocation{Program: writer, Limits: l, Bindings: n.bindings("a")})
	})
	<-g.entered
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 20 {
		if r := e.Run(ctx, executor.Invocation{Program: hello, Limits: l}); r.Err != nil || string(r.Body) != "hello" {
			t.Fatalf("a run while another waits for its commit: %q, %v", r.Body, r.Err)
		}
	}
	close(g.gate)
	wg.Wait()
	if got := kvBody(t, res); got != "committed v" {
		t.Fatalf("the writing run: %q", got)
	}
}

// Concurrent runs doing read-modify-write on keys of their own lose no
// update. On one shared key the last write wins, as on Workers: the value
// is one a run wrote, and updates may be lost.
func TestKVConcurrentIncrements(t *testing.T) {
	n := startKV(t, kv.ServiceConfig{}, nil)
	e := executor.New(executor.Options{})
	b := n.bindings("a")
	l := shared.DefaultLimits()
	l.TimeoutMS = 30000
	p, err := e.Compile(1, 1, `async function handle(req, env) {
		const key = req.query.key;
		for (let i = 0; i < Number(req.query.times); i++) {
			const n = Number(await env.KV.get(key)) + 1;
			await env.KV.put(key, String(n));
		}
		return "ok" }`, l)
	if err != nil {
		t.Fatal(err)
	}
	const runs, times = 16, 10
	inc := func(key string, times int) {
		res := e.Run(context.Background(), executor.Invocation{Program: p, Limits: l, Bindings: b,
			Request: &executor.Request{Query: map[string][]string{"key": {key}, "times": {fmt.Sprint(times)}}}})
		if res.Err != nil {
			t.Error(res.Err)
		}
	}
	var wg sync.WaitGroup
	for i := range runs {
		wg.Go(func() { inc(fmt.Sprint("own", i), times) })
	}
	wg.Wait()
	for i := range runs {
		v, err := n.kv.KVGet(context.Background(), n.apps["a"], fmt.Sprint("own", i))
		if err != nil || string(v.Value) != fmt.Sprint(times) {
			t.Errorf("key own%d = %q, %v; want %d", i, v.Value, err, times)
		}
	}
	for range runs {
		wg.Go(func() { inc("shared", 1) })
	}
	wg.Wait()
	v, err := n.kv.KVGet(context.Background(), n.apps["a"], "shared")
	var got int
	fmt.Sscan(string(v.Value), &got)
	if err != nil || got < 1 || got > runs {
		t.Errorf("shared key = %q, %v; want a count one of the runs wrote (1 to %d)", v.Value, err, runs)
	}
	t.Logf("%d concurrent increments of one key left %d (last write wins)", runs, got)
}

// BenchmarkKVGet is one run doing one KV get of a seeded key, beside
// BenchmarkKVHello, the same run without it.
func BenchmarkKVGet(b *testing.B) {
	benchKV(b, `async function handle(req, env) { return await env.KV.get("k" + Math.floor(Math.random() * 100)) }`)
}

func BenchmarkKVHello(b *testing.B) {
	benchKV(b, `async function handle(req, env) { return "Hello" }`)
}

func benchKV(b *testing.B, src string) {
	st := storetest.Open(b)
	a, err := st.CreateApp(context.Background(), shared.App{Slug: "a", Name: "a"}, false)
	if err != nil {
		b.Fatal(err)
	}
	svc := kv.NewService(kv.ServiceConfig{Store: st})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go svc.Run(ctx)
	for i := range 100 {
		if err := svc.App(a.ID).Put(ctx, fmt.Sprint("k", i), executor.KVEntry{Value: "Hello"}); err != nil {
			b.Fatal(err)
		}
	}
	e := executor.New(executor.Options{})
	l := shared.DefaultLimits()
	p, err := e.Compile(1, 1, src, l)
	if err != nil {
		b.Fatal(err)
	}
	inv := executor.Invocation{Program: p, Limits: l, Bindings: &executor.Bindings{KV: svc.App(a.ID)}}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if res := e.Run(context.Background(), inv); res.Err != nil || string(res.Body) != "Hello" {
				b.Fatalf("%q %v", res.Body, res.Err)
			}
		}
	})
}

// Cloudflare's KV examples (developers.cloudflare.com/kv), inside
// handle(req, env) with the binding named KV, unchanged otherwise.
func TestKVCloudflareExamples(t *testing.T) {
	n := startKV(t, kv.ServiceConfig{}, nil)
	e := executor.New(executor.Options{})
	b := n.bindings("a")
	for _, tc := range []struct{ name, body, want string }{
		{"write and read", `
    try {
      await env.KV.put("KEY", "VALUE");
      const value = await env.KV.get("KEY");
      if (value === null) {
        return new Response("Value not found", { status: 404 });
      }
      return new Response(value);
    } catch (err) {
      console.error(` + "`KV returned error: ${err}`" + `);
      return new Response(err, { status: 500 });
    }`, "VALUE"},
		{"metadata", `
    await env.KV.put("key", "value", { metadata: { someMetadataKey: "someMetadataValue" } });
    const { value, metadata } = await env.KV.getWithMetadata("key");
    return new Response(value + " " + metadata.someMetadataKey);`, "value someMetadataValue"},
		{"expiring key and json", `
    await env.KV.put("settings", JSON.stringify({ theme: "dark" }), { expirationTtl: 60 });
    const settings = await env.KV.get("settings", { type: "json" });
    return new Response(settings.theme);`, "dark"},
		{"list", `
    const value = await env.KV.list();
    return new Response(JSON.stringify(value.keys.map((k) => k.name)));`, `["KEY","key","settings"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := kvBody(t, runKV(t, e, b, tc.body)); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// Hostile scripts stop cleanly on the limit they hit, store nothing out
// of bounds, and the next run on the executor is served normally.
func TestKVAttacks(t *testing.T) {
	n := startKV(t, kv.ServiceConfig{QuotaBytes: 1 << 20}, nil)
	e := executor.New(executor.Options{})
	b := n.bindings("a")
	for _, tc := range []struct{ name, body, want, knob string }{
		{"a value over max_string_size", `await env.KV.put("big", "x".repeat(2 << 20)); return "not here"`, "", shared.KnobMaxStringSize},
		{"a value over the KV limit", `try { await env.KV.put("big", "x".repeat(1048577 - 2) + "yy") } catch (e) { return e.name }`, "", shared.KnobMaxStringSize},
		{"filling the quota", `let n = 0; try { for (let i = 0; i < 1000; i++) { await env.KV.put("fill" + i, "x".repeat(10000)); n++ } }
			catch (e) { return n + " " + e.message.slice(0, 17) }`, "104 KV quota exceeded", ""},
		{"many keys at once", `await Promise.all(Array.from({length: 999}, (_, i) => env.KV.put("many" + i, "v"))); return "999"`, "999", ""},
		{"an endless list loop", `for (;;) { await env.KV.list({prefix: "many", limit: 1}) }`, "", executor.KnobMaxKVOperations},
		{"an endless get loop without await", `for (;;) { env.KV.get("k") }`, "", executor.KnobMaxKVOperations},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runKV(t, e, b, tc.body)
			if tc.knob != "" {
				var le *executor.LimitError
				if !errors.As(res.Err, &le) || le.Knob != tc.knob {
					t.Fatalf("got %q, %v; want limit %s", res.Body, res.Err, tc.knob)
				}
			} else if got := kvBody(t, res); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if got := kvBody(t, runKV(t, e, b, `return "healthy " + (await env.KV.get("never"))`)); got != "healthy null" {
				t.Fatalf("the next run: %q", got)
			}
		})
	}
	if _, err := n.kv.KVGet(context.Background(), n.apps["a"], "big"); !shared.IsCode(err, shared.CodeNotFound) {
		t.Errorf("an oversized value was stored: %v", err)
	}
	if _, bytes, _ := n.store.KVUsage(context.Background(), n.apps["a"]); bytes > 1<<20 {
		t.Errorf("the app holds %d bytes, over its quota", bytes)
	}
}
