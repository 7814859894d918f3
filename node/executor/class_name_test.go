package executor

import (
	"testing"

	"github.com/dop251/goja"

	"github.com/picloud/picloud/shared"
)

// TestAssignToClassNameThrows: assigning to a class's own name inside its
// body throws a TypeError, in every form of assignment and from every kind
// of member, sloppy and strict, as in plain goja; before, goja's compiler
// bug made each of these an "internal error" Go panic in the sandbox.
func TestAssignToClassNameThrows(t *testing.T) {
	const caught = "; try { run() } catch (e) { r = e.name }"
	cases := []struct{ name, src, want string }{
		{"method", `class C { m() { C = 1 } } const run = () => new C().m()` + caught, "TypeError"},
		{"static method", `class C { static m() { C = 1 } } const run = () => C.m()` + caught, "TypeError"},
		{"named class expression", `const D = class C { m() { C = 1 } }; const run = () => new D().m()` + caught, "TypeError"},
		{"array destructuring", `class C { m() { [C] = [1] } } const run = () => new C().m()` + caught, "TypeError"},
		{"nested destructuring", `class C { m() { [{x: [C]}] = [{x: [1]}] } } const run = () => new C().m()` + caught, "TypeError"},
		{"shorthand object destructuring", `class C { m() { ({C} = {C: 1}) } } const run = () => new C().m()` + caught, "TypeError"},
		{"destructuring default", `class C { m() { ({a: C = 2} = {}) } } const run = () => new C().m()` + caught, "TypeError"},
		{"object rest", `class C { m() { ({...C} = {}) } } const run = () => new C().m()` + caught, "TypeError"},
		{"array rest", `class C { m() { [...C] = [] } } const run = () => new C().m()` + caught, "TypeError"},
		{"for-of target", `class C { m() { for (C of [1]); } } const run = () => new C().m()` + caught, "TypeError"},
		{"for-in target", `class C { m() { for (C in {a: 1}); } } const run = () => new C().m()` + caught, "TypeError"},
		{"compound and update", `class C { m() { try { C += 1 } catch (e) { try { C++ } catch (f) { C &&= e.name + f.name } } } } const run = () => new C().m()` + caught, "TypeError"},
		{"logical assignment that does not assign", `class C { m() { C ||= 1; C ??= 2; return 'kept' } } r = new C().m()`, "kept"},
		{"arrow inside a method", `class C { m() { return () => { C = 1 } } } const run = () => new C().m()()` + caught, "TypeError"},
		{"function inside a method", `class C { m() { function f() { C = 1 } f() } } const run = () => new C().m()` + caught, "TypeError"},
		{"nested class", `class C { m() { class D { n() { C = 1 } } new D().n() } } const run = () => new C().m()` + caught, "TypeError"},
		{"generator method", `class C { *m() { C = 1 } } const run = () => new C().m().next()` + caught, "TypeError"},
		{"getter", `class C { get m() { C = 1; return 0 } } const run = () => new C().m` + caught, "TypeError"},
		{"setter", `class C { set m(v) { C = v } } const run = () => { new C().m = 1 }` + caught, "TypeError"},
		{"constructor", `class C { constructor() { C = 1 } } const run = () => new C()` + caught, "TypeError"},
		{"derived constructor", `class C extends Object { constructor() { super(); C = 1 } } const run = () => new C()` + caught, "TypeError"},
		{"static field arrow", `class C { static x = () => { C = 1 } } const run = () => C.x()` + caught, "TypeError"},
		{"instance field initializer", `class C { x = (() => { try { C = 1 } catch (e) { r = e.name } })() } new C()`, "TypeError"},
		{"static block", `class C { static { try { C = 1 } catch (e) { r = e.name } } }`, "TypeError"},
		{"computed key", `class C { [(() => { try { C = 1 } catch (e) { r = e.name } })()]() {} }`, "TypeError"},
		{"the name stays the class", `const K = class C { m() { try { C = 1 } catch (e) { return e.name + (C === K) } } }; r = new K().m()`, "TypeErrortrue"},
		{"outer binding is assignable", `class C { m() { C = 1 } } C = 5; r = C`, "5"},
		{"shadowing let", `class C { m() { let C = 2; C = 1; return C } } r = new C().m()`, "1"},
		{"shadowing parameter", `class C { m(C) { C = 1; return C } } r = new C().m()`, "1"},
		{"class text and shape unchanged", `class C { m() { C = 1 } } r = C.toString() + ' ' + Object.getOwnPropertyNames(C).join()`, "class C { m() { C = 1 } } length,name,prototype"},
	}
	e := New(Options{})
	for _, tc := range cases {
		for _, mode := range []string{"", "'use strict';\n"} {
			name := tc.name
			if mode != "" {
				name += " strict"
			}
			t.Run(name, func(t *testing.T) {
				plain, err := goja.New().RunString(mode + "let r = 'none';\n" + tc.src + ";\nString(r)")
				if err != nil || plain.String() != tc.want {
					t.Fatalf("plain goja says %v %v, the case wants %q", plain, err, tc.want)
				}
				res := run(t, e, mode+"function handle() { let r = 'none';\n"+tc.src+";\nreturn String(r) }", shared.DefaultLimits(), &Request{Method: "GET", Path: "/"})
				if res.Err != nil || string(res.Body) != tc.want {
					t.Fatalf("sandbox says %q %v, want %q", res.Body, res.Err, tc.want)
				}
				healthy(t, e)
			})
		}
	}
}

// TestEvalCallIsAReferenceError: the sandbox has no eval, so a call of
// eval throws the ReferenceError as any undefined name does, also in a
// class field initializer with a closure variable, where goja's direct
// eval used to panic; a script's own function named eval is called as any.
func TestEvalCallIsAReferenceError(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"static field", `function handle(){ try { class C { static f = 't'; static h = eval('this.f') } } catch (e) { return e.name + ': ' + e.message } }`, "ReferenceError: eval is not defined"},
		{"instance field with a closure", `function handle(){ const C = class { x = eval('1'); y = () => 1 }; try { new C() } catch (e) { return e.name + ': ' + e.message } }`, "ReferenceError: eval is not defined"},
		{"arrow in a derived class field", `function handle(){ class A {} class C extends A { x = () => eval('super.x') } try { new C().x() } catch (e) { return e.name } }`, "ReferenceError"},
		{"strict", `'use strict'; function handle(){ try { eval('1') } catch (e) { return e.name } }`, "ReferenceError"},
		{"arguments not evaluated", `function handle(){ let n = 0; try { eval(n++) } catch (e) { return e.name + n } }`, "ReferenceError0"},
		{"own function named eval", `function eval(x) { return 'mine ' + x } function handle(){ return eval(1) }`, "mine 1"},
	}
	e := New(Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, e, tc.src, shared.DefaultLimits(), &Request{Method: "GET", Path: "/"})
			if res.Err != nil || string(res.Body) != tc.want {
				t.Fatalf("got %q %v, want %q", res.Body, res.Err, tc.want)
			}
		})
	}
}
