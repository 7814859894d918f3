// Package orchestrator is the node's data plane (SPEC §4): it maps a
// request's host to an app, the app's routes to a script, runs the script
// with the executor and records every execution in the logs.
//
// Everything a request needs lives in an immutable snapshot (domain table,
// route tables, compiled programs, effective limits) that Rebuild builds from
// the store and swaps in atomically, so the request path takes no lock,
// touches no database and parses nothing, and every request sees either the
// whole of a change or none of it.
package orchestrator

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/picloud/picloud/node/executor"
	"github.com/picloud/picloud/node/store"
	"github.com/picloud/picloud/node/tail"
	"github.com/picloud/picloud/shared"
)

// Defaults of Config.
const (
	DefaultLogRetention = 10_000
	DefaultMaxBodyBytes = 1 << 20
	DefaultLogQueue     = 4096

	// rebuildTimeout bounds the read of one snapshot.
	rebuildTimeout = time.Minute
)

// Store is what the orchestrator needs of the database: a consistent read of
// everything routing needs, word of every committed change, and the
// execution logs.
type Store interface {
	Snapshot(ctx context.Context) (*store.Snapshot, error)
	Subscribe(fn func(context.Context, store.Change)) (unsubscribe func())
	InsertLogs(ctx context.Context, logs []shared.Log) error
	PruneLogs(ctx context.Context, appID int64, keep int) error
}

// Executor compiles and runs scripts.
type Executor interface {
	Compile(scriptID, version int64, source string, limits shared.Limits) (*executor.Program, error)
	Run(ctx context.Context, inv executor.Invocation) *executor.Result
}

// Config configures an Orchestrator. Store and Executor are required.
type Config struct {
	Store    Store
	Executor Executor
	// Defaults are the sandbox limits of a script without overrides
	// (already capped by the node's ceiling).
	Defaults shared.Limits
	// Ceiling caps every script's effective limits, overrides included.
	// Zero means shared.BuiltinCeiling.
	Ceiling shared.Limits
	// LogRetention is how many execution logs each app keeps; the oldest
	// are pruned. 0 means DefaultLogRetention.
	LogRetention int
	// MaxBodyBytes caps a data-plane request body (413 too_large above
	// it). 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// LogQueue is how many execution logs may wait for the writer. 0 means
	// DefaultLogQueue.
	LogQueue int
	// Egress gives each app the fetcher of its egress allowlist (SPEC
	// §10, node/egress); nil keeps every app's network closed.
	Egress Egress
	// KV gives each app its namespace, env.KV (SPEC §7, node/kv); nil
	// leaves env.KV undefined.
	KV     KV
	Logger *slog.Logger
}

// KV gives the namespace of one app (*kv.Service).
type KV interface {
	ScriptKV(appID int64) executor.KV
}

// Egress makes the fetcher of one app's allowlist (*egress.Client).
type Egress interface {
	Fetcher(appID int64, allow []string) (executor.Fetcher, error)
}

// Orchestrator is the data plane. It is an http.Handler for the apps'
// public traffic; the server adds /healthz and /version in front of it.
type Orchestrator struct {
	store    Store
	exec     Executor
	defaults shared.Limits
	ceiling  shared.Limits
	maxBody  int64
	log      *slog.Logger
	logs     *logWriter
	tails    *tail.Hub // live tails, fed by logs.record
	egress   Egress
	kv       KV
	// unsubscribe ends the store subscription that rebuilds after changes.
	unsubscribe func()

	current   atomic.Pointer[snapshot]
	rebuildMu sync.Mutex // one rebuild at a time, so an older read never replaces a newer one
}

