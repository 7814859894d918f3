// fetch, Headers, Request and Response (SPEC §10), installed once per
// sandbox runtime before the prelude freezes the globals. The network side
// is Go's (fetch.go): n.fetch sends a request and resolves with the
// upstream's status, headers and a body handle, n.read reads a body
// handle. Everything here holds no per-run state: a body handle names an
// entry of the current run, so one left over from an earlier run finds
// nothing. The completion value is the install function.
(function () {
	'use strict';
	return function install(g, n) {
		const JSONp = g.JSON, O = g.Object, TE = g.TypeError, toStr = O.prototype.toString;
		// Not instanceof: the prelude makes ArrayBuffer a proxy.
		const isBuffer = (v) => toStr.call(v) === '[object ArrayBuffer]';
		const tokenRE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
		const badValueRE = /[\0\r\n\u0100-\uffff]/; // header values are bytes

		function normName(name) {
			name = `${name}`;
			if (!tokenRE.test(name)) {
				throw new TE(`invalid header name: ${JSONp.stringify(name)}`);
			}
			return name.toLowerCase();
		}
		const ws = (c) => c === 32 || c === 9 || c === 10 || c === 13;
		function normValue(value) {
			value = `${value}`;
			if (value.length > 0 && (ws(value.charCodeAt(0)) || ws(value.charCodeAt(value.length - 1)))) {
				value = value.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
			}
			if (badValueRE.test(value)) {
				throw new TE('invalid header value');
			}
			return value;
		}

		class Headers {
			#list = []; // [lower-case name, value], in insertion order
			#guard = false; // immutable: a response's from fetch

			constructor(init) {
				if (init === undefined) {
					return;
				}
				if ((typeof init !== 'object' && typeof init !== 'function') || init === null) {
					throw new TE("Headers: init must be an object, an array of pairs or a Headers");
				}
				const iter = init[Symbol.iterator];
				const own = #list in init;
				if (own && iter === headersIterator) {
					const l = init.#list;
					for (let i = 0; i < l.length; i++) {
						this.#list.push([l[i][0], l[i][1]]);
					}
				} else if (iter !== undefined && iter !== null) {
					if (typeof iter !== 'function') {
						throw new TE('Headers: init[Symbol.iterator] is not a function');
					}
					for (const pair of init) {
						const p = [...pair];
						if (p.length !== 2) {
							throw new TE('Headers: each pair must have a name and a value');
						}
						this.append(p[0], p[1]);
					}
				} else {
					const keys = O.keys(init);
					for (let i = 0; i < keys.length; i++) {
						this.append(keys[i], init[keys[i]]);
					}
				}
			}
			#check() {
				if (this.#guard) {
					throw new TE('Headers: immutable');
				}
			}
			append(name, value) {
				this.#check();
				this.#list.push([normName(name), normValue(value)]);
				n.count(this.#list.length);
			}
			delete(name) {
				this.#check();
				name = normName(name);
				this.#list = this.#list.filter((e) => e[0] !== name);
			}
			get(name) {
				name = normName(name);
				const vs = this.#list.filter((e) => e[0] === name).map((e) => e[1]);
				return vs.length === 0 ? null : vs.join(', ');
			}
			getSetCookie() {
				return this.#list.filter((e) => e[0] === 'set-cookie').map((e) => e[1]);
			}
			has(name) {
				name = normName(name);
				return this.#list.some((e) => e[0] === name);
			}
			set(name, value) {
				this.#check();
				name = normName(name);
				value = normValue(value);
				const i = this.#list.findIndex((e) => e[0] === name);
				if (i < 0) {
					this.#list.push([name, value]);
					n.count(this.#list.length);
					return;
				}
				this.#list[i] = [name, value];
				this.#list = this.#list.filter((e, j) => j <= i || e[0] !== name);
			}
			// The sorted and combined view WHATWG iterates: one entry per
			// name, except set-cookie, which never combines.
			#sorted() {
				const names = [...new g.Set(this.#list.map((e) => e[0]))].sort();
				const out = [];
				for (const name of names) {
					if (name === 'set-cookie') {
						for (const v of this.getSetCookie()) {
							out.push([name, v]);
						}
					} else {
						out.push([name, this.get(name)]);
					}
				}
				return out;
			}
			// forEach and the iterators walk the view live, as WHATWG's
			// iterators do: an index into it as it is at each step.
			forEach(cb, thisArg) {
				if (typeof cb !== 'function') {
					throw new TE('Headers.forEach: callback must be a function');
				}
				for (let i = 0; ; i++) {
					const view = this.#sorted();
					if (i >= view.length) {
						return;
					}
					cb.call(thisArg, view[i][1], view[i][0], this);
				}
			}
			entries() { return new HeadersIterator(this, 2); }
			keys() { return new HeadersIterator(this, 0); }
			values() { return new HeadersIterator(this, 1); }
			[Symbol.iterator]() { return new HeadersIterator(this, 2); }
			get [Symbol.toStringTag]() { return 'Headers'; }
			static view(h) { return h.#sorted(); }

			static pairs(h) { return h.#list; } // read only: callers copy
			// fromUpstream is a response's headers as Go gives them: valid,
			// lower-case pairs, kept as they are and immutable.
			static fromUpstream(pairs) { const h = new Headers(); h.#list = pairs; h.#guard = true; return h; }
		}
		const headerPairs = Headers.pairs, upstreamHeaders = Headers.fromUpstream, headersView = Headers.view;
		delete Headers.pairs;
		delete Headers.fromUpstream;
		delete Headers.view;
		const headersIterator = Headers.prototype[Symbol.iterator];

		// HeadersIterator is the "Headers Iterator" of WebIDL: next is an
		// enumerable method, and its prototype's is %IteratorPrototype%.
		class HeadersIterator {
			#h; #kind; #i = 0;
			constructor(h, kind) { this.#h = h; this.#kind = kind; }
			static next(it) {
				const view = headersView(it.#h);
				if (it.#i >= view.length) {
					return { value: undefined, done: true };
				}
				const e = view[it.#i++];
				return { value: it.#kind === 2 ? [e[0], e[1]] : e[it.#kind], done: false };
			}
		}
		const iterNext = HeadersIterator.next;
		delete HeadersIterator.next;
		O.setPrototypeOf(HeadersIterator.prototype, O.getPrototypeOf(O.getPrototypeOf([][Symbol.iterator]())));
		O.defineProperty(HeadersIterator.prototype, 'next', {
			value: function next() { return iterNext(this); }, writable: true, enumerable: true, configurable: true,
		});
		O.defineProperty(HeadersIterator.prototype, Symbol.toStringTag, { value: 'Headers Iterator', configurable: true });

		// A body is null, a string, an ArrayBuffer or an upstream handle
		// (a number: n.read reads it once).
		function toBody(body) {
			if (body === undefined || body === null) {
				return null;
			}
			if (isBuffer(body)) {
				return body.slice(0);
			}
			if (g.ArrayBuffer.isView(body)) {
				return body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength);
			}
			return `${body}`;
		}

		// Body is the mixin of Request and Response: text, json,
		// arrayBuffer, bodyUsed.
		class Body {
			#body = null;
			#used = false;
			static init(o, body) { o.#body = body; }
			static raw(o) { return o.#body; }
			get bodyUsed() { return this.#used; }
			#take() {
				if (this.#used) {
					return g.Promise.reject(new TE('body already used'));
				}
				this.#used = true;
				return null;
			}
			text() {
				const used = this.#take();
				if (used) { return used; }
				const b = this.#body;
				if (typeof b === 'number') { return n.read(b, false); }
				if (b === null) { return g.Promise.resolve(''); }
				if (typeof b === 'string') { return g.Promise.resolve(b); }
				return g.Promise.resolve(n.decode(b));
			}
			arrayBuffer() {
				const used = this.#take();
				if (used) { return used; }
				const b = this.#body;
				if (typeof b === 'number') { return n.read(b, true); }
				if (b === null) { return g.Promise.resolve(new g.ArrayBuffer(0)); }
				if (typeof b === 'string') { return g.Promise.resolve(n.encode(b)); }
				return g.Promise.resolve(b.slice(0));
			}
			json() {
				return this.text().then((t) => JSONp.parse(t));
			}
		}
		const initBody = Body.init, rawBody = Body.raw;
		delete Body.init;
		delete Body.raw;

		const methods = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH'];
		const redirects = ['follow', 'manual', 'error'];

		class Request extends Body {
			#method; #url; #headers; #redirect;
			constructor(input, init) {
				super();
				init = init === undefined || init === null ? {} : init;
				let body = null;
				if (input instanceof Request) {
					this.#method = input.#method;
					this.#url = input.#url;
					this.#headers = new Headers(input.#headers);
					this.#redirect = input.#redirect;
					if (input.bodyUsed) {
						throw new TE('Request: the body of the input is already used');
					}
					body = rawBody(input);
				} else {
					this.#url = n.url(`${input}`);
					this.#method = 'GET';
					this.#headers = new Headers();
					this.#redirect = 'follow';
				}
				if (init.method !== undefined) {
					const m = `${init.method}`;
					if (!tokenRE.test(m)) {
						throw new TE(`Request: invalid method ${JSONp.stringify(m)}`);
					}
					const up = m.toUpperCase();
					if (up === 'CONNECT' || up === 'TRACE' || up === 'TRACK') {
						throw new TE(`Request: method ${up} is forbidden`);
					}
					this.#method = methods.includes(up) ? up : m;
				}
				if (init.headers !== undefined) {
					this.#headers = new Headers(init.headers);
				}
				if (init.redirect !== undefined) {
					const r = `${init.redirect}`;
					if (!redirects.includes(r)) {
						throw new TE(`Request: redirect must be "follow", "manual" or "error", not ${JSONp.stringify(r)}`);
					}
					this.#redirect = r;
				}
				if (init.body !== undefined) {
					body = toBody(init.body);
				}
				if (body !== null && (this.#method === 'GET' || this.#method === 'HEAD')) {
					throw new TE(`Request: a ${this.#method} request cannot have a body`);
				}
				if (typeof body === 'string' && !this.#headers.has('content-type')) {
					this.#headers.set('content-type', 'text/plain;charset=UTF-8');
				}
				initBody(this, body);
			}
			get method() { return this.#method; }
			get url() { return this.#url; }
			get headers() { return this.#headers; }
			get redirect() { return this.#redirect; }
			get [Symbol.toStringTag]() { return 'Request'; }
			clone() {
				if (this.bodyUsed || typeof rawBody(this) === 'number') {
					throw new TE('Request.clone: body already used');
				}
				return new Request(this);
			}
		}

		const framing = ['connection', 'content-encoding', 'content-length', 'keep-alive', 'transfer-encoding'];
		let upstream = null; // set by fromUpstream around one construction

		class Response extends Body {
			#status; #statusText; #headers; #url = ''; #redirected = false;
			constructor(body, init) {
				super();
				init = init === undefined || init === null ? {} : init;
				const status = init.status === undefined ? 200 : +init.status;
				if (!(status >= 200 && status <= 599 && status === (status | 0))) {
					throw new g.RangeError(`Response: status must be an integer from 200 to 599, not ${init.status}`);
				}
				this.#status = status;
				this.#statusText = init.statusText === undefined ? '' : `${init.statusText}`;
				this.#headers = new Headers(init.headers);
				let b = toBody(body);
				if (b !== null && (status === 204 || status === 205 || status === 304)) {
					throw new TE(`Response: a ${status} response cannot have a body`);
				}
				if (typeof b === 'string' && !this.#headers.has('content-type')) {
					this.#headers.set('content-type', 'text/plain;charset=UTF-8');
				}
				if (upstream !== null) {
					const u = upstream;
					upstream = null;
					this.#status = u.status;
					this.#statusText = u.statusText;
					this.#headers = upstreamHeaders(u.headers);
					this.#url = u.url;
					this.#redirected = u.redirected;
					b = u.body;
				}
				initBody(this, b);
			}
			get status() { return this.#status; }
			get statusText() { return this.#statusText; }
			get ok() { return this.#status >= 200 && this.#status <= 299; }
			get headers() { return this.#headers; }
			get url() { return this.#url; }
			get redirected() { return this.#redirected; }
			get type() { return this.#url === '' ? 'default' : 'basic'; }
			get [Symbol.toStringTag]() { return 'Response'; }
			clone() {
				if (this.bodyUsed || typeof rawBody(this) === 'number') {
					throw new TE('Response.clone: the body of a fetched response can be read once');
				}
				const r = new Response(null, { statusText: this.#statusText, headers: this.#headers });
				initBody(r, rawBody(this));
				r.#status = this.#status;
				r.#url = this.#url;
				r.#redirected = this.#redirected;
				return r;
			}
			static json(data, init) {
				const text = JSONp.stringify(data);
				if (text === undefined) {
					throw new TE('Response.json: the data cannot be serialised');
				}
				init = init === undefined || init === null ? {} : init;
				const headers = new Headers(init.headers);
				if (!headers.has('content-type')) {
					headers.set('content-type', 'application/json');
				}
				return new Response(text, { status: init.status, statusText: init.statusText, headers });
			}
			static redirect(url, status = 302) {
				if (![301, 302, 303, 307, 308].includes(status)) {
					throw new g.RangeError(`Response.redirect: invalid status ${status}`);
				}
				return new Response(null, { status, headers: { location: n.url(`${url}`) } });
			}
			// The result a Response returned by handle gives the node:
			// status, headers (without those that describe the upstream's
			// framing) and the body: a string, or bytes (an ArrayBuffer, or
			// the handle of a fetched body) that Go sends as they are.
			static result(r) {
				const headers = O.create(null);
				const pairs = headerPairs(r.#headers);
				for (let i = 0; i < pairs.length; i++) {
					const k = pairs[i][0];
					if (!framing.includes(k)) {
						(headers[k] = headers[k] || []).push(pairs[i][1]);
					}
				}
				const b = rawBody(r);
				if (typeof b === 'number') {
					return { status: r.#status, headers, upstream: b }; // Go reads it as bytes
				}
				if (b !== null && typeof b !== 'string') {
					return { status: r.#status, headers, bytes: b };
				}
				return { status: r.#status, headers, body: b === null ? '' : b };
			}
		}
		const result = Response.result;
		delete Response.result;

		function fromUpstream(u) {
			upstream = u;
			return new Response(null);
		}

		// Not async: a plain promise chain costs goja far less.
		function fetch(input, init) {
			let req;
			try {
				req = new Request(input, init);
			} catch (e) {
				return g.Promise.reject(e);
			}
			const body = rawBody(req);
			if (typeof body === 'number') {
				return g.Promise.reject(new TE('fetch: the body of a fetched response cannot be sent again'));
			}
			return n.fetch(req.url, req.method, headerPairs(req.headers), body, req.redirect).then(fromUpstream);
		}

		const hidden = { writable: true, configurable: true, enumerable: false };
		O.defineProperty(g, 'Headers', { value: Headers, ...hidden });
		O.defineProperty(g, 'Request', { value: Request, ...hidden });
		O.defineProperty(g, 'Response', { value: Response, ...hidden });
		O.defineProperty(g, 'fetch', { value: fetch, ...hidden });
		return (v) => (v instanceof Response ? result(v) : v);
	};
})();
