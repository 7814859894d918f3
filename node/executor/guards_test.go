package executor

import (
	"testing"

	"github.com/dop251/goja"

	"github.com/picloud/picloud/shared"
)

// TestGuardedConstructorsAreTheRealOnes runs code copied from MDN-style
// examples against the guarded constructors, through Run, and compares
// each answer with plain goja's as well as with the expected text.
func TestGuardedConstructorsAreTheRealOnes(t *testing.T) {
	cases := []struct{ name, expr, want string }{
		{"instanceof Array", `[] instanceof Array && Array(3) instanceof Array && new Array(1, 2) instanceof Array`, "true"},
		{"instanceof Map Set", `new Map() instanceof Map && new Set([1]) instanceof Set && !(new Map() instanceof Set)`, "true"},
		{"instanceof RegExp", `/a/ instanceof RegExp && new RegExp('a') instanceof RegExp && RegExp('b') instanceof RegExp`, "true"},
		{"instanceof typed arrays", `new Uint8Array(4) instanceof Uint8Array && new Float64Array([1]) instanceof Float64Array && new ArrayBuffer(8) instanceof ArrayBuffer`, "true"},
		{"instanceof Object", `[] instanceof Object && new Map() instanceof Object`, "true"},
		{"Array.isArray", `Array.isArray([]) && Array.isArray(new Array(2)) && !Array.isArray(new Uint8Array(1))`, "true"},
		{"constructor identity", `[].constructor === Array && new Map().constructor === Map && /a/.constructor === RegExp && Array.prototype.constructor === Array`, "true"},
		{"RegExp(re) is re", `(() => { const re = /a/g; return RegExp(re) === re && new RegExp(re) !== re && RegExp(re, 'i') !== re })()`, "true"},
		{"RegExp of a regexp-like", `(() => { const o = { [Symbol.match]: true, source: 'b', flags: 'g', constructor: RegExp }; return RegExp(o) === o && String(new RegExp(o)) })()`, "/b/g"},
		{"extends Array", `(() => { class A extends Array { sum() { return this.reduce((a, b) => a + b, 0) } } const a = A.from([1, 2, 3]); const m = a.map(x => x * 2); return [a instanceof A, a instanceof Array, Array.isArray(a), m instanceof A, m.sum(), a.length, A.of(7).sum()].join() })()`, "true,true,true,true,12,3,7"},
		{"extends Map", `(() => { class M extends Map { get(k) { return super.has(k) ? super.get(k) : 'none' } } const m = new M([['a', 1]]); return [m instanceof M, m instanceof Map, m.get('a'), m.get('b'), m.size].join() })()`, "true,true,1,none,1"},
		{"extends Set", `(() => { class S extends Set {} const s = new S([1, 1, 2]); return [s instanceof S, s instanceof Set, s.size].join() })()`, "true,true,2"},
		{"extends Uint8Array", `(() => { class B extends Uint8Array {} const b = new B([1, 2, 3]); const s = b.subarray(1); return [b instanceof B, s instanceof B, s instanceof Uint8Array, s.length, B.BYTES_PER_ELEMENT].join() })()`, "true,true,true,2,1"},
		{"extends RegExp", `(() => { class R extends RegExp { exec(s) { return super.exec(s) } } const r = new R('b', 'g'); return [r instanceof R, r instanceof RegExp, r.test('abc'), 'abcb'.replace(r, 'x')].join() })()`, "true,true,true,axcx"},
		{"new.target", `(() => { let seen; class A extends Array { constructor(...a) { super(...a); seen = new.target } } new A(2); return seen === A })()`, "true"},
		{"Reflect.construct with newTarget", `(() => { function F() {} F.prototype = Object.create(Map.prototype); const m = Reflect.construct(Map, [], F); return [m instanceof F, m instanceof Map, Object.getPrototypeOf(m) === F.prototype].join() })()`, "true,true,true"},
		{"Symbol.species", `(() => { class A extends Array { static get [Symbol.species]() { return Array } } const m = new A(1, 2).map(x => x); return [m instanceof A, m instanceof Array, Array[Symbol.species] === Array, Map[Symbol.species] === Map].join() })()`, "false,true,true,true"},
		{"name and length", `[Array.name, Array.length, Map.name, Map.length, RegExp.length, Uint8Array.name, Uint8Array.length, Proxy.name, Proxy.length].join()`, "Array,1,Map,0,2,Uint8Array,3,Proxy,2"},
		{"toString", `Function.prototype.toString.call(Array) + ' ' + String(Map)`, "function Array() { [native code] } function Map() { [native code] }"},
		{"statics", `typeof Array.from + typeof Array.of + typeof Array.isArray + typeof ArrayBuffer.isView + Uint8Array.BYTES_PER_ELEMENT + typeof Proxy.revocable`, "functionfunctionfunctionfunction1function"},
		{"own keys", `Reflect.ownKeys(Array).map(String).join() + ' ' + Reflect.ownKeys(Uint8Array).join()`, "length,name,prototype,from,isArray,of,Symbol(Symbol.species) length,name,prototype,BYTES_PER_ELEMENT,fromBase64,fromHex"},
		{"prototype chain of typed arrays", `Object.getPrototypeOf(Int8Array) === Object.getPrototypeOf(Uint8Array) && Object.getPrototypeOf(Int8Array) !== Function.prototype`, "true"},
		{"called without new", `(() => { const r = []; for (const C of [Map, Set, ArrayBuffer, Uint8Array, Proxy]) { try { C(); r.push('no') } catch (e) { r.push(e instanceof TypeError) } } return r.join() })()`, "true,true,true,true,true"},
		{"prototype descriptor", `JSON.stringify(Object.getOwnPropertyDescriptor(Array, 'prototype')) === JSON.stringify({value: Array.prototype, writable: false, enumerable: false, configurable: false}) && Array.prototype === Object.getPrototypeOf([])`, "true"},
		{"wrapped built-ins keep name and length", `[Array.prototype.map.name, Array.prototype.map.length, Array.prototype.push.length, JSON.stringify.name, JSON.stringify.length, String.prototype.concat.length, RegExp.prototype.test.name, RegExp.prototype.exec.length, String.raw.length, Reflect.set.length].join()`, "map,1,1,stringify,3,1,test,1,1,3"},
		{"wrapped built-ins print as native code", `[String(Array.prototype.map), String(JSON.parse), Function.prototype.toString.call(Function.prototype.toString), String(RegExp.prototype[Symbol.split])].join(' ')`, "function map() { [native code] } function parse() { [native code] } function toString() { [native code] } function [Symbol.split]() { [native code] }"},
		{"aliases stay the same function", `Array.prototype[Symbol.iterator] === Array.prototype.values && Set.prototype.keys === Set.prototype.values && String.prototype.trimLeft === String.prototype.trimStart && Object.getPrototypeOf(Uint8Array.prototype).toString === Array.prototype.toString`, "true"},
		{"padStart converts once each, in order", `(() => { const log = []; const o = (n, v) => ({ toString() { log.push('s:' + n); return v }, valueOf() { log.push('v:' + n); return v } }); const r = String.prototype.padStart.call(o('this', 'ab'), o('max', 5), o('fill', 'xy')); return r + ' ' + log.join() })()`, "xyxab s:this,v:max,s:fill"},
		{"padEnd edge cases", `['a'.padEnd(), 'a'.padEnd(3), 'a'.padEnd(-1, 'x'), 'a'.padEnd(3, ''), (() => { try { String.prototype.padEnd.call(null, 3) } catch (e) { return e.name } })()].join('|')`, "a|a  |a|a|TypeError"},
		{"sort reads an element's getter as often as goja", `(() => { let n = 0; const a = ['c', 'a', 'b']; Object.defineProperty(a, 1, { get() { n++; return 'a' }, set(v) {}, configurable: true }); a.sort(); return n })()`, "1"},
		{"sort converts to strings at each comparison", `(() => { let n = 0; const o = { toString() { n++; return 'x' } }; [o, 'a', o, 'b'].sort(); return n })()`, "5"},
		{"sort orders as the default", `[10, 9, 1, {toString(){ return 'z' }}, '\uffff', true, null, undefined, 'b', , 'a'].sort().map(String).join('|') + ' ' + [3, 1, 2].toSorted().join()`, "1|10|9|a|b|null|true|z|\uffff|undefined| 1,2,3"},
		{"Function's length", `[Function.length, Error.constructor.length, Function.name].join()`, "1,1,Function"},
		{"JSON.stringify ignores a symbol space", `JSON.stringify({a: 1}, null, Symbol()) + JSON.stringify([1], null, true)`, `{"a":1}[1]`},
		{"new Map of holey entries", `(() => { const m = new Map([[], [1]]); return [m.size, m.has(undefined), m.get(1)].join() })()`, "2,true,"},
		{"typed array reads an array-like's length once", `(() => { let n = 0; const o = { get length() { n++; return 2 }, 0: 1, 1: 2 }; const a = new Uint8Array(o); return [a.length, a[1], n].join() })()`, "2,2,1"},
		{"typed array reads and converts elements in turn", `(() => { const log = []; const o = { get length() { log.push('len'); return 2 }, get 0() { log.push('g0'); return { valueOf() { log.push('v0'); return 1 } } }, get 1() { log.push('g1'); return 2 } }; new Int16Array(o); return log.join() })()`, "len,g0,v0,g1"},
		{"typed array reads Symbol.iterator once", `(() => { let n = 0; const o = { get [Symbol.iterator]() { n++; return function* () { yield 1; yield 2 } } }; const a = new Float64Array(o); return [a.length, a[1], n].join() })()`, "2,2,1"},
		{"typed array of an array-like with holes", `(() => { const a = new Float64Array({ 0: null, 2: '7', length: 3 }); return [a[0], a[1], a[2]].join() })()`, "0,NaN,7"},
		{"typed array of a buffer slice", `new Uint8Array(new ArrayBuffer(4), 1, 2).length + ',' + new Uint8Array(new Uint8Array([1, 2, 300])).join('')`, "2,1244"},
		{"typed array iterator errors", `(() => { const r = []; for (const o of [{ [Symbol.iterator]: 1 }, { [Symbol.iterator]() { return 1 } }, { [Symbol.iterator]() { return { next: 1 } } }, { [Symbol.iterator]() { return { next() { return 1 } } } }]) { try { new Uint8Array(o); r.push('none') } catch (e) { r.push(e.name) } } return r.join() })()`, "TypeError,TypeError,TypeError,TypeError"},
		{"typed array of a null iterator is array-like", `new Uint8Array({ [Symbol.iterator]: null, length: 2, 0: 7 }).join() + ' ' + new Uint8Array(new Set([1, 2])).join()`, "7,0 1,2"},
		{"ArrayBuffer valueOf once", `(() => { let n = 0; const b = new ArrayBuffer({ valueOf() { n++; return 8 } }); return [b.byteLength, n].join() })()`, "8,1"},
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

// TestGuardedConstructorsStillGuard: the limits the guards exist for hold,
// also through subclasses and species.
func TestGuardedConstructorsStillGuard(t *testing.T) {
	cases := []struct{ name, src, knob, errSub string }{
		{"new Array(1e9)", `function handle(){ return new Array(1e9).length }`, shared.KnobMaxArraySize, ""},
		{"Array(1e9)", `function handle(){ return Array(1e9).length }`, shared.KnobMaxArraySize, ""},
		{"subclass of Array", `class A extends Array {} function handle(){ return new A(1e9).length }`, shared.KnobMaxArraySize, ""},
		{"species", `class A extends Array { static get [Symbol.species]() { return function (n) { return new Array(1e9) } } } function handle(){ return new A(1, 2).map(x => x).length }`, shared.KnobMaxArraySize, ""},
		{"Reflect.construct", `function handle(){ return Reflect.construct(Array, [1e9], Object).length }`, shared.KnobMaxArraySize, ""},
		{"ArrayBuffer", `function handle(){ return new ArrayBuffer(1e10).byteLength }`, shared.KnobMaxArraySize, ""},
		{"ArrayBuffer via valueOf", `function handle(){ return new ArrayBuffer({ valueOf: () => 1e10 }).byteLength }`, shared.KnobMaxArraySize, ""},
		{"Uint8Array", `function handle(){ return new Uint8Array(1e10).length }`, shared.KnobMaxArraySize, ""},
		{"subclass of Uint8Array", `class B extends Uint8Array {} function handle(){ return new B({ length: 1e10 }).length }`, shared.KnobMaxArraySize, ""},
		{"Map from a big array", `function* pairs(){ for (let i = 0; i < 20000; i++) yield [i, i] } function handle(){ return new Map(pairs()).size }`, shared.KnobMaxMapSize, ""},
		{"backtracking RegExp", `function handle(){ return new RegExp('(a+)+\\1').test('aaa') }`, "", "backtracking"},
		{"backtracking RegExp subclass", `class R extends RegExp {} function handle(){ return new R('(?=a)a').test('a') }`, "", "backtracking"},
		{"backtracking RegExp called", `function handle(){ return RegExp('(?<=a)b').test('ab') }`, "", "backtracking"},
		{"typed array from an endless iterator", `function handle(){ return new Uint8Array({ *[Symbol.iterator]() { for (;;) yield 1 } }).length }`, shared.KnobMaxArraySize, ""},
		{"typed array from a long array-like", `function handle(){ return new Int32Array({ length: 1e10 }).length }`, shared.KnobMaxArraySize, ""},
		{"Set from a big iterable", `function* keys(){ for (let i = 0; i < 20000; i++) yield i } function handle(){ return new Set(keys()).size }`, shared.KnobMaxMapSize, ""},
		{"deep proxy chain", `function handle(){ let p = {}; for (let i = 0; i < 5000; i++) p = new Proxy(p, {}); return String(p.x) }`, "", "nested deeper"},
	}
	e := New(Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := small()
			l.MaxArraySize = 10_000
			res := run(t, e, tc.src, l, &Request{Method: "GET", Path: "/"})
			assertStopped(t, res, tc.knob, tc.errSub)
			healthy(t, e)
		})
	}
}

