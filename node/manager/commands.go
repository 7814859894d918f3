package manager

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/picloud/picloud/node/store"
	"github.com/picloud/picloud/shared"
)

// Writer takes every write of configuration and KV as a Command: on a
// single node the local applier runs it against the store at once; in a
// cluster the raft applier (node/replicate) puts it in the Raft log and
// every member runs it through ApplyCommand in log order. Both return
// what ApplyCommand returns for it.
type Writer interface {
	Write(ctx context.Context, c *Command) (any, error)
}

// Operations of a Command.
const (
	OpCreateApp      = "app.create"
	OpUpdateApp      = "app.update"
	OpDeleteApp      = "app.delete"
	OpImportApp      = "app.import"
	OpAddDomain      = "domain.add"
	OpDeleteDomain   = "domain.delete"
	OpCreateScript   = "script.create"
	OpUpdateScript   = "script.update"
	OpDeleteScript   = "script.delete"
	OpCreateRoute    = "route.create"
	OpDeleteRoute    = "route.delete"
	OpCreateSchedule = "schedule.create"
	OpDeleteSchedule = "schedule.delete"
	OpScheduleRun    = "schedule.run"
	OpSetEgress      = "egress.set"
	OpPutEnv         = "env.put"
	OpDeleteEnv      = "env.delete"
	OpKVBatch        = "kv.batch"
	OpKVExpire       = "kv.expire"
	// OpClusterMeta records a fact about the cluster (Name: its key,
	// Value; Once: keep a value already there).
	OpClusterMeta = "cluster.meta"
)

// Command is one write with everything its apply needs decided before it
// is replicated: the time it stamps (At), the takeover decision of a
// confirm token, the checks' inputs. Ids of new rows come from the order
// of the log (AUTOINCREMENT on identical databases), so they are the same
// on every member. Secret values are in clear here; the raft applier
// seals them for the log (SealSecrets) and opens them on each member.
type Command struct {
	Op       string    `json:"op"`
	At       time.Time `json:"at"`
	AppID    int64     `json:"app_id,omitempty"`
	ID       int64     `json:"id,omitempty"`
	Takeover bool      `json:"takeover,omitempty"`
	// AppSlug names the app in a route's host_not_claimed message.
	AppSlug string `json:"app_slug,omitempty"`

	App          *shared.App                 `json:"app,omitempty"`
	AppUpdate    *shared.UpdateAppRequest    `json:"app_update,omitempty"`
	Import       *store.ImportPlan           `json:"import,omitempty"`
	Pattern      string                      `json:"pattern,omitempty"`
	Shape        string                      `json:"shape,omitempty"`
	Script       *shared.Script              `json:"script,omitempty"`
	ScriptUpdate *shared.UpdateScriptRequest `json:"script_update,omitempty"`
	Route        *shared.Route               `json:"route,omitempty"`
	Schedule     *shared.Schedule            `json:"schedule,omitempty"`
	Egress       []string                    `json:"egress,omitempty"`
	Name         string                      `json:"name,omitempty"`
	Value        string                      `json:"value,omitempty"`
	Secret       *bool                       `json:"secret,omitempty"`
	// Sealed holds the secret values of env.put and app.import sealed for
	// the log, by name; Value and the plan's values are then empty.
	Sealed map[string][]byte `json:"sealed,omitempty"`

	KV     []store.KVWrite `json:"kv,omitempty"`
	Quota  int64           `json:"quota,omitempty"`
	Limit  int             `json:"limit,omitempty"`
	Tick   time.Time       `json:"tick,omitzero"`
	Status int             `json:"status,omitempty"`
	Once   bool            `json:"once,omitempty"`
}

// KVStore is what commands need of the store for KV (node/store).
type KVStore interface {
	ApplyKV(ctx context.Context, batch []store.KVWrite, quota int64, now time.Time) ([]error, error)
	ExpireKV(ctx context.Context, now time.Time, limit int) (int, error)
	RecordScheduleRun(ctx context.Context, id int64, tick time.Time, status int) error
	SetClusterMeta(ctx context.Context, key, value string, once bool) error
}

// localWriter is the single node's Writer: the command runs at once, with
// no copy and no encoding.
type localWriter struct{ a *API }

func (l localWriter) Write(ctx context.Context, c *Command) (any, error) {
	return l.a.ApplyCommand(ctx, c)
}

// Syncer is a Writer that can bring this node up to date with writes
// answered elsewhere (a cluster member: Raft's read index).
type Syncer interface {
	Sync(ctx context.Context) error
}

