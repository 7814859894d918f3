package executor

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/picloud/picloud/shared"
)

// TestRequestKeysNamedLikeObjectPrototype: params, query keys and headers
// whose names Object.prototype (frozen) also holds are still plain own
// values of the script's req, and __proto__ does not change a prototype.
func TestRequestKeysNamedLikeObjectPrototype(t *testing.T) {
	e := New(Options{})
	src := `function handle(req){
		const out = []
		for (const o of [req.params, req.query]) {
			out.push([o.toString, o.constructor, o.hasOwnProperty, o.__proto__, o.valueOf, o.plain].join('/'))
			out.push(Object.getPrototypeOf(o) === Object.prototype, Object.keys(o).length)
		}
		const h = req.headers // names are lower-cased
		out.push([h.constructor, h.__proto__, h.plain, h.tostring].join('/'), Object.getPrototypeOf(h) === Object.prototype, Object.keys(h).length)
		return out.join('|')
	}`
	names := []string{"toString", "constructor", "hasOwnProperty", "__proto__", "valueOf", "plain"}
	req := &Request{Params: map[string]string{}, Query: url.Values{}, Header: http.Header{}}
	for _, n := range names {
		req.Params[n] = "p-" + n
		req.Query[n] = []string{"q-" + n}
		req.Header[n] = []string{"h-" + n}
	}
	got := body(t, run(t, e, src, shared.DefaultLimits(), req))
	want := "p-toString/p-constructor/p-hasOwnProperty/p-__proto__/p-valueOf/p-plain|true|6|" +
		"q-toString/q-constructor/q-hasOwnProperty/q-__proto__/q-valueOf/q-plain|true|6|" +
		"h-constructor/h-__proto__/h-plain/h-toString|true|6"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
