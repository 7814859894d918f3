package executor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/dop251/goja"

	"github.com/picloud/picloud/shared"
)

// env.KV, the app's key-value namespace (SPEC §7), in the shapes of
// Cloudflare Workers KV. Its methods live on one frozen prototype per
// runtime and read the current run's Bindings.KV when called; env.KV is a
// fresh object on that prototype per run. Every method returns a promise.
// Writes run on the event loop (runState.async), so a run waiting for its
// commit holds no run slot; reads are done at once (see settled). A bad argument rejects the
// promise with a TypeError (wrong type) or RangeError (out of bounds).

// MaxKVCalls is how many KV calls one run may make; the next stops it
// with KnobMaxKVOperations.
const MaxKVCalls = 1000

// KnobMaxKVOperations names the per-run KV call cap in a LimitError. Like
// max_subrequests it is not a per-script knob.
const KnobMaxKVOperations = "max_kv_operations"

// kvObject is env.KV for the current run.
func (sb *sandbox) kvObject() goja.Value {
	if sb.kvProto == nil {
		sb.kvProto = sb.makeKVProto()
	}
	return sb.rt.CreateObject(sb.kvProto)
}

// makeKVProto builds the frozen prototype of env.KV.
func (sb *sandbox) makeKVProto() *goja.Object {
	proto := sb.rt.CreateObject(sb.objectProto)
	freeze, _ := goja.AssertFunction(sb.object("Object").Get("freeze"))
	for _, m := range []struct {
		name string
		fn   func(goja.FunctionCall) goja.Value
	}{
		{"get", sb.kvGet},
		{"getWithMetadata", sb.kvGetWithMetadata},
		{"put", sb.kvPut},
		{"delete", sb.kvDelete},
		{"list", sb.kvList},
	} {
		fn := sb.rt.ToValue(m.fn)
		if _, err := freeze(goja.Undefined(), fn); err != nil {
			panic(err)
		}
		_ = proto.DefineDataProperty(m.name, fn, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
	}
	if _, err := freeze(goja.Undefined(), proto); err != nil {
		panic(err)
	}
	return proto
}

// kvCall is the common start of every KV method: it counts the call and
// parses the arguments with parse, which returns a *hostError (or throws)
// for a bad one. It returns the namespace, or the promise to answer with
// instead: rejected for a bad argument, and the run stopped at the
// 1,001st call.
func (sb *sandbox) kvCall(parse func() error) (KV, goja.Value) {
	rs := sb.run
	if rs == nil || rs.bindings == nil || rs.bindings.KV == nil {
		return nil, sb.rejected("Error", "KV is not available in this run")
	}
	if rs.kvCalls >= MaxKVCalls {
		rs.stop(KnobMaxKVOperations)
		return nil, sb.rejected("Error", fmt.Sprintf("more than %d KV calls in one run", MaxKVCalls))
	}
	rs.kvCalls++
	var err error
	if ex := sb.rt.Try(func() { err = parse() }); ex != nil {
		p, _, reject := sb.rt.NewPromise()
		_ = reject(ex.Value())
		return nil, sb.rt.ToValue(p)
	}
	if err != nil {
		return nil, sb.rejectedWith(err)
	}
	return rs.bindings.KV, nil
}

// settled is a promise settled at once with what complete returns, as
// the event loop's apply would settle it. Reads take this way: they are
// SQLite work on the CPU (a point read costs microseconds), cheaper done
// in the run's own slot than handed to a goroutine and waited for; only
// writes wait for the disk, on the event loop.
func (sb *sandbox) settled(complete func() (goja.Value, error)) goja.Value {
	p, resolve, reject := sb.rt.NewPromise()
	var v goja.Value
	var err error
	if ex := sb.rt.Try(func() { v, err = complete() }); ex != nil {
		err = ex
	}
	if err != nil {
		_ = reject(sb.rejection(err))
	} else {
		_ = resolve(v)
	}
	return sb.rt.ToValue(p)
}

// rejectedWith is a promise rejected as rejection has it for err.
func (sb *sandbox) rejectedWith(err error) goja.Value {
	p, _, reject := sb.rt.NewPromise()
	_ = reject(sb.rejection(err))
	return sb.rt.ToValue(p)
}

// kvError turns the namespace's error into what the script sees: a
// RangeError for an argument out of bounds, an Error saying "KV quota
// exceeded" for a write past the quota, the context's end as the run's
// own stop, anything else an Error.
func kvError(err error) error {
	var se *shared.Error
	switch {
	case errors.As(err, &se) && (se.Status == http.StatusRequestEntityTooLarge || se.Status == http.StatusUnprocessableEntity):
		return &hostError{"RangeError", se.Message}
	case errors.As(err, &se):
		return &hostError{"Error", se.Message}
	}
	return err
}

// kvKey reads a key argument.
func kvKey(v goja.Value) (string, error) {
	s, ok := v.(goja.String)
	if !ok {
		return "", &hostError{"TypeError", "a KV key must be a string"}
	}
	key := s.String()
	if err := shared.CheckKVKey(key); err != nil {
		return "", kvError(err)
	}
	return key, nil
}

// kvType reads get's second argument: "text" (the default), "json", or
// an object with type (other options, such as cacheTtl, are accepted
// and have no effect on a node).
func (sb *sandbox) kvType(v goja.Value) (string, error) {
	if o, ok := v.(*goja.Object); ok {
		v = o.Get("type")
	}
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return "text", nil
	}
	if s, ok := v.(goja.String); ok {
		switch t := s.String(); t {
		case "text", "json":
			return t, nil
		case "arrayBuffer", "stream":
			return "", &hostError{"TypeError", fmt.Sprintf("KV type %q is not supported on PiCloud: use \"text\" or \"json\"", t)}
		}
	}
	return "", &hostError{"TypeError", fmt.Sprintf("unknown KV type %s: use \"text\" or \"json\"", v.String())}
}

