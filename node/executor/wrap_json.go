package executor

import (
	"github.com/dop251/goja"
)

// json guards JSON.parse (its result checked deeply: one call builds many
// objects) and replaces JSON.stringify with the sized one.
func (in *installer) json() {
	sb := in.sb
	// JSON.
	json := sb.object("JSON")
	in.wrap(json, "parse", func(rs *runState, c goja.FunctionCall) bool {
		if len(c.Arguments) > 1 {
			c.Arguments[1] = sb.guardCallback(rs, c.Arguments[1])
		}
		return sb.checkJSONShape(c.Argument(0))
	}, false)
	if json != nil {
		// parse results are checked deeply: one call builds many arrays/objects.
		parse := json.Get("parse")
		wrapped, _ := goja.AssertFunction(parse)
		deep := func(call goja.FunctionCall) goja.Value {
			v, err := wrapped(call.This, call.Arguments...)
			if err != nil {
				panic(err)
			}
			if rs := sb.run; rs != nil && !rs.stopped() {
				sb.checkDeep(v, 0)
			}
			return v
		}
		in.define(json, "parse", deep)
		stringify := func(call goja.FunctionCall) goja.Value {
			v, err := sb.stringify(call.Argument(0), call.Argument(1), call.Argument(2))
			if err != nil {
				panic(err)
			}
			return v
		}
		in.define(json, "stringify", stringify)
	}
}
