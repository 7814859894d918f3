// Runs once per sandbox runtime, before any script: guards the constructors
// that allocate in native code, removes dynamic code evaluation, installs
// console and deep-freezes every built-in reachable from the global object
// or from syntax. The completion value is the setup function.
(function () {
	'use strict';
	return function setup(g, n, requestProto) {
		const O = g.Object, R = g.Reflect, P = g.Proxy;
		const defProp = O.defineProperty, getProto = O.getPrototypeOf, getDesc = O.getOwnPropertyDescriptor;
		const freeze = O.freeze, ownKeys = R.ownKeys, construct = R.construct, apply = R.apply;
		const hidden = { writable: true, configurable: true, enumerable: false };

		// guard replaces constructor name by a proxy that checks the arguments
		// first, and makes it the prototype's constructor so species lookups
		// (map, slice, subarray, ...) go through it as well.
		function guard(name, check, after) {
			const orig = g[name];
			if (typeof orig !== 'function') {
				return;
			}
			const p = new P(orig, {
				construct(t, a, nt) {
					check(a);
					const r = construct(t, a, nt);
					if (after) {
						after(r);
					}
					return r;
				},
				apply(t, self, a) { check(a); return apply(t, self, a); },
			});
			if (orig.prototype !== undefined) {
				defProp(orig.prototype, 'constructor', { value: p, ...hidden });
			}
			defProp(g, name, { value: p, ...hidden });
		}
		guard('Array', (a) => { if (a.length === 1 && typeof a[0] === 'number') { n.arrayLen(a[0]); } else { n.arrayLen(a.length); } });
		guard('RegExp', (a) => n.regexp(a[0], a[1]));
		guard('Proxy', (a) => n.proxy(a[0])); // trapless operations recurse down the target chain
		guard('Map', () => {}, n.sized); // new Map(iterable) fills natively
		guard('Set', () => {}, n.sized);
		guard('ArrayBuffer', (a) => n.bytes(a[0]));
		for (const t of ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array',
			'Uint32Array', 'Float32Array', 'Float64Array']) {
			guard(t, (a) => n.arrayArgs(a[0]));
		}

		// No code from strings: eval is gone and every function constructor
		// throws. The stand-in keeps instanceof Function working.
		const FP = getProto(function () {});
		const denied = function Function() {
			throw new g.EvalError('code generation from strings is not allowed in the sandbox');
		};
		defProp(denied, 'prototype', { value: FP, writable: false });
		for (const f of [function () {}, function* () {}, async function () {}]) {
			defProp(getProto(f), 'constructor', { value: denied, ...hidden });
		}
		defProp(g, 'Function', { value: denied, ...hidden });
		delete g.eval;
		delete g.GoError;

		// No BigInt: its arithmetic (2n ** 10n ** 9n, 1n << 10n ** 10n)
		// allocates without bound inside single native operations.
		delete g.BigInt;
		delete g.BigInt64Array;
		delete g.BigUint64Array;
		for (const m of ['getBigInt64', 'getBigUint64', 'setBigInt64', 'setBigUint64']) {
			delete g.DataView.prototype[m];
		}

		const log = n.log;
		const method = (level) => function (...args) { log(level, args); };
		const console = {
			log: method('log'), info: method('info'), warn: method('warn'),
			error: method('error'), debug: method('debug'),
		};
		defProp(g, 'console', { value: console, writable: false, configurable: false, enumerable: false });

		// Intrinsics only syntax reaches: iterator and generator prototypes.
		const roots = [
			g, requestProto, FP, getProto(function* () {}), getProto(async function () {}),
			(function* () {})(), [][Symbol.iterator](), new g.Map().entries(), new g.Set().values(),
			''[Symbol.iterator](), /a/[Symbol.matchAll](''), (async function () {})(),
		];
		// Index loops and direct stores: for-of iterators and the (wrapped)
		// push would triple the cost of building a runtime.
		const seen = new g.WeakSet();
		let top = roots.length;
		while (top > 0) {
			const o = roots[--top];
			if ((typeof o !== 'object' && typeof o !== 'function') || o === null || seen.has(o)) {
				continue;
			}
			seen.add(o);
			freeze(o);
			roots[top++] = getProto(o);
			const keys = ownKeys(o);
			for (let i = 0; i < keys.length; i++) {
				const d = getDesc(o, keys[i]);
				if (d === undefined) {
					continue;
				}
				if ('value' in d) {
					roots[top++] = d.value;
				} else {
					roots[top++] = d.get;
					roots[top++] = d.set;
				}
			}
		}
	};
})();