// kvValue is a stored value as the script asked for it.
func (sb *sandbox) kvValue(value, typ string) (goja.Value, error) {
	v, err := sb.bodyValue([]byte(value), false)
	if err != nil || typ != "json" {
		return v, err
	}
	return sb.parseJSON(value), nil
}

// kvMetadata is stored metadata as a JavaScript value, null when none.
func (sb *sandbox) kvMetadata(meta []byte) goja.Value {
	if len(meta) == 0 {
		return goja.Null()
	}
	return sb.parseJSON(string(meta))
}

// kvGet is env.KV.get(key, type?).
func (sb *sandbox) kvGet(call goja.FunctionCall) goja.Value {
	var key, typ string
	kv, rejected := sb.kvCall(func() (err error) {
		if key, err = kvKey(call.Argument(0)); err != nil {
			return err
		}
		typ, err = sb.kvType(call.Argument(1))
		return err
	})
	if rejected != nil {
		return rejected
	}
	e, found, err := kv.Get(sb.run.ctx, key)
	return sb.settled(func() (goja.Value, error) {
		if err != nil {
			return nil, kvError(err)
		}
		if !found {
			return goja.Null(), nil
		}
		return sb.kvValue(e.Value, typ)
	})
}

// kvGetWithMetadata is env.KV.getWithMetadata(key, type?): {value, metadata}.
func (sb *sandbox) kvGetWithMetadata(call goja.FunctionCall) goja.Value {
	var key, typ string
	kv, rejected := sb.kvCall(func() (err error) {
		if key, err = kvKey(call.Argument(0)); err != nil {
			return err
		}
		typ, err = sb.kvType(call.Argument(1))
		return err
	})
	if rejected != nil {
		return rejected
	}
	e, found, err := kv.Get(sb.run.ctx, key)
	return sb.settled(func() (goja.Value, error) {
		if err != nil {
			return nil, kvError(err)
		}
		value, meta := goja.Null(), goja.Null()
		if found {
			if value, err = sb.kvValue(e.Value, typ); err != nil {
				return nil, err
			}
			meta = sb.kvMetadata(e.Metadata)
		}
		o := sb.rt.CreateObject(nil)
		_ = o.Set("value", value)
		_ = o.Set("metadata", meta)
		sb.finish(o)
		return o, nil
	})
}

// kvPut is env.KV.put(key, value, {expirationTtl?, expiration?, metadata?}).
func (sb *sandbox) kvPut(call goja.FunctionCall) goja.Value {
	var key string
	var e KVEntry
	kv, rejected := sb.kvCall(func() (err error) {
		if key, err = kvKey(call.Argument(0)); err != nil {
			return err
		}
		s, ok := call.Argument(1).(goja.String)
		if !ok {
			return &hostError{"TypeError", "a KV value must be a string"}
		}
		e.Value = s.String()
		return sb.kvPutOptions(call.Argument(2), &e)
	})
	if rejected != nil {
		return rejected
	}
	return sb.run.async(func(ctx context.Context) func() (goja.Value, error) {
		err := kv.Put(ctx, key, e)
		return func() (goja.Value, error) {
			if err != nil {
				return nil, kvError(err)
			}
			return goja.Undefined(), nil
		}
	})
}

// kvPutOptions reads put's options into e.
func (sb *sandbox) kvPutOptions(v goja.Value, e *KVEntry) error {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil
	}
	o, ok := v.(*goja.Object)
	if !ok {
		return &hostError{"TypeError", "put's options must be an object"}
	}
	ttl, hasTTL, err := kvSeconds(o.Get("expirationTtl"), "expirationTtl")
	if err != nil {
		return err
	}
	at, hasAt, err := kvSeconds(o.Get("expiration"), "expiration")
	if err != nil {
		return err
	}
	switch {
	case hasTTL && hasAt:
		return &hostError{"TypeError", "give expirationTtl or expiration, not both"}
	case hasTTL && ttl < shared.KVMinTTL:
		return &hostError{"RangeError", fmt.Sprintf("expirationTtl must be at least %d seconds, not %d", shared.KVMinTTL, ttl)}
	case hasAt && at <= 0:
		return &hostError{"RangeError", "expiration must be at least 60 seconds in the future"}
	}
	exp, err := shared.KVExpiration(time.Now(), ttl, at)
	if err != nil {
		return kvError(err)
	}
	if exp != 0 {
		e.Expiration = time.Unix(exp, 0)
	}
	if m := o.Get("metadata"); m != nil && !goja.IsUndefined(m) {
		stringify, _ := goja.AssertFunction(sb.object("JSON").Get("stringify"))
		s, err := stringify(goja.Undefined(), m)
		if err != nil {
			panic(err) // the script's own exception (a cycle, a throwing toJSON)
		}
		if s == nil || goja.IsUndefined(s) {
			return &hostError{"TypeError", "metadata must be serialisable to JSON"}
		}
		meta := s.String()
		if len(meta) > shared.KVMaxMetadataBytes {
			return &hostError{"RangeError", fmt.Sprintf("metadata is at most %d bytes serialised; this is %d", shared.KVMaxMetadataBytes, len(meta))}
		}
		e.Metadata = []byte(meta)
	}
	return nil
}