// New returns an orchestrator with no routing table: call Rebuild before
// serving. Until then every request is answered 503. From then on it
// rebuilds after every change the store publishes.
func New(cfg Config) *Orchestrator {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.LogRetention <= 0 {
		cfg.LogRetention = DefaultLogRetention
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.LogQueue <= 0 {
		cfg.LogQueue = DefaultLogQueue
	}
	if cfg.Ceiling == (shared.Limits{}) {
		cfg.Ceiling = shared.BuiltinCeiling()
	}
	tails := tail.New()
	o := &Orchestrator{
		tails:    tails,
		store:    cfg.Store,
		exec:     cfg.Executor,
		defaults: cfg.Defaults,
		ceiling:  cfg.Ceiling,
		maxBody:  cfg.MaxBodyBytes,
		log:      cfg.Logger,
		logs:     newLogWriter(cfg.Store, cfg.LogQueue, cfg.LogRetention, cfg.Logger),
		egress:   cfg.Egress,
		kv:       cfg.KV,
	}
	o.logs.tails = tails
	o.unsubscribe = cfg.Store.Subscribe(o.changed)
	return o
}

// changed rebuilds the snapshot after a committed change, so the next
// request sees it whoever made the change. The write stands even if the
// rebuild fails (the next one catches up), so the failure is logged.
func (o *Orchestrator) changed(ctx context.Context, c store.Change) {
	if c.Kind == store.ChangeSchedule {
		return // schedules are not part of the snapshot
	}
	if err := o.Rebuild(ctx); err != nil {
		o.log.Error("rebuild routing table after change", "change", c.Kind, "app", c.AppID, "err", err)
	}
}

// Rebuild reads everything from the store, builds a new snapshot and swaps
// it in; the next request uses it. It runs after every change the store
// publishes. Compiled programs are cached by the executor per script
// version, so only changed scripts are compiled again. A script that no
// longer compiles does not fail the rebuild: its routes answer 500
// script_error and the reason is logged.
//
// The caller's cancellation is ignored (its values are kept): Rebuild runs
// after a change is committed, and a client hanging up at that moment must
// not leave the data plane serving the state from before the change.
func (o *Orchestrator) Rebuild(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rebuildTimeout)
	defer cancel()
	o.rebuildMu.Lock()
	defer o.rebuildMu.Unlock()
	start := time.Now()
	data, err := o.store.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("rebuild routing table: %w", err)
	}
	snap := o.build(data)
	old := o.current.Swap(snap)
	o.forgetDeleted(old, snap)
	o.retainEgress(data)
	o.endDeletedTails(old, snap)
	o.log.Debug("routing table rebuilt", "apps", len(snap.apps), "scripts", len(snap.scripts),
		"routes", len(data.Routes), "took", time.Since(start))
	return nil
}

// forgetDeleted drops the compiled programs of scripts that are gone, when
// the executor keeps a cache it can be asked to trim.
func (o *Orchestrator) forgetDeleted(old, cur *snapshot) {
	f, ok := o.exec.(interface{ Forget(scriptID int64) })
	if !ok || old == nil {
		return
	}
	for id := range old.scripts {
		if _, ok := cur.scripts[id]; !ok {
			f.Forget(id)
		}
	}
}

// retainEgress lets the fetcher drop the transports of apps that no
// longer have an allowlist (deleted, or emptied), when it can.
func (o *Orchestrator) retainEgress(data *store.Snapshot) {
	r, ok := o.egress.(interface{ Retain(keep map[int64]bool) })
	if !ok {
		return
	}
	keep := make(map[int64]bool, len(data.Egress))
	for id, allow := range data.Egress {
		keep[id] = len(allow) > 0
	}
	r.Retain(keep)
}

// Close writes every execution log still queued, stops the log writer and
// stops following the store's changes. Call it after the data listener has
// shut down; executions finishing later are not logged.
// FlushLogs waits until the execution logs of every run that ended before
// it are written, so that a page of logs read next holds them: the writer
// otherwise gathers up to a second of them before it writes.
func (o *Orchestrator) FlushLogs(ctx context.Context) error {
	return o.logs.flush(ctx)
}

func (o *Orchestrator) Close(ctx context.Context) error {
	o.unsubscribe()
	o.tails.Close()
	return o.logs.close(ctx)
}

var _ http.Handler = (*Orchestrator)(nil)
