package executor

import (
	"bytes"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/picloud/picloud/shared"
)

// syncBuffer is a log sink the fence's goroutine may write to as well.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// loggedExecutor returns an executor whose log the test can read.
func loggedExecutor() (*Executor, *syncBuffer) {
	var buf syncBuffer
	return New(Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))}), &buf
}

// allocated runs f and returns the bytes the process allocated meanwhile.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// bigStrings is a prologue making big, a string of 1M non-ASCII
// characters (2 MB in goja, 2 MB as UTF-8): the largest string the default
// max_string_size allows.
const bigStrings = `const big = 'é'.repeat(1 << 20); `

// TestResponseBoundedBeforeCopy returns values whose copy to Go would be
// far larger than any limit: each must answer the contract's error having
// allocated little more than the script itself did, and leave no panic in
// the node's log.
func TestResponseBoundedBeforeCopy(t *testing.T) {
	cases := []struct {
		name   string
		ret    string // handle's return expression
		knob   string // LimitError knob; "" means a ScriptError containing errSub
		errSub string
	}{
		{name: "array of 50 big strings", ret: `Array(50).fill(big)`, knob: shared.KnobMaxStringSize},
		{name: "body array of 50 big strings", ret: `{ status: 200, body: Array(50).fill(big) }`, knob: shared.KnobMaxStringSize},
		{name: "object of 50 big strings", ret: `Object.fromEntries(Array.from({length: 50}, (_, i) => ['k' + i, big]))`, knob: shared.KnobMaxStringSize},
		{name: "async array of 50 big strings", ret: `Promise.resolve(Array(50).fill(big))`, knob: shared.KnobMaxStringSize},
		{name: "20 MB of headers", ret: `{ headers: Object.fromEntries(Array.from({length: 10}, (_, i) => ['x-h' + i, big])), body: 'ok' }`, errSub: "headers"},
		{name: "20 MB of header values in arrays", ret: `{ headers: { 'x-a': Array(10).fill(big) }, body: 'ok' }`, errSub: "headers"},
		{name: "many small headers", ret: `{ headers: Object.fromEntries(Array.from({length: 5000}, (_, i) => ['x-h' + i, 'v'.repeat(20)])), body: 'ok' }`, errSub: "headers"},
		{name: "header over the limit from toString", ret: `{ headers: { 'x-a': { toString() { return big } } }, body: 'ok' }`, errSub: "headers"},
		{name: "rejected with a big reason", ret: `Promise.reject(new Error(big))`, errSub: "rejected"},
		{name: "thrown big message", ret: `(() => { throw new Error(big) })()`, errSub: "éé"},
	}
	e, logs := loggedExecutor()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := shared.DefaultLimits()
			// What the script itself allocates: the same values, unreturned.
			base := allocated(func() {
				res := run(t, e, bigStrings+`function handle(){ const v = (() => { try { return `+tc.ret+` } catch (e) { return e } })(); return 'x' }`, l, nil)
				if res.Err != nil {
					t.Fatalf("baseline: %v", res.Err)
				}
			})
			heap := liveHeap()
			var res *Result
			got := allocated(func() {
				res = run(t, e, bigStrings+`function handle(){ return `+tc.ret+` }`, l, nil)
			})
			if tc.knob != "" {
				var le *LimitError
				if !errors.As(res.Err, &le) || le.Knob != tc.knob {
					t.Fatalf("want limit %s, got %v", tc.knob, res.Err)
				}
			} else {
				var se *ScriptError
				if !errors.As(res.Err, &se) || !strings.Contains(se.Message, tc.errSub) {
					t.Fatalf("want a script error with %q, got %v", tc.errSub, res.Err)
				}
				if n := len(se.Message) + len(se.Stack); n > maxErrorText {
					t.Fatalf("error of %d bytes", n)
				}
			}
			if res.Body != nil || res.Header != nil {
				t.Fatalf("a failed run returned a response: %d headers, %d bytes", len(res.Header), len(res.Body))
			}
			// The script's own values are at most 2 MB each way; a copy of
			// what it returned would be 50 or 100 MB.
			if extra := int64(got) - int64(base); extra > 16<<20 {
				t.Fatalf("reading the return value allocated %d MB more than the script did", extra>>20)
			}
			if after := liveHeap(); after > heap+8<<20 {
				t.Fatalf("live heap grew from %d to %d MB", heap>>20, after>>20)
			}
			if strings.Contains(logs.String(), "panic") {
				t.Fatalf("the node logged a panic:\n%.300s", logs.String())
			}
			healthy(t, e)
		})
	}
}

