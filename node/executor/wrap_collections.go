package executor

import (
	"github.com/dop251/goja"

	"github.com/picloud/picloud/shared"
)

// collections refuses a new Map or Set entry when the map is full.
func (in *installer) collections() {
	sb := in.sb
	// Map and Set: refuse a new entry when full.
	for _, spec := range []struct{ ctor, method string }{{"Map", "set"}, {"Set", "add"}} {
		proto := sb.object(spec.ctor, "prototype")
		if proto == nil {
			continue
		}
		has, _ := goja.AssertFunction(proto.Get("has"))
		in.wrap(proto, spec.method, func(rs *runState, c goja.FunctionCall) bool {
			// Hashing a long string key is work in native code; new Set(array)
			// calls this per element, so the charge also bounds that loop.
			if l := strLen(c.Argument(0)); l > sortBytesPerOp {
				rs.charge(l / sortBytesPerOp)
				if rs.stopped() {
					return false
				}
			}
			o, ok := c.This.(*goja.Object)
			if !ok || has == nil {
				return true
			}
			if toLength(o.Get("size")) < rs.limits.MaxMapSize {
				return true
			}
			if h, err := has(o, c.Argument(0)); err == nil && h.ToBoolean() {
				return true // overwriting an entry does not grow
			}
			rs.stop(shared.KnobMaxMapSize)
			return false
		}, false)
	}
}