// kvSeconds reads a whole number of seconds; has is false when v is
// absent.
func kvSeconds(v goja.Value, name string) (n int64, has bool, err error) {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return 0, false, nil
	}
	f, ok := kvNumber(v)
	if !ok {
		return 0, false, &hostError{"TypeError", name + " must be a number of seconds"}
	}
	if math.Abs(f) > 1<<53 {
		return 0, false, &hostError{"RangeError", name + " is out of range"}
	}
	return int64(f), true, nil
}

// kvNumber is v as a finite number; false when v is not one.
func kvNumber(v goja.Value) (float64, bool) {
	switch v.Export().(type) {
	case int64, float64:
		f := v.ToFloat()
		return f, !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return 0, false
}

// kvDelete is env.KV.delete(key).
func (sb *sandbox) kvDelete(call goja.FunctionCall) goja.Value {
	var key string
	kv, rejected := sb.kvCall(func() (err error) {
		key, err = kvKey(call.Argument(0))
		return err
	})
	if rejected != nil {
		return rejected
	}
	return sb.run.async(func(ctx context.Context) func() (goja.Value, error) {
		err := kv.Delete(ctx, key)
		return func() (goja.Value, error) {
			if err != nil {
				return nil, kvError(err)
			}
			return goja.Undefined(), nil
		}
	})
}

// kvList is env.KV.list({prefix?, limit?, cursor?}).
func (sb *sandbox) kvList(call goja.FunctionCall) goja.Value {
	q := KVQuery{Limit: shared.KVMaxListLimit}
	kv, rejected := sb.kvCall(func() error { return kvListOptions(call.Argument(0), &q) })
	if rejected != nil {
		return rejected
	}
	page, err := kv.List(sb.run.ctx, q)
	return sb.settled(func() (goja.Value, error) {
		if err != nil {
			return nil, kvError(err)
		}
		return sb.kvPage(page)
	})
}

// kvListOptions reads list's options into q.
func kvListOptions(v goja.Value, q *KVQuery) error {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil
	}
	o, ok := v.(*goja.Object)
	if !ok {
		return &hostError{"TypeError", "list's options must be an object"}
	}
	var err error
	if q.Prefix, err = kvOptionalString(o.Get("prefix"), "prefix"); err != nil {
		return err
	}
	if q.Cursor, err = kvOptionalString(o.Get("cursor"), "cursor"); err != nil {
		return err
	}
	if l := o.Get("limit"); l != nil && !goja.IsUndefined(l) && !goja.IsNull(l) {
		f, ok := kvNumber(l)
		if !ok {
			return &hostError{"TypeError", "limit must be a number"}
		}
		if f < 1 || f > shared.KVMaxListLimit {
			return &hostError{"RangeError", fmt.Sprintf("limit must be 1 to %d, not %v", shared.KVMaxListLimit, l)}
		}
		q.Limit = int(f)
	}
	return nil
}

func kvOptionalString(v goja.Value, name string) (string, error) {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return "", nil
	}
	s, ok := v.(goja.String)
	if !ok {
		return "", &hostError{"TypeError", name + " must be a string"}
	}
	return s.String(), nil
}

// kvPage builds list's result: {keys: [{name, expiration?, metadata?}],
// list_complete, cursor?}.
func (sb *sandbox) kvPage(page KVPage) (goja.Value, error) {
	if int64(len(page.Keys)) > sb.run.limits.MaxArraySize {
		return nil, &LimitError{Knob: shared.KnobMaxArraySize}
	}
	keys := make([]any, len(page.Keys))
	for i, k := range page.Keys {
		o := sb.rt.CreateObject(nil)
		_ = o.Set("name", k.Name)
		if !k.Expiration.IsZero() {
			_ = o.Set("expiration", k.Expiration.Unix())
		}
		if len(k.Metadata) > 0 {
			_ = o.Set("metadata", sb.kvMetadata(k.Metadata))
		}
		sb.finish(o)
		keys[i] = o
	}
	res := sb.rt.CreateObject(nil)
	_ = res.Set("keys", sb.rt.NewArray(keys...))
	_ = res.Set("list_complete", page.Cursor == "")
	if page.Cursor != "" {
		_ = res.Set("cursor", page.Cursor)
	}
	sb.finish(res)
	return res, nil
}