// withSync has a cluster member catch up with the leader before a request
// reads anything, so a request sees every write answered before it on any
// member. Without a majority it serves what the member has (SPEC §12);
// a write then answers no_quorum itself.
func (a *API) withSync(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s, ok := (*a.writer.Load()).(Syncer); ok {
			if err := s.Sync(r.Context()); err != nil {
				a.log.Debug("serving without the leader's latest writes", "err", err)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// SetWriter makes w take the API's writes from now on (a cluster's raft
// applier when the node joins one).
func (a *API) SetWriter(w Writer) { a.writer.Store(&w) }

// write stamps c with the proposer's clock and hands it to the writer.
func (a *API) write(ctx context.Context, c *Command) (any, error) {
	if c.At.IsZero() {
		c.At = a.now().UTC()
	}
	return (*a.writer.Load()).Write(ctx, c)
}

// ApplyCommand runs c against the store. In a cluster every member calls
// it with the same commands in the same order (ctx carries the Raft index,
// store.WithCommand), so it must decide nothing the command does not say.
func (a *API) ApplyCommand(ctx context.Context, c *Command) (any, error) {
	s := a.store
	switch c.Op {
	case OpCreateApp:
		return s.CreateApp(ctx, *c.App, c.Takeover)
	case OpUpdateApp:
		return s.UpdateApp(ctx, c.ID, *c.AppUpdate, c.Takeover)
	case OpDeleteApp:
		return nil, s.DeleteApp(ctx, c.ID)
	case OpImportApp:
		return s.ImportApp(ctx, *c.Import)
	case OpAddDomain:
		return s.AddDomain(ctx, c.AppID, c.Pattern, c.Shape)
	case OpDeleteDomain:
		return nil, s.DeleteDomain(ctx, c.AppID, c.ID)
	case OpCreateScript:
		return s.CreateScript(ctx, *c.Script)
	case OpUpdateScript:
		return s.UpdateScript(ctx, c.ID, *c.ScriptUpdate)
	case OpDeleteScript:
		return nil, s.DeleteScript(ctx, c.ID)
	case OpCreateRoute:
		return s.CreateRoute(ctx, *c.Route, routeCheck(*c.Route, c.AppSlug))
	case OpDeleteRoute:
		return nil, s.DeleteRoute(ctx, c.AppID, c.ID)
	case OpCreateSchedule:
		return s.CreateSchedule(ctx, *c.Schedule, a.checkScheduledEntry)
	case OpDeleteSchedule:
		return nil, s.DeleteSchedule(ctx, c.AppID, c.ID)
	case OpScheduleRun:
		return nil, s.RecordScheduleRun(ctx, c.ID, c.Tick, c.Status)
	case OpSetEgress:
		return s.SetEgress(ctx, c.AppID, c.Egress)
	case OpPutEnv:
		return s.PutEnv(ctx, c.AppID, c.Name, c.Value, c.Secret)
	case OpDeleteEnv:
		return nil, s.DeleteEnv(ctx, c.AppID, c.Name)
	case OpKVBatch:
		return s.ApplyKV(ctx, c.KV, c.Quota, c.At)
	case OpKVExpire:
		return s.ExpireKV(ctx, c.At, c.Limit)
	case OpClusterMeta:
		return nil, s.SetClusterMeta(ctx, c.Name, c.Value, c.Once)
	}
	return nil, fmt.Errorf("unknown command %q", c.Op)
}

// routeCheck is a route's check inside the store's write transaction: its
// host covered by the app's domains, no conflict with the app's routes.
func routeCheck(route shared.Route, appSlug string) func([]shared.Route, []shared.Domain) error {
	return func(existing []shared.Route, domains []shared.Domain) error {
		if route.Host != nil && !covered(domains, *route.Host) {
			return shared.Errorf(shared.CodeHostNotClaimed,
				"host %q is not covered by any domain app %q claims", *route.Host, appSlug).With("field", "host")
		}
		if c := shared.RoutesConflict(existing, route); c != nil {
			return shared.RouteConflictError(*c)
		}
		return nil
	}
}

// EncodeResult is ApplyCommand's answer for op as bytes, for the answer of
// a replicated command; DecodeResult turns them back into the same type.
func EncodeResult(op string, v any) ([]byte, error) {
	if op == OpKVBatch {
		v = kvResults(v.([]error))
	}
	return json.Marshal(v)
}

// kvResults are a KV batch's per-write answers as they cross the log:
// nil or the write's contract error.
func kvResults(errs []error) []*shared.Error {
	out := make([]*shared.Error, len(errs))
	for i, err := range errs {
		if err == nil {
			continue
		}
		e, ok := shared.AsError(err)
		if !ok {
			e = shared.Errorf(shared.CodeInternal, "internal error")
		}
		out[i] = e
	}
	return out
}

// DecodeResult reads what EncodeResult wrote for op.
func DecodeResult(op string, b []byte) (any, error) {
	var v any
	var err error
	switch op {
	case OpCreateApp, OpUpdateApp, OpImportApp:
		v, err = decodeAs[shared.App](b)
	case OpAddDomain:
		v, err = decodeAs[shared.Domain](b)
	case OpCreateScript, OpUpdateScript:
		v, err = decodeAs[shared.Script](b)
	case OpCreateRoute:
		v, err = decodeAs[shared.Route](b)
	case OpCreateSchedule:
		v, err = decodeAs[shared.Schedule](b)
	case OpSetEgress:
		v, err = decodeAs[[]string](b)
	case OpPutEnv:
		v, err = decodeAs[shared.EnvVar](b)
	case OpKVExpire:
		v, err = decodeAs[int](b)
	case OpKVBatch:
		var rs []*shared.Error
		if err := json.Unmarshal(b, &rs); err != nil {
			return nil, fmt.Errorf("%s answer: %w", op, err)
		}
		out := make([]error, len(rs))
		for i, e := range rs {
			if e != nil {
				e.Status = shared.StatusOf(e.Code)
				out[i] = e
			}
		}
		return out, nil
	default:
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s answer: %w", op, err)
	}
	return v, nil
}

func decodeAs[T any](b []byte) (T, error) {
	var v T
	err := json.Unmarshal(b, &v)
	return v, err
}

// writeAs runs c and returns its answer as T.
func writeAs[T any](ctx context.Context, a *API, c *Command) (T, error) {
	v, err := a.write(ctx, c)
	var zero T
	if err != nil {
		return zero, err
	}
	t, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("%s answered %T", c.Op, v)
	}
	return t, nil
}
