package executor

import (
	"errors"
	"strings"
	"testing"

	"github.com/picloud/picloud/shared"
)

// TestRevokedProxyIsAJavaScriptError: a revoked proxy reaching the
// sandbox's own checks (an index write, the returned value, console.log,
// JSON.stringify) gives the TypeError plain JavaScript gives, never an
// "internal error" Go panic; and the checks do not run a live proxy's traps.
func TestRevokedProxyIsAJavaScriptError(t *testing.T) {
	const revoked = `const p = Proxy.revocable({}, {}); p.revoke(); `
	cases := []struct{ name, src, body, errSub string }{
		{"index write caught", `function handle(){ ` + revoked + `try { p.proxy['a'] = 1 } catch (e) { return e.name } }`, "TypeError", ""},
		{"index write uncaught", `function handle(){ ` + revoked + `p.proxy['a'] = 1 }`, "", "TypeError"},
		{"returned", `function handle(){ ` + revoked + `return p.proxy }`, "", "TypeError"},
		{"returned in an array", `function handle(){ ` + revoked + `return [p.proxy] }`, "", "TypeError"},
		{"returned as the body", `function handle(){ ` + revoked + `return { body: p.proxy } }`, "", "TypeError"},
		{"logged", `function handle(){ ` + revoked + `try { console.log(p.proxy) } catch (e) { return e.name } }`, "TypeError", ""},
		{"stringified", `function handle(){ ` + revoked + `try { JSON.stringify([p.proxy]) } catch (e) { return e.name } }`, "TypeError", ""},
		{"checks run no traps", `function handle(){ let n = 0; const h = { ownKeys(t) { n++; return Reflect.ownKeys(t) }, getPrototypeOf(t) { n++; return null } }; const p = new Proxy({}, h); p['a'] = 1; p[0] = 2; p.length = 3; return String(n) }`, "0", ""},
	}
	e := New(Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, e, tc.src, shared.DefaultLimits(), &Request{Method: "GET", Path: "/"})
			if tc.errSub == "" {
				if res.Err != nil || string(res.Body) != tc.body {
					t.Fatalf("got %q %v, want %q", res.Body, res.Err, tc.body)
				}
			} else {
				var se *ScriptError
				if !errors.As(res.Err, &se) || !strings.Contains(se.Message, tc.errSub) || strings.Contains(se.Message, "internal error") {
					t.Fatalf("want a script error with %q, got %v", tc.errSub, res.Err)
				}
			}
			healthy(t, e)
		})
	}
}

// TestProxyWritesStillBounded: writes through a proxy land on its target,
// which the checks count.
func TestProxyWritesStillBounded(t *testing.T) {
	e := New(Options{})
	res := run(t, e, `function handle(){ const p = new Proxy(new Proxy({}, {}), {}); for (let i = 0; ; i++) p['k' + i] = i }`, small(), &Request{Method: "GET", Path: "/"})
	assertStopped(t, res, shared.KnobMaxMapSize, "")
	res = run(t, e, `function handle(){ const p = new Proxy([], {}); p[200000] = 1; return 'ok' }`, small(), &Request{Method: "GET", Path: "/"})
	assertStopped(t, res, shared.KnobMaxArraySize, "")
}