// TestResponseReadStopsLoopingScripts: script code that runs while the
// response is read (getters, Proxy traps, toString, valueOf, toJSON, a
// thrown value's toString or stack) is stopped by the run's own limits,
// answers the knob, and logs no panic.
func TestResponseReadStopsLoopingScripts(t *testing.T) {
	loop := `for(;;){}`
	cases := []struct{ name, src string }{
		{"status getter", `function handle(){ return { get status(){ ` + loop + ` } } }`},
		{"status valueOf", `function handle(){ return { status: { valueOf(){ ` + loop + ` } } } }`},
		{"headers getter", `function handle(){ return { body: 'x', get headers(){ ` + loop + ` } } }`},
		{"header value getter", `function handle(){ return { body: 'x', headers: { get 'x-a'(){ ` + loop + ` } } } }`},
		{"header value toString", `function handle(){ return { body: 'x', headers: { 'x-a': { toString(){ ` + loop + ` } } } } }`},
		{"header array element toString", `function handle(){ return { body: 'x', headers: { 'x-a': [{ toString(){ ` + loop + ` } }] } } }`},
		{"body getter", `function handle(){ return { status: 200, get body(){ ` + loop + ` } } }`},
		{"body toJSON", `function handle(){ return { body: { toJSON(){ ` + loop + ` } } } }`},
		{"proxy ownKeys", `function handle(){ return new Proxy({}, { ownKeys(){ ` + loop + ` } }) }`},
		{"proxy getOwnPropertyDescriptor", `function handle(){ return new Proxy({ body: 1 }, { getOwnPropertyDescriptor(){ ` + loop + ` } }) }`},
		{"proxy get", `function handle(){ return new Proxy({ body: 1 }, { get(){ ` + loop + ` } }) }`},
		{"proxy headers ownKeys", `function handle(){ return { body: 'x', headers: new Proxy({}, { ownKeys(){ ` + loop + ` } }) } }`},
		{"thrown toString", `function handle(){ throw { toString(){ ` + loop + ` } } }`},
		{"thrown stack getter", `function handle(){ throw { message: 'm', get stack(){ ` + loop + ` } } }`},
		{"rejected toString", `async function handle(){ throw { toString(){ ` + loop + ` } } }`},
		{"promise then getter", `function handle(){ return { get then(){ ` + loop + ` } } }`},
	}
	for _, stop := range []struct {
		name   string
		knob   string
		limits func(*shared.Limits)
	}{
		{"operations", shared.KnobMaxOperations, func(l *shared.Limits) { l.MaxOperations = 100_000 }},
		{"timeout", shared.KnobTimeoutMS, func(l *shared.Limits) { l.MaxOperations = 1 << 50; l.TimeoutMS = 100 }},
	} {
		e, logs := loggedExecutor()
		for _, tc := range cases {
			t.Run(stop.name+"/"+tc.name, func(t *testing.T) {
				l := shared.DefaultLimits()
				stop.limits(&l)
				res := run(t, e, tc.src, l, nil)
				var le *LimitError
				if !errors.As(res.Err, &le) || le.Knob != stop.knob {
					t.Fatalf("want limit %s, got %v", stop.knob, res.Err)
				}
				if strings.Contains(logs.String(), "panic") {
					t.Fatalf("the node logged a panic:\n%.300s", logs.String())
				}
				healthy(t, e)
			})
		}
	}
}

// console.log of a long non-ASCII string converts only the 64 KiB the
// output keeps, not the whole string (goja's own conversion of a
// 1M-character string allocates some 20 MB).
func TestConsoleLogConvertsOnlyWhatItKeeps(t *testing.T) {
	e := New(Options{})
	l := shared.DefaultLimits()
	src := bigStrings + `function handle(){ for (let i = 0; i < 10; i++) console.log(big); return 'ok' }`
	base := allocated(func() { run(t, e, bigStrings+`function handle(){ return 'ok' }`, l, nil) })
	var res *Result
	got := allocated(func() { res = run(t, e, src, l, nil) })
	if res.Err != nil || len(res.Output) > maxOutput || !strings.HasPrefix(res.Output, "ééé") {
		t.Fatalf("err %v, output of %d bytes", res.Err, len(res.Output))
	}
	if extra := int64(got) - int64(base); extra > 4<<20 {
		t.Fatalf("10 console.log calls allocated %d MB", extra>>20)
	}
}
