package executor

import (
	"testing"

	"github.com/dop251/goja"

	"github.com/picloud/picloud/shared"
)

// TestRegexpArgumentsCoerce: exec and test convert their argument as
// ECMA-262 says (ToString), as plain goja does, instead of failing the run.
func TestRegexpArgumentsCoerce(t *testing.T) {
	cases := []struct{ name, expr, want string }{
		{"exec of a number", `/1/.exec(1)[0]`, "1"},
		{"exec of nothing", `/undefined/.exec()[0]`, "undefined"},
		{"test of nothing", `/a/.test() + ' ' + /undefined/.test()`, "false true"},
		{"test of null", `/nul/.test(null)`, "true"},
		{"test of an object", `/xy/.test({ toString() { return 'axyz' } })`, "true"},
		{"global exec of a number", `(() => { const re = /2/g; re.exec(123); return re.lastIndex })()`, "2"},
		{"toString runs once", `(() => { let n = 0; /a/.exec({ toString() { n++; return 'a' } }); /a/.test({ toString() { n++; return 'a' } }); return n })()`, "2"},
		{"lastIndex valueOf runs once", `(() => { let n = 0; const re = /a/g; re.lastIndex = { valueOf() { n++; return 0 } }; re.exec('a'); return n })()`, "1"},
		{"split with an object limit converted after the splitter is made", `(() => { const re = /a/; const r = re[Symbol.split]('abba', { valueOf() { re.compile('b'); return -1 } }); return r.length + ':' + r.join('|') })()`, "3:|bb|"},
		{"split converts an object limit once", `(() => { let n = 0; const r = 'abcbd'.split(/b/, { valueOf() { n++; return 2 } }); return r.join('|') + ' ' + n })()`, "a|c 1"},
		{"split with a negative limit", `'abc'.split(/b/, -23).join('|') + ' ' + 'abc'.split(/b/, 4294967297).join('|')`, "a|c a"},
		{"exec on a non-regexp throws TypeError", `(() => { try { RegExp.prototype.exec.call({}, 'a') } catch (e) { return e instanceof TypeError } })()`, "true"},
		{"test on a primitive throws TypeError", `(() => { try { RegExp.prototype.test.call(1, 'a') } catch (e) { return e instanceof TypeError } })()`, "true"},
		{"symbol argument throws TypeError", `(() => { try { /a/.exec(Symbol()) } catch (e) { return e instanceof TypeError } })()`, "true"},
	}
	e := New(Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plain, err := goja.New().RunString("String(" + tc.expr + ")")
			if err != nil {
				t.Fatalf("plain goja: %v", err)
			}
			if plain.String() != tc.want {
				t.Fatalf("plain goja says %q, the case wants %q", plain, tc.want)
			}
			res := run(t, e, "function handle() { return String("+tc.expr+") }", shared.DefaultLimits(), &Request{Method: "GET", Path: "/"})
			if res.Err != nil {
				t.Fatalf("sandbox: %v", res.Err)
			}
			if string(res.Body) != tc.want {
				t.Fatalf("sandbox says %q, plain goja %q", res.Body, tc.want)
			}
		})
	}
}

// TestRegexpTestCallsExec: test is RegExpExec(R, S) !== null, so a
// subclass's exec is what it calls (ECMA-262 §22.2.6.16), and a
// backtracking pattern put in by compile is refused like any other.
func TestRegexpTestCallsExec(t *testing.T) {
	cases := []struct{ name, src, want, errSub string }{
		{"subclass exec", `class R extends RegExp { exec() { return null } } function handle(){ return String(new R('a').test('a')) }`, "false", ""},
		{"exec returning a primitive", `function handle(){ const re = /a/; Object.defineProperty(re, 'exec', { value: () => 1 }); try { re.test('a') } catch (e) { return String(e instanceof TypeError) } }`, "true", ""},
		{"compile to backtracking", `function handle(){ return String(/a/.compile('(a)\\1').test('aa')) }`, "", "backtracking"},
		{"backtracking string pattern", `function handle(){ return String('aa'.match('(a)\\1')) }`, "", "backtracking"},
	}
	e := New(Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, e, tc.src, shared.DefaultLimits(), &Request{Method: "GET", Path: "/"})
			if tc.errSub != "" {
				assertStopped(t, res, "", tc.errSub)
				return
			}
			if res.Err != nil || string(res.Body) != tc.want {
				t.Fatalf("got %v %q, want %q", res.Err, res.Body, tc.want)
			}
		})
	}
}
