// The web-standard globals of SPEC §5, with the shapes of the Web platform,
// over natives in Go (web.go). Runs once per sandbox runtime, before the
// prelude freezes every global; the completion value is the install
// function. Not instrumented: every loop here walks data a native or the
// script has already paid for, and charges for it (n.charge).
(function () {
	'use strict';
	return function install(g, n) {
		const O = g.Object, defProp = O.defineProperty, getDesc = O.getOwnPropertyDescriptor;
		const getProto = O.getPrototypeOf, create = O.create, keysOf = O.keys;
		const isArray = g.Array.isArray, isView = g.ArrayBuffer.isView;
		const call = (f, self, ...args) => g.Reflect.apply(f, self, args);
		const getter = (proto, name) => getDesc(proto, name).get;
		const abByteLength = getter(g.ArrayBuffer.prototype, 'byteLength');
		const TA = getProto(g.Uint8Array.prototype);
		const taTag = getter(TA, g.Symbol.toStringTag);
		const taBuffer = getter(TA, 'buffer'), taOffset = getter(TA, 'byteOffset'), taLength = getter(TA, 'byteLength');
		const dvBuffer = getter(g.DataView.prototype, 'buffer'), dvOffset = getter(g.DataView.prototype, 'byteOffset');
		const dvLength = getter(g.DataView.prototype, 'byteLength');
		const mapSize = getter(g.Map.prototype, 'size'), setSize = getter(g.Set.prototype, 'size');
		const regexpSource = getter(g.RegExp.prototype, 'source'), regexpFlags = getter(g.RegExp.prototype, 'flags');
		const dateValue = g.Date.prototype.getTime, objToString = g.Object.prototype.toString, objectProto = g.Object.prototype;
		const boolValue = g.Boolean.prototype.valueOf, numValue = g.Number.prototype.valueOf, strValue = g.String.prototype.valueOf;
		const iterator = g.Symbol.iterator, toStringTag = g.Symbol.toStringTag;
		const hidden = { writable: true, configurable: true, enumerable: false };

		// Internal state of every object made here, out of the scripts'
		// reach; the WeakMap lets it go with its object.
		// No state in slots may reach an object that is a key of it: goja's
		// WeakMap holds values strongly while their key lives, and every
		// value reaches the map itself through its runtime, so such a state
		// would keep its objects for the runtime's life. URL and
		// URLSearchParams, which point at each other, keep their state in
		// private fields instead (urlSlot, paramsSlot).
		const slots = new g.WeakMap();
		let urlSlot, paramsSlot, newParams, isURLObject;
		const internal = {}; // lets the classes construct instances whose state they set
		const slot = (o, what) => {
			if (what === 'URL') {
				return urlSlot(o);
			}
			if (what === 'URLSearchParams') {
				return paramsSlot(o);
			}
			const s = typeof o === 'object' && o !== null ? slots.get(o) : undefined;
			if (s === undefined || s.kind !== what) {
				throw new g.TypeError(`Illegal invocation: not a ${what}`);
			}
			return s;
		};
		// WebIDL's conversions: a symbol is a TypeError, everything else
		// becomes a string the usual way.
		const str = (v) => {
			if (typeof v === 'symbol') {
				throw new g.TypeError('Cannot convert a Symbol value to a string');
			}
			return `${v}`;
		};
		const need = (args, count, what) => {
			if (args.length < count) {
				throw new g.TypeError(`${what}: ${count} argument${count > 1 ? 's' : ''} required, but only ${args.length} present`);
			}
		};
		// define puts a class on the global object as WebIDL has it:
		// non-enumerable, writable, configurable (until the prelude freezes
		// it), with its name as the prototype's toStringTag.
		const define = (name, value, tag) => {
			if (tag !== undefined) {
				defProp(value.prototype, toStringTag, { value: tag, configurable: true });
			}
			defProp(g, name, { value, ...hidden });
		};
		// Accessors of a class are enumerable in WebIDL, unlike class syntax's.
		const enumerable = (proto, names) => {
			for (const k of names) {
				const d = getDesc(proto, k);
				d.enumerable = true;
				defProp(proto, k, d);
			}
		};

		// ---- DOMException ----
		const codes = {
			IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5,
			NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InvalidStateError: 11,
			SyntaxError: 12, InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15,
			TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20, URLMismatchError: 21,
			QuotaExceededError: 22, TimeoutError: 23, InvalidNodeTypeError: 24, DataCloneError: 25,
		};
		class DOMException extends g.Error {
			constructor(message = '', name = 'Error') {
				super(str(message));
				slots.set(this, { kind: 'DOMException', name: str(name), message: str(message) });
				delete this.message; // the accessors of the prototype answer
			}
			get name() { return slot(this, 'DOMException').name; }
			get message() { return slot(this, 'DOMException').message; }
			get code() { return codes[slot(this, 'DOMException').name] || 0; }
		}
		enumerable(DOMException.prototype, ['name', 'message', 'code']);
		define('DOMException', DOMException, 'DOMException');
		const domError = (name, message) => new DOMException(message, name);

		// ---- BufferSource ----
		// view returns [buffer, byteOffset, byteLength] of an ArrayBuffer or
		// a view of one, or throws a TypeError naming what.
		const view = (v, what) => {
			if (typeof v === 'object' && v !== null) {
				if (isView(v)) {
					if (taTag.call(v) !== undefined) {
						return [taBuffer.call(v), taOffset.call(v), taLength.call(v)];
					}
					return [dvBuffer.call(v), dvOffset.call(v), dvLength.call(v)];
				}
				try {
					return [v, 0, abByteLength.call(v)];
				} catch (e) {
					// not an ArrayBuffer: the TypeError below says so
				}
			}
			throw new g.TypeError(`${what} must be an ArrayBuffer, a TypedArray or a DataView`);
		};
		const u8 = (buffer) => new g.Uint8Array(buffer);

		// ---- URL ----
		const F = { href: 0, origin: 1, protocol: 2, username: 3, password: 4, host: 5, hostname: 6, port: 7, pathname: 8, search: 9, hash: 10 };
		const parseURL = (url, base) => n.urlParse(str(url), base === undefined ? undefined : str(base));
		class URL {
			#s;
			constructor(url, base) {
				if (url === internal) {
					this.#s = base;
					return;
				}
				need(arguments, 1, "Failed to construct 'URL'");
				const r = parseURL(url, base);
				if (r === null) {
					throw new g.TypeError(`Invalid URL: ${str(url)}`);
				}
				this.#s = { kind: 'URL', r, q: null };
			}
			static {
				urlSlot = (o) => {
					if (typeof o !== 'object' || o === null || !(#s in o)) {
						throw new g.TypeError('Illegal invocation: not a URL');
					}
					return o.#s;
				};
				isURLObject = (o) => #s in o;
			}
			static canParse(url, base) {
				need(arguments, 1, "Failed to execute 'canParse' on 'URL'");
				return parseURL(url, base) !== null;
			}
			static parse(url, base) {
				need(arguments, 1, "Failed to execute 'parse' on 'URL'");
				const r = parseURL(url, base);
				if (r === null) {
					return null;
				}
				return new URL(internal, { kind: 'URL', r, q: null });
			}
			get href() { return slot(this, 'URL').r[F.href]; }
			set href(v) {
				const s = slot(this, 'URL');
				const r = n.urlParse(str(v));
				if (r === null) {
					throw new g.TypeError(`Invalid URL: ${str(v)}`);
				}
				s.r = r;
				queryChanged(s);
			}
			get origin() { return slot(this, 'URL').r[F.origin]; }
			get searchParams() {
				const s = slot(this, 'URL');
				if (s.q === null) {
					s.q = newParams({ kind: 'URLSearchParams', list: n.formParse(s.r[F.search].slice(1)), url: s });
				}
				return s.q;
			}
			toString() { return slot(this, 'URL').r[F.href]; }
			toJSON() { return slot(this, 'URL').r[F.href]; }
		}
		const accessors = ['href', 'origin', 'searchParams'];
		for (const name of ['protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash']) {
			const i = F[name];
			defProp(URL.prototype, name, {
				get() { return slot(this, 'URL').r[i]; },
				set(v) {
					const s = slot(this, 'URL');
					s.r = n.urlSet(s.r[F.href], name, str(v));
					if (name === 'search') {
						queryChanged(s);
					}
				},
				enumerable: true, configurable: true,
			});
		}
		enumerable(URL.prototype, accessors);
		// queryChanged keeps a URL's searchParams in step with its query.
		const queryChanged = (s) => {
			if (s.q !== null) {
				paramsSlot(s.q).list = n.formParse(s.r[F.search].slice(1));
			}
		};
		define('URL', URL, 'URL');

		// ---- URLSearchParams ----
		// The list is flat: name0, value0, name1, value1, ...
		class URLSearchParams {
			#s;
			constructor(init = '', state = undefined) {
				if (init === internal) {
					this.#s = state;
					return;
				}
				const list = [];
				if (typeof init === 'object' && init !== null || typeof init === 'function') {
					const it = init[iterator];
					if (it !== undefined && it !== null) {
						if (typeof it !== 'function') {
							throw new g.TypeError("Failed to construct 'URLSearchParams': the init is not iterable");
						}
						for (const pair of init) {
							if (typeof pair !== 'object' && typeof pair !== 'function' || pair === null || typeof pair[iterator] !== 'function') {
								throw new g.TypeError("Failed to construct 'URLSearchParams': every pair must be a sequence");
							}
							const p = [...pair];
							if (p.length !== 2) {
								throw new g.TypeError("Failed to construct 'URLSearchParams': every pair must have exactly two items");
							}
							n.entries(list.length / 2 + 1);
							list.push(str(p[0]), str(p[1]));
						}
					} else {
						const keys = g.Reflect.ownKeys(init);
						n.charge(keys.length);
						for (const k of keys) {
							const d = getDesc(init, k);
							if (d === undefined || !d.enumerable) {
								continue;
							}
							if (typeof k === 'symbol') {
								throw new g.TypeError("Failed to construct 'URLSearchParams': a record key cannot be a Symbol");
							}
							n.entries(list.length / 2 + 1);
							list.push(k, str(init[k]));
						}
					}
					this.#s = { kind: 'URLSearchParams', list, url: null };
					return;
				}
				let s = str(init);
				if (s[0] === '?') {
					s = s.slice(1);
				}
				this.#s = { kind: 'URLSearchParams', list: n.formParse(s), url: null };
			}
			static {
				paramsSlot = (o) => {
					if (typeof o !== 'object' || o === null || !(#s in o)) {
						throw new g.TypeError('Illegal invocation: not a URLSearchParams');
					}
					return o.#s;
				};
				newParams = (state) => new URLSearchParams(internal, state);
				const isURL = isURLObject;
				isURLObject = (o) => isURL(o) || #s in o;
			}
			get size() { return slot(this, 'URLSearchParams').list.length / 2; }
			append(name, value) {
				need(arguments, 2, "Failed to execute 'append' on 'URLSearchParams'");
				const s = slot(this, 'URLSearchParams');
				n.entries(s.list.length / 2 + 1);
				s.list.push(str(name), str(value));
				update(s);
			}
			delete(name, value) {
				need(arguments, 1, "Failed to execute 'delete' on 'URLSearchParams'");
				const s = slot(this, 'URLSearchParams');
				name = str(name);
				const v = value === undefined ? undefined : str(value);
				const kept = [];
				n.charge(s.list.length / 2);
				for (let i = 0; i < s.list.length; i += 2) {
					if (s.list[i] !== name || v !== undefined && s.list[i + 1] !== v) {
						kept.push(s.list[i], s.list[i + 1]);
					}
				}
				s.list = kept;
				update(s);
			}
			get(name) {
				need(arguments, 1, "Failed to execute 'get' on 'URLSearchParams'");
				const s = slot(this, 'URLSearchParams');
				name = str(name);
				n.charge(s.list.length / 2);
				for (let i = 0; i < s.list.length; i += 2) {
					if (s.list[i] === name) {
						return s.list[i + 1];
					}
				}
				return null;
			}
			getAll(name) {
				need(arguments, 1, "Failed to execute 'getAll' on 'URLSearchParams'");
				const s = slot(this, 'URLSearchParams');
				name = str(name);
				const out = [];
				n.charge(s.list.length / 2);
				for (let i = 0; i < s.list.length; i += 2) {
					if (s.list[i] === name) {
						out.push(s.list[i + 1]);
					}
				}
				return out;
			}
			has(name, value) {
				need(arguments, 1, "Failed to execute 'has' on 'URLSearchParams'");
				const s = slot(this, 'URLSearchParams');
				name = str(name);
				const v = value === undefined ? undefined : str(value);
				n.charge(s.list.length / 2);
				for (let i = 0; i < s.list.length; i += 2) {
					if (s.list[i] === name && (v === undefined || s.list[i + 1] === v)) {
						return true;
					}
				}
				return false;
			}
			set(name, value) {
				need(arguments, 2, "Failed to execute 'set' on 'URLSearchParams'");
				const s = slot(this, 'URLSearchParams');
				name = str(name);
				value = str(value);
				const out = [];
				let found = false;
				n.charge(s.list.length / 2);
				for (let i = 0; i < s.list.length; i += 2) {
					if (s.list[i] !== name) {
						out.push(s.list[i], s.list[i + 1]);
					} else if (!found) {
						out.push(name, value);
						found = true;
					}
				}
				if (!found) {
					n.entries(out.length / 2 + 1);
					out.push(name, value);
				}
				s.list = out;
				update(s);
			}
			sort() {
				const s = slot(this, 'URLSearchParams');
				const pairs = [];
				for (let i = 0; i < s.list.length; i += 2) {
					pairs.push([s.list[i], s.list[i + 1], i]);
				}
				// Stable, by UTF-16 code units of the names: what < does.
				pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[2] - b[2]));
				const out = [];
				for (const p of pairs) {
					out.push(p[0], p[1]);
				}
				s.list = out;
				update(s);
			}
			forEach(callback, thisArg) {
				need(arguments, 1, "Failed to execute 'forEach' on 'URLSearchParams'");
				if (typeof callback !== 'function') {
					throw new g.TypeError("Failed to execute 'forEach' on 'URLSearchParams': the callback is not a function");
				}
				const s = slot(this, 'URLSearchParams');
				for (let i = 0; i < s.list.length; i += 2) {
					call(callback, thisArg, s.list[i + 1], s.list[i], this);
				}
			}
			*entries() {
				const s = slot(this, 'URLSearchParams');
				for (let i = 0; i < s.list.length; i += 2) {
					yield [s.list[i], s.list[i + 1]];
				}
			}
			*keys() {
				const s = slot(this, 'URLSearchParams');
				for (let i = 0; i < s.list.length; i += 2) {
					yield s.list[i];
				}
			}
			*values() {
				const s = slot(this, 'URLSearchParams');
				for (let i = 0; i < s.list.length; i += 2) {
					yield s.list[i + 1];
				}
			}
			toString() { return n.formSerialize(slot(this, 'URLSearchParams').list); }
		}
		defProp(URLSearchParams.prototype, iterator, { value: URLSearchParams.prototype.entries, ...hidden });
		enumerable(URLSearchParams.prototype, ['size']);
		// update writes a URL's query after its searchParams changed.
		const update = (s) => {
			if (s.url !== null) {
				const q = n.formSerialize(s.list);
				s.url.r = n.urlSet(s.url.r[F.href], 'search', q);
			}
		};
		define('URLSearchParams', URLSearchParams, 'URLSearchParams');

		// ---- TextEncoder, TextDecoder ----
		class TextEncoder {
			constructor() { slots.set(this, { kind: 'TextEncoder' }); }
			get encoding() { slot(this, 'TextEncoder'); return 'utf-8'; }
			encode(input = '') {
				slot(this, 'TextEncoder');
				return u8(n.utf8Encode(str(input)));
			}
			encodeInto(source, destination) {
				need(arguments, 2, "Failed to execute 'encodeInto' on 'TextEncoder'");
				slot(this, 'TextEncoder');
				if (typeof destination !== 'object' || destination === null || taTag.call(destination) !== 'Uint8Array') {
					throw new g.TypeError("Failed to execute 'encodeInto' on 'TextEncoder': the destination is not a Uint8Array");
				}
				const r = n.utf8EncodeInto(str(source), taBuffer.call(destination), taOffset.call(destination), taLength.call(destination));
				return { read: r[0], written: r[1] };
			}
		}
		enumerable(TextEncoder.prototype, ['encoding']);
		define('TextEncoder', TextEncoder, 'TextEncoder');

		const utf8Labels = ['unicode-1-1-utf-8', 'unicode11utf8', 'unicode20utf8', 'utf-8', 'utf8', 'x-unicode20utf8'];
		class TextDecoder {
			constructor(label = 'utf-8', options = {}) {
				const l = str(label).replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, '').toLowerCase();
				if (!utf8Labels.includes(l)) {
					throw new g.RangeError(`Failed to construct 'TextDecoder': the encoding label provided ('${str(label)}') is not supported: only UTF-8 is`);
				}
				const o = options === undefined || options === null ? {} : options;
				slots.set(this, { kind: 'TextDecoder', fatal: !!o.fatal, ignoreBOM: !!o.ignoreBOM, pending: null, started: false });
			}
			get encoding() { slot(this, 'TextDecoder'); return 'utf-8'; }
			get fatal() { return slot(this, 'TextDecoder').fatal; }
			get ignoreBOM() { return slot(this, 'TextDecoder').ignoreBOM; }
			decode(input, options) {
				const s = slot(this, 'TextDecoder');
				const stream = options !== undefined && options !== null && !!options.stream;
				let v = input === undefined ? [new g.ArrayBuffer(0), 0, 0] : view(input, "Failed to execute 'decode' on 'TextDecoder': the input");
				if (s.pending !== null) {
					const joined = new g.Uint8Array(s.pending.length + v[2]);
					joined.set(s.pending);
					joined.set(new g.Uint8Array(v[0], v[1], v[2]), s.pending.length);
					v = [joined.buffer, 0, joined.length];
					s.pending = null;
				}
				const r = n.utf8Decode(v[0], v[1], v[2], s.fatal, stream, !s.ignoreBOM && !s.started);
				if (r === null) {
					s.started = false;
					throw new g.TypeError("Failed to execute 'decode' on 'TextDecoder': the encoded data was not valid UTF-8");
				}
				if (r[1] > 0) {
					s.pending = new g.Uint8Array(v[0].slice(v[1] + v[2] - r[1], v[1] + v[2]));
				}
				s.started = stream && (s.started || v[2] > 0);
				return r[0];
			}
		}
		enumerable(TextDecoder.prototype, ['encoding', 'fatal', 'ignoreBOM']);
		define('TextDecoder', TextDecoder, 'TextDecoder');

		// ---- atob, btoa ----
		const base64 = {
			atob(data) {
				need(arguments, 1, "Failed to execute 'atob'");
				const r = n.atob(str(data));
				if (r === null) {
					throw domError('InvalidCharacterError', "Failed to execute 'atob': the string to be decoded is not correctly encoded");
				}
				return r;
			},
			btoa(data) {
				need(arguments, 1, "Failed to execute 'btoa'");
				const r = n.btoa(str(data));
				if (r === null) {
					throw domError('InvalidCharacterError', "Failed to execute 'btoa': the string to be encoded contains characters outside of the Latin1 range");
				}
				return r;
			},
		};
		defProp(g, 'atob', { value: base64.atob, ...hidden });
		defProp(g, 'btoa', { value: base64.btoa, ...hidden });

		// ---- structuredClone ----
		// Iterative, so a deep structure costs memory the script already
		// spent, never Go stack; cycles and shared references are kept. The
		// memo of objects seen is a Map, so a clone of more objects than
		// max_map_size stops there.
		const errorNames = ['Error', 'EvalError', 'RangeError', 'ReferenceError', 'SyntaxError', 'TypeError', 'URIError'];
		const cloneError = (what) => domError('DataCloneError', `Failed to execute 'structuredClone': ${what} could not be cloned`);
		const brand = (f, v) => { try { f.call(v); return true; } catch (e) { return false; } };
		// kindOf names what structuredClone must make of object v. The
		// tag proposes, a brand check (which throws for anything else)
		// confirms, so a faked Symbol.toStringTag clones as what v is; a
		// plain object or array takes no brand check at all, since
		// exceptions are what costs here.
		const brands = [['Date', dateValue], ['RegExp', regexpSource], ['ArrayBuffer', abByteLength], ['Map', mapSize],
			['Set', setSize], ['Boolean', boolValue], ['Number', numValue], ['String', strValue]];
		const kindOf = (v) => {
			if (isArray(v)) {
				return 'Array';
			}
			if (isView(v)) {
				return 'View';
			}
			const p = getProto(v);
			if ((p === objectProto || p === null) && v[toStringTag] === undefined) {
				return 'Object';
			}
			const tag = objToString.call(v).slice(8, -1);
			for (const [kind, f] of brands) {
				if ((tag === kind || tag === 'Object') && brand(f, v) && !(kind === 'RegExp' && v === g.RegExp.prototype)) {
					return kind;
				}
			}
			if (tag === 'Error' || tag === 'Object' || tag === 'Arguments') {
				return tag === 'Arguments' ? 'Object' : tag;
			}
			return tag;
		};
		const cloneBuffer = (b) => b.slice(0);
		function structuredClone(value, options) {
			need(arguments, 1, "Failed to execute 'structuredClone'");
			if (options !== undefined && options !== null && options.transfer !== undefined && [...options.transfer].length > 0) {
				throw cloneError('a transfer list');
			}
			const memo = new g.Map();
			// A stack of source, target, kind, ... written by index: the
			// wrapped push and pop would cost a call into Go each.
			const work = [];
			let top = 0;
			let count = 0;
			const copy = (v) => {
				if (typeof v === 'symbol') {
					throw cloneError('a Symbol');
				}
				if (typeof v === 'function') {
					throw cloneError('a function');
				}
				if (typeof v !== 'object' || v === null) {
					return v;
				}
				const seen = memo.get(v);
				if (seen !== undefined) {
					return seen;
				}
				if ((++count & 1023) === 0) {
					n.charge(8 * 1024); // ~1 µs an object, measured
				}
				let out;
				if (slots.has(v)) {
					throw cloneError(`a ${slots.get(v).kind}`);
				}
				if (isURLObject(v)) {
					throw cloneError(`a ${objToString.call(v).slice(8, -1)}`);
				}
				switch (kindOf(v)) {
				case 'Array':
					out = new g.Array(v.length);
					work[top++] = v; work[top++] = out; work[top++] = 'props';
					break;
				case 'Date':
					out = new g.Date(dateValue.call(v));
					break;
				case 'RegExp':
					out = new g.RegExp(regexpSource.call(v), regexpFlags.call(v));
					break;
				case 'ArrayBuffer':
					out = cloneBuffer(v);
					break;
				case 'View': {
					const tag = taTag.call(v);
					const [buf, off, len] = view(v, 'a view');
					const b = copy(buf);
					out = tag === undefined ? new g.DataView(b, off, len) : new g[tag](b, off, len / v.BYTES_PER_ELEMENT);
					break;
				}
				case 'Map':
					out = new g.Map();
					work[top++] = v; work[top++] = out; work[top++] = 'map';
					break;
				case 'Set':
					out = new g.Set();
					work[top++] = v; work[top++] = out; work[top++] = 'set';
					break;
				case 'Boolean':
					out = new g.Boolean(boolValue.call(v));
					break;
				case 'Number':
					out = new g.Number(numValue.call(v));
					break;
				case 'String':
					out = new g.String(strValue.call(v));
					break;
				case 'Error': {
					const name = errorNames.includes(v.name) ? v.name : 'Error';
					const d = getDesc(v, 'message');
					out = new g[name](d !== undefined && 'value' in d ? str(d.value) : undefined);
					const stack = getDesc(v, 'stack');
					if (stack !== undefined && 'value' in stack && typeof stack.value === 'string') {
						defProp(out, 'stack', { value: stack.value, ...hidden });
					}
					break;
				}
				case 'Object':
					out = {};
					work[top++] = v; work[top++] = out; work[top++] = 'props';
					break;
				default:
					throw cloneError(`a ${kindOf(v)}`);
				}
				memo.set(v, out);
				return out;
			};
			const root = copy(value);
			while (top > 0) {
				const kind = work[--top], dst = work[--top], src = work[--top];
				work[top] = work[top + 1] = work[top + 2] = undefined;
				if (kind === 'map') {
					n.charge(4 * mapSize.call(src)); // a wrapped set and two copies an entry
					for (const [k, v] of src) {
						dst.set(copy(k), copy(v));
					}
				} else if (kind === 'set') {
					n.charge(4 * setSize.call(src));
					for (const v of src) {
						dst.add(copy(v));
					}
				} else {
					const keys = keysOf(src);
					n.charge(keys.length);
					for (let i = 0; i < keys.length; i++) {
						dst[keys[i]] = copy(src[keys[i]]);
					}
				}
			}
			return root;
		}
		defProp(g, 'structuredClone', { value: structuredClone, ...hidden });

		// ---- crypto ----
		const illegal = function () { throw new g.TypeError('Illegal constructor'); };
		const hashes = { __proto__: null, 'SHA-1': 'SHA-1', 'SHA-256': 'SHA-256', 'SHA-384': 'SHA-384', 'SHA-512': 'SHA-512' };
		const hashName = (alg) => {
			const name = str(typeof alg === 'object' && alg !== null ? alg.name : alg).toUpperCase();
			const h = hashes[name];
			if (h === undefined) {
				throw domError('NotSupportedError', `Unrecognized algorithm name: ${name}`);
			}
			return h;
		};
		const algName = (alg) => {
			if (typeof alg === 'string') {
				return alg.toUpperCase();
			}
			if (typeof alg !== 'object' || alg === null) {
				throw new g.TypeError('An algorithm must be a string or an object with a name');
			}
			if (alg.name === undefined) {
				throw new g.TypeError("An algorithm object needs a 'name'");
			}
			return str(alg.name).toUpperCase();
		};
		// promised runs f now and hands its result or error over as a
		// promise: Web Crypto reports errors by rejecting, not throwing.
		const promised = (f) => {
			try {
				return g.Promise.resolve(f());
			} catch (e) {
				return g.Promise.reject(e);
			}
		};
		const integerArrays = ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array'];

		function CryptoKey() { illegal(); }
		const keyOf = (k) => slot(k, 'CryptoKey');
		for (const name of ['type', 'extractable', 'algorithm', 'usages']) {
			defProp(CryptoKey.prototype, name, { get() { return keyOf(this)[name]; }, enumerable: true, configurable: true });
		}
		define('CryptoKey', CryptoKey, 'CryptoKey');

		function SubtleCrypto() { illegal(); }
		const usagesOf = (usages) => {
			const u = isArray(usages) ? usages.slice() : [...usages];
			for (let i = 0; i < u.length; i++) {
				const x = u[i] = str(u[i]);
				if (x !== 'sign' && x !== 'verify') {
					throw domError('SyntaxError', `Cannot create a key with usage '${x}': HMAC keys are for 'sign' and 'verify'`);
				}
			}
			if (u.length === 0) {
				throw domError('SyntaxError', 'Usages cannot be empty when creating a key.');
			}
			return u;
		};
		const hmacKey = (key, usage, alg) => {
			const k = typeof key === 'object' && key !== null ? slots.get(key) : undefined;
			if (k === undefined || k.kind !== 'CryptoKey') {
				throw new g.TypeError("the key is not a CryptoKey");
			}
			if (algName(alg) !== 'HMAC' || k.algorithm.name !== 'HMAC') {
				throw domError('InvalidAccessError', `The key is a ${k.algorithm.name} key, not one for ${algName(alg)}`);
			}
			if (!k.usages.includes(usage)) {
				throw domError('InvalidAccessError', `The key does not support the '${usage}' operation`);
			}
			return k;
		};
		const subtleMethods = {
			digest(algorithm, data) {
				return promised(() => {
					const h = hashName(algorithm);
					const [b, off, len] = view(data, "Failed to execute 'digest' on 'SubtleCrypto': the data");
					return n.digest(h, b, off, len);
				});
			},
			importKey(format, keyData, algorithm, extractable, keyUsages) {
				return promised(() => {
					if (str(format) !== 'raw') {
						throw domError('NotSupportedError', `Key format '${str(format)}' is not supported: use 'raw'`);
					}
					if (algName(algorithm) !== 'HMAC') {
						throw domError('NotSupportedError', `Unrecognized algorithm name: ${algName(algorithm)}: only HMAC keys can be imported`);
					}
					if (algorithm.hash === undefined) {
						throw new g.TypeError("An HMAC algorithm needs a 'hash'");
					}
					const hash = hashName(algorithm.hash);
					const usages = usagesOf(keyUsages);
					const [b, off, len] = view(keyData, "Failed to execute 'importKey' on 'SubtleCrypto': the key data");
					if (len === 0) {
						throw domError('DataError', 'HMAC key data must not be empty');
					}
					let bits = len * 8;
					if (algorithm.length !== undefined) {
						const want = +algorithm.length;
						if (!(want <= bits && want > bits - 8)) {
							throw domError('DataError', `The key is ${bits} bits, not ${want}`);
						}
						bits = want;
					}
					const k = create(CryptoKey.prototype);
					slots.set(k, {
						kind: 'CryptoKey', type: 'secret', extractable: !!extractable,
						algorithm: O.freeze({ name: 'HMAC', length: bits, hash: O.freeze({ name: hash }) }),
						usages: O.freeze(usages), raw: b.slice(off, off + len),
					});
					return k;
				});
			},
			exportKey(format, key) {
				return promised(() => {
					const k = slot(key, 'CryptoKey');
					if (str(format) !== 'raw') {
						throw domError('NotSupportedError', `Key format '${str(format)}' is not supported: use 'raw'`);
					}
					if (!k.extractable) {
						throw domError('InvalidAccessError', 'The key is not extractable');
					}
					return k.raw.slice(0);
				});
			},
			sign(algorithm, key, data) {
				return promised(() => {
					const k = hmacKey(key, 'sign', algorithm);
					const [b, off, len] = view(data, "Failed to execute 'sign' on 'SubtleCrypto': the data");
					return n.hmac(k.algorithm.hash.name, k.raw, 0, abByteLength.call(k.raw), b, off, len);
				});
			},
			verify(algorithm, key, signature, data) {
				return promised(() => {
					const k = hmacKey(key, 'verify', algorithm);
					const [sb, soff, slen] = view(signature, "Failed to execute 'verify' on 'SubtleCrypto': the signature");
					const [b, off, len] = view(data, "Failed to execute 'verify' on 'SubtleCrypto': the data");
					return n.hmacVerify(k.algorithm.hash.name, k.raw, 0, abByteLength.call(k.raw), b, off, len, sb, soff, slen);
				});
			},
			// Cloudflare Workers' extension, for code written for Workers:
			// compares two buffers of equal length in constant time.
			timingSafeEqual(a, b) {
				need(arguments, 2, "Failed to execute 'timingSafeEqual' on 'SubtleCrypto'");
				const [ab, aoff, alen] = view(a, "Failed to execute 'timingSafeEqual' on 'SubtleCrypto': the first argument");
				const [bb, boff, blen] = view(b, "Failed to execute 'timingSafeEqual' on 'SubtleCrypto': the second argument");
				if (alen !== blen) {
					throw new g.TypeError("Failed to execute 'timingSafeEqual' on 'SubtleCrypto': the buffers differ in length");
				}
				return n.equal(ab, aoff, alen, bb, boff, blen);
			},
		};
		for (const name of keysOf(subtleMethods)) {
			defProp(SubtleCrypto.prototype, name, { value: subtleMethods[name], ...hidden, enumerable: true });
		}
		define('SubtleCrypto', SubtleCrypto, 'SubtleCrypto');
		const subtle = create(SubtleCrypto.prototype);

		function Crypto() { illegal(); }
		const cryptoMethods = {
			getRandomValues(array) {
				need(arguments, 1, "Failed to execute 'getRandomValues' on 'Crypto'");
				const tag = typeof array === 'object' && array !== null ? taTag.call(array) : undefined;
				if (!integerArrays.includes(tag)) {
					throw domError('TypeMismatchError', "Failed to execute 'getRandomValues' on 'Crypto': the array is not an integer TypedArray");
				}
				const len = taLength.call(array);
				if (len > 65536) {
					throw domError('QuotaExceededError', `Failed to execute 'getRandomValues' on 'Crypto': the array is ${len} bytes, more than the 65536 allowed`);
				}
				n.random(taBuffer.call(array), taOffset.call(array), len);
				return array;
			},
			randomUUID() { return n.uuid(); },
		};
		for (const name of keysOf(cryptoMethods)) {
			defProp(Crypto.prototype, name, { value: cryptoMethods[name], ...hidden, enumerable: true });
		}
		defProp(Crypto.prototype, 'subtle', { get() { return subtle; }, enumerable: true, configurable: true });
		define('Crypto', Crypto, 'Crypto');
		defProp(g, 'crypto', { value: create(Crypto.prototype), ...hidden });
	};
})();
