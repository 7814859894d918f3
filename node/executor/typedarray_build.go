package executor

import (
	"errors"
	"reflect"
	"strconv"

	"github.com/dop251/goja"

	"github.com/picloud/picloud/shared"
)

// ctorBuild makes the object for new C(...args) in place of the original
// constructor, which it may call with other arguments.
type ctorBuild func(sb *sandbox, construct goja.Constructor, newTarget *goja.Object, args []goja.Value) (goja.Value, error)

// buildTypedArray is new Int8Array(object) with the size checked before
// anything is allocated, and nothing read that the built-in does not read
// itself, in its order (goja's, as ECMA-262 §23.2.5.1 gives it): the
// object's Symbol.iterator once; when it has one, the values it yields,
// counted as they come; otherwise its length once, then each element,
// each stored before the next is read. A buffer or a typed array has a
// size that exists already and goes to the original untouched.
func buildTypedArray(sb *sandbox, construct goja.Constructor, newTarget *goja.Object, args []goja.Value) (goja.Value, error) {
	src, ok := arg(args, 0).(*goja.Object)
	if !ok || src.ExportType() == arrayBufferType || isTypedArray(src) {
		return construct(newTarget, args...)
	}
	max := sb.run.limits.MaxArraySize
	if m := src.GetSymbol(goja.SymIterator); m != nil && !goja.IsUndefined(m) && !goja.IsNull(m) {
		values := sb.iterateBounded(src, m, max)
		if sb.run.stopped() {
			return goja.Undefined(), nil
		}
		// A fresh array iterates through frozen built-ins only: nothing
		// the script can observe is read again.
		items := make([]interface{}, len(values))
		for i, v := range values {
			items[i] = v
		}
		return construct(newTarget, sb.rt.NewArray(items...))
	}
	n := toLength(src.Get("length"))
	if n > max {
		sb.run.stop(shared.KnobMaxArraySize)
		return goja.Undefined(), nil
	}
	made, err := construct(newTarget, sb.rt.ToValue(n))
	if err != nil {
		return nil, err
	}
	ta := made.ToObject(sb.rt)
	for i := int64(0); i < n; i++ {
		k := strconv.FormatInt(i, 10)
		if err := ta.Set(k, nilSafe(src.Get(k))); err != nil {
			return nil, err
		}
	}
	return made, nil
}

var arrayBufferType = reflect.TypeOf(goja.ArrayBuffer{})

// isTypedArray reports whether o is a typed array: it exports as a slice
// of numbers (an Array exports as []interface{}).
func isTypedArray(o *goja.Object) bool {
	t := o.ExportType()
	if t == nil || t.Kind() != reflect.Slice {
		return false
	}
	switch t.Elem().Kind() {
	case reflect.Int8, reflect.Uint8, reflect.Int16, reflect.Uint16, reflect.Int32, reflect.Uint32,
		reflect.Int64, reflect.Uint64, reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// iterateBounded lists what method, src's Symbol.iterator, yields, as
// goja's IteratorToList does (next read once, each result's done then
// value), and stops the run when there are more than max.
func (sb *sandbox) iterateBounded(src *goja.Object, method goja.Value, max int64) []goja.Value {
	iterFn, ok := goja.AssertFunction(method)
	if !ok {
		sb.throw("TypeError", errors.New("the Symbol.iterator property is not a method"))
	}
	it, err := iterFn(src)
	if err != nil {
		panic(err)
	}
	iter, ok := it.(*goja.Object)
	if !ok {
		sb.throw("TypeError", errors.New("the iterator is not an object"))
	}
	next, _ := goja.AssertFunction(iter.Get("next"))
	var values []goja.Value
	for {
		if next == nil {
			sb.throw("TypeError", errors.New("iterator.next is missing or not a function"))
		}
		r, err := next(iter)
		if err != nil {
			panic(err)
		}
		res, ok := r.(*goja.Object)
		if !ok {
			sb.throw("TypeError", errors.New("the iterator result is not an object"))
		}
		if truthy(res.Get("done")) {
			return values
		}
		if int64(len(values)) >= max {
			sb.run.stop(shared.KnobMaxArraySize)
			return nil
		}
		values = append(values, nilSafe(res.Get("value")))
	}
}

func nilSafe(v goja.Value) goja.Value {
	if v == nil {
		return goja.Undefined()
	}
	return v
}
