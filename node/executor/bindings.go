package executor

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/dop251/goja"
)

// Bindings are what one run may reach beyond the language and its
// argument: env, the second argument of handle(req, env) and
// scheduled(event, env), and the app's side of host APIs behind globals
// such as fetch. They belong to one app. install is the one place they
// enter a runtime, at the start of a run, and the run's end takes them out
// again (runState.end), so a pooled runtime never carries one app's
// bindings into another app's run. A Bindings is only read, never
// written, so one value may serve every run of an app.
type Bindings struct {
	// Vars are the app's variables and secrets, env.NAME (SPEC §8), each
	// a string. The names are the store's, validated there.
	Vars map[string]string

	// KV is the app's namespace, env.KV (SPEC §7); nil leaves env.KV
	// undefined. Its JavaScript side is kv.go.
	KV KV

	// Fetch makes the app's outbound requests for the global fetch (SPEC
	// §10); nil keeps the network closed. The global itself is made once
	// per runtime, frozen like every global, and reads rs.bindings.Fetch
	// when it is called (fetch.go).
	Fetch Fetcher

	// objects are host objects env carries besides the variables, by
	// name: each is built afresh for every run that can see env. The
	// package's tests add test-only host APIs here.
	objects map[string]func(rs *runState) goja.Value
}

// KV is an app's key-value namespace behind env.KV (SPEC §7). Its methods
// are called from the goroutines of runState.async, never from the run's
// own, with the run's context: they return when it ends. A missing key is
// found == false, not an error.
type KV interface {
	Get(ctx context.Context, key string) (e KVEntry, found bool, err error)
	Put(ctx context.Context, key string, e KVEntry) error
	Delete(ctx context.Context, key string) error
	List(ctx context.Context, q KVQuery) (KVPage, error)
}

// KVEntry is one value of a KV namespace with its metadata and expiry.
type KVEntry struct {
	Value      string
	Metadata   json.RawMessage // nil when none
	Expiration time.Time       // zero when it does not expire
}

// KVQuery is a list call: keys with Prefix after Cursor, at most Limit.
type KVQuery struct {
	Prefix, Cursor string
	Limit          int
}

// KVPage is one page of a list call, keys in byte order; Cursor is empty
// on the last page.
type KVPage struct {
	Keys   []KVKey
	Cursor string
}

// KVKey is one key of a KVPage.
type KVKey struct {
	Name       string
	Metadata   json.RawMessage
	Expiration time.Time
}

// Fetcher makes the outbound requests of one app's runs (SPEC §10),
// behind its egress allowlist. Like KV's methods, Fetch is called from a
// goroutine of runState.async with the run's context.
type Fetcher interface {
	Fetch(ctx context.Context, req *http.Request) (*http.Response, error)
}

// install puts b into the run, and returns env for the entry function: a
// fresh object per run, or undefined when the entry cannot observe it
// (entryShape), so a handle(req) costs nothing for it. Globals are frozen
// and shared by every run of the runtime, so nothing of b is ever written
// into one: a global host function reads the current run's bindings from
// sb.run when it is called, and finds none between runs.
func (sb *sandbox) install(b *Bindings, observed bool) goja.Value {
	rs := sb.run
	rs.bindings = b
	if !observed {
		return goja.Undefined()
	}
	if b == nil {
		return sb.rt.CreateObject(sb.objectProto)
	}
	env := sb.plainObject(b.Vars)
	if b.KV != nil {
		_ = env.DefineDataProperty("KV", sb.kvObject(), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
	}
	for _, name := range sortedKeys(b.objects) {
		_ = env.DefineDataProperty(name, b.objects[name](rs), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
	}
	return env
}

// ScheduledEvent is the event of scheduled(event, env) (SPEC §9).
type ScheduledEvent struct {
	Cron          string    // the schedule's expression
	ScheduledTime time.Time // the tick; the script sees ms since the epoch
	Timezone      string    // IANA name
}

// event builds the event object {cron, scheduledTime, timezone}.
func (sb *sandbox) event(ev *ScheduledEvent) goja.Value {
	if ev == nil {
		ev = &ScheduledEvent{}
	}
	o := sb.rt.CreateObject(nil)
	_ = o.Set("cron", ev.Cron)
	_ = o.Set("scheduledTime", ev.ScheduledTime.UnixMilli())
	_ = o.Set("timezone", ev.Timezone)
	sb.finish(o)
	return o
}
