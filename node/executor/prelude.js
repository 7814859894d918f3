// Runs once per sandbox runtime, before any script: guards the constructors
// that allocate in native code, removes dynamic code evaluation, installs
// console and deep-freezes every built-in reachable from the global object
// or from syntax. The completion value is {setup, harden}: setup does all
// of it; harden is its last step.
(function () {
	'use strict';
	const O = Object, R = Reflect;
	const defProp = O.defineProperty, getProto = O.getPrototypeOf, getDesc = O.getOwnPropertyDescriptor;
	const freeze = O.freeze, ownKeys = R.ownKeys, construct = R.construct, apply = R.apply;
	const hidden = { writable: true, configurable: true, enumerable: false };

	function setup(g, n, requestProto) {
		// Each guard (guards.go) takes the place of its constructor: same
		// prototype (whose constructor it becomes, so species lookups find
		// it), statics, name, length and [[Prototype]].
		const guards = n.guards;
		for (const name of ownKeys(guards)) {
			const orig = g[name], check = guards[name];
			let guard = function (...args) { return check(args, new.target, self); };
			let self = guard;
			if (orig.prototype === undefined) {
				// Proxy has no prototype: a bound function is a constructor
				// without one, and new.target passes through it as itself.
				defProp(guard, 'prototype', { value: undefined });
				self = guard = guard.bind();
			}
			for (const k of ownKeys(orig)) {
				defProp(guard, k, getDesc(orig, k));
			}
			O.setPrototypeOf(guard, getProto(orig));
			if (orig.prototype !== undefined) {
				defProp(orig.prototype, 'constructor', { value: guard, ...hidden });
			}
			defProp(g, name, { value: guard, ...hidden });
			n.native(guard);
		}

		// No code from strings: eval is gone and every function constructor
		// throws. The stand-in keeps instanceof Function working.
		const FP = getProto(function () {});
		// body: Function.length is 1.
		const denied = function Function(body) {
			throw new g.EvalError('code generation from strings is not allowed in the sandbox');
		};
		defProp(denied, 'prototype', { value: FP, writable: false });
		n.native(denied);
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

		// The values tamed properties held are reachable only through their
		// getters now: harden them too.
		const tamed = tame(g, n.tame);
		harden(g, [requestProto, tamed]);
	}

	// harden deep-freezes every object reachable from g, from extra or from
	// syntax alone.
	function harden(g, extra) {
		// Intrinsics only syntax reaches: iterator and generator prototypes.
		const FP = getProto(function () {});
		const roots = [
			g, extra, FP, getProto(function* () {}), getProto(async function () {}),
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
	}

	// tame undoes the override mistake for the properties code commonly
	// overrides on objects that inherit them (SES's override taming,
	// endojs/endo packages/ses enablePropertyOverrides, moderate): each
	// becomes an accessor whose setter defines an own property on the
	// receiver (guards.go, tameProperty), so o.toString = f works while
	// the shared prototype stays frozen.
	function tame(g, property) {
		const FP = getProto(function () {});
		const errorKeys = ['constructor', 'message', 'name'];
		const list = [
			[O.prototype, ownKeys(O.prototype).filter((k) => typeof k === 'string')],
			[FP, ['constructor', 'bind', 'name', 'toString', 'call', 'apply']],
			[g.Error.prototype, [...errorKeys, 'toString']],
			[g.Array.prototype, ['constructor', 'toString']],
			[g.Promise.prototype, ['constructor', 'then']],
			[getProto(getProto([][Symbol.iterator]())), ['toString']],
		];
		for (const e of ['EvalError', 'RangeError', 'ReferenceError', 'SyntaxError', 'TypeError', 'URIError', 'AggregateError']) {
			if (g[e] !== undefined) {
				list.push([g[e].prototype, errorKeys]);
			}
		}
		for (const c of ['Map', 'Set', 'WeakMap', 'WeakSet', 'RegExp', 'Date', 'String', 'Number', 'Boolean', 'Symbol', 'ArrayBuffer', 'DataView']) {
			if (g[c] !== undefined) {
				list.push([g[c].prototype, ['constructor', 'toString', 'valueOf']]);
			}
		}
		// A regexp's exec is what a subclass or an instance overrides to
		// change match, replace, split and test.
		list.push([g.RegExp.prototype, ['exec']]);
		const TA = getProto(g.Uint8Array);
		list.push([TA.prototype, ['constructor', 'toString']]);
		for (const c of ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array']) {
			if (g[c] !== undefined) {
				list.push([g[c].prototype, ['constructor']]);
			}
		}
		const values = [];
		for (const [o, keys] of list) {
			for (const k of keys) {
				const d = getDesc(o, k);
				if (d !== undefined && 'value' in d) {
					values[values.length] = d.value;
				}
				property(o, k);
			}
		}
		return values;
	}

	return { setup, harden };
})();