// TestOverrideTaming: assigning a property an object inherits from a frozen
// built-in prototype defines the object's own property (SES's override
// taming), in sloppy and strict code alike, as it does in plain goja.
func TestOverrideTaming(t *testing.T) {
	cases := []struct{ name, expr, want string }{
		{"class prototype toString", `(() => { function C() {} C.prototype.toString = function () { return 'c' }; return String(new C()) })()`, "c"},
		{"object valueOf", `(() => { const o = {}; o.valueOf = () => 42; return o + 1 })()`, "43"},
		{"object constructor", `(() => { const o = {}; o.constructor = 5; return o.constructor })()`, "5"},
		{"error name", `(() => { const e = new Error('x'); e.name = 'MyError'; return String(e) })()`, "MyError: x"},
		{"subclass sets name", `(() => { class E extends TypeError { constructor(m) { super(m); this.name = 'E' } } return String(new E('m')) + (new E('m') instanceof TypeError) })()`, "E: mtrue"},
		{"strict code", `(() => { 'use strict'; const o = {}; o.toString = () => 's'; o.hasOwnProperty = () => true; return String(o) + o.hasOwnProperty('zz') })()`, "strue"},
		{"own property is ordinary", `(() => { const o = {}; o.toString = () => 'a'; const d = Object.getOwnPropertyDescriptor(o, 'toString'); return [d.writable, d.enumerable, d.configurable, Object.keys(o)].join() })()`, "true,true,true,toString"},
		{"regexp exec", `(() => { const r = /a/; r.exec = () => null; return ['a'.replace(r, 'b'), r.exec === RegExp.prototype.exec, Object.keys(r).join()].join() })()`, "a,false,exec"},
		{"typed array constructor", `(() => { const a = new Uint8Array(2); a.constructor = {}; a.constructor[Symbol.species] = Array; try { a.map(x => x) } catch (e) { return e.name } })()`, "TypeError"},
		{"inherited reads unchanged", `({}).toString() + [1, 2].toString() + (() => {}).call.name + ({}).constructor.name`, "[object Object]1,2callObject"},
	}
	e := New(Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plain, err := goja.New().RunString("String(" + tc.expr + ")")
			if err != nil || plain.String() != tc.want {
				t.Fatalf("plain goja says %v %v, the case wants %q", plain, err, tc.want)
			}
			res := run(t, e, "function handle() { return String("+tc.expr+") }", shared.DefaultLimits(), &Request{Method: "GET", Path: "/"})
			if res.Err != nil || string(res.Body) != tc.want {
				t.Fatalf("sandbox says %v %q, plain goja %q", res.Err, res.Body, tc.want)
			}
		})
	}
}

// TestOverrideTamingKeepsPrototypesShared: the prototypes stay frozen and
// one run's overrides are invisible to the next.
func TestOverrideTamingKeepsPrototypesShared(t *testing.T) {
	e := New(Options{PoolSize: 1})
	first := run(t, e, `function handle() {
		const o = {}; o.toString = () => 'mine'; Error.prototype.x = 1;
		try { Object.prototype.toString = () => 'all' } catch (e) { return String(o) + ' ' + (e instanceof TypeError) }
		return 'assigned'
	}`, shared.DefaultLimits(), &Request{Method: "GET", Path: "/"})
	if first.Err != nil || string(first.Body) != "mine true" {
		t.Fatalf("first run: %v %q", first.Err, first.Body)
	}
	second := run(t, e, `function handle() {
		return [String({}), Object.prototype.toString.call([]), 'x' in Error.prototype, Object.isFrozen(Object.prototype)].join()
	}`, shared.DefaultLimits(), &Request{Method: "GET", Path: "/"})
	if second.Err != nil || string(second.Body) != "[object Object],[object Array],false,true" {
		t.Fatalf("second run: %v %q", second.Err, second.Body)
	}
}
