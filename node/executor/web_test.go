package executor

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/picloud/picloud/shared"
)

// webEval runs body as the inside of an async handle and returns what it
// returns, as a string.
func webEval(t *testing.T, e *Executor, body string, l shared.Limits) string {
	t.Helper()
	res := run(t, e, "async function handle(req) {\n"+body+"\n}", l, &Request{Method: "GET", Path: "/"})
	if res.Err != nil {
		t.Fatalf("%v\noutput: %s", res.Err, res.Output)
	}
	return string(res.Body)
}

// Each case is what a browser or Workers answers for the same code (MDN's
// examples and the specs' notes).
func TestWebGlobals(t *testing.T) {
	cases := []struct{ name, body, want string }{
		// URL
		{"url parts", `const u = new URL("HTTPS://user:pw@Example.COM:443/a/./b/../c?x=1#h");
			return [u.href, u.protocol, u.username, u.password, u.host, u.hostname, u.port, u.pathname, u.search, u.hash, u.origin].join(" ")`,
			"https://user:pw@example.com/a/c?x=1#h https: user pw example.com example.com  /a/c ?x=1 #h https://example.com"},
		{"url relative to a base", `return new URL("../d?q", "http://h/a/b/c").href`, "http://h/a/d?q"},
		{"url invalid throws TypeError", `try { new URL("not a url") } catch (e) { return e.constructor.name + " " + (e instanceof TypeError) }`, "TypeError true"},
		{"url canParse and parse", `return [URL.canParse("http://x"), URL.canParse("x"), URL.parse("x"), URL.parse("/p", "http://h").href].join(" ")`, "true false  http://h/p"},
		{"url setters", `const u = new URL("http://h/p"); u.protocol = "https"; u.port = "8443"; u.pathname = "a b"; u.hash = "x"; u.username = "me";
			return u.href`, "https://me@h:8443/a%20b#x"},
		{"url host setter punycode", `const u = new URL("http://h/"); u.hostname = "bücher.example"; return u.host`, "xn--bcher-kva.example"},
		{"url href setter refuses", `const u = new URL("http://h/"); try { u.href = "::" } catch (e) { return e.name + " " + u.href }`, "TypeError http://h/"},
		{"url is a string in JSON and concatenation", `const u = new URL("http://h/x"); return JSON.stringify({u}) + " " + u`, `{"u":"http://h/x"} http://h/x`},
		{"url toStringTag and brand", `try { URL.prototype.toString.call({}) } catch (e) { return Object.prototype.toString.call(new URL("http://h")) + " " + e.name }`, "[object URL] TypeError"},
		{"url searchParams is live both ways", `const u = new URL("http://h/?a=1&b=2"); const p = u.searchParams;
			p.append("c", "x y"); const one = u.search; u.search = "?z=9"; return [one, p.get("z"), p === u.searchParams, p.get("a")].join(" ")`,
			"?a=1&b=2&c=x+y 9 true "},
		{"url searchParams emptied drops the ?", `const u = new URL("http://h/p?a=1#f"); u.searchParams.delete("a"); return u.href`, "http://h/p#f"},
		{"url arguments", `try { new URL() } catch (e) { return e.name }`, "TypeError"},
		// URLSearchParams
		{"params from string", `const p = new URLSearchParams("?a=1&b=x%20y&a=2&c"); return [p.get("a"), p.getAll("a").join(), p.get("b"), p.get("c"), String(p.get("zz")), p.has("a"), p.has("a", "2"), p.size].join("|")`,
			"1|1,2|x y||null|true|true|4"},
		{"params from record and pairs", `return [new URLSearchParams({a: 1, b: [2, 3]}), new URLSearchParams([["x", "1"], ["y", "2"]]), new URLSearchParams(new Map([["m", "n"]]))].join(" ")`,
			"a=1&b=2%2C3 x=1&y=2 m=n"},
		{"params bad pairs", `try { new URLSearchParams([["a"]]) } catch (e) { return e.name }`, "TypeError"},
		{"params set, delete, sort", `const p = new URLSearchParams("b=1&a=2&b=3&c=4"); p.set("b", "9"); p.delete("c"); p.append("a", "0"); p.sort(); return p.toString()`,
			"a=2&a=0&b=9"},
		{"params delete by value", `const p = new URLSearchParams("a=1&a=2"); p.delete("a", "1"); return p.toString()`, "a=2"},
		{"params iterate", `const p = new URLSearchParams("a=1&b=2"); const out = []; p.forEach((v, k) => out.push(k + v));
			return [out.join(), [...p.keys()].join(), [...p.values()].join(), [...p.entries()].map(e => e.join(":")).join(), Object.prototype.toString.call(p)].join(" ")`,
			"a1,b2 a,b 1,2 a:1,b:2 [object URLSearchParams]"},
		{"params serialise like browsers", `return new URLSearchParams({q: "a b&c=d/é*~'!"}).toString()`, "q=a+b%26c%3Dd%2F%C3%A9*%7E%27%21"},
		// TextEncoder / TextDecoder
		{"encode", `return [...new TextEncoder().encode("é€😀")].join(",") + " " + new TextEncoder().encoding`, "195,169,226,130,172,240,159,152,128 utf-8"},
		{"encode lone surrogate", `return [...new TextEncoder().encode("\uD800")].join(",")`, "239,191,189"},
		{"encode returns a Uint8Array", `return Object.prototype.toString.call(new TextEncoder().encode("x"))`, "[object Uint8Array]"},
		{"encodeInto", `const d = new Uint8Array(5); const r = new TextEncoder().encodeInto("a€😀", d); return r.read + " " + r.written + " " + d.join()`, "2 4 97,226,130,172,0"},
		{"decode", `return new TextDecoder().decode(new Uint8Array([0xEF, 0xBB, 0xBF, 104, 0xC3, 0xA9]))`, "hé"},
		{"decode keeps BOM when asked", `return new TextDecoder("utf-8", {ignoreBOM: true}).decode(new Uint8Array([0xEF, 0xBB, 0xBF, 104])).length`, "2"},
		{"decode replaces", `return escape(new TextDecoder().decode(new Uint8Array([0x61, 0xFF, 0xE2, 0x82, 0x62])))`, "a%uFFFD%uFFFDb"},
		{"decode fatal", `try { new TextDecoder("utf-8", {fatal: true}).decode(new Uint8Array([0xFF])) } catch (e) { return e.name }`, "TypeError"},
		{"decode stream", `const d = new TextDecoder(); return d.decode(new Uint8Array([0xE2, 0x82]), {stream: true}) + "|" + d.decode(new Uint8Array([0xAC]))`, "|€"},
		{"decode views and buffers", `const b = new Uint8Array([0, 104, 105, 0]); return new TextDecoder().decode(b.subarray(1, 3)) + new TextDecoder().decode(new DataView(b.buffer, 1, 1)) + new TextDecoder().decode(b.buffer).length`, "hih4"},
		{"decoder labels", `try { new TextDecoder("latin1") } catch (e) { return new TextDecoder(" UTF8 ").encoding + " " + e.name }`, "utf-8 RangeError"},
		// atob / btoa
		{"btoa atob", `return btoa("hello\u00ff") + " " + atob("aGVs bG/\n/") + " " + atob(" aGk= ") + " " + atob("aGk")`, "aGVsbG// hello\u00ff hi hi"},
		{"btoa outside Latin-1", `try { btoa("€") } catch (e) { return [e.name, e.code, e instanceof DOMException, e instanceof Error, String(e)].join(" ") }`,
			"InvalidCharacterError 5 true true InvalidCharacterError: Failed to execute 'btoa': the string to be encoded contains characters outside of the Latin1 range"},
		{"atob invalid", `const bad = []; for (const s of ["a", "a===", "ab=c", "a!bc"]) { try { atob(s) } catch (e) { bad.push(e.name) } } return bad.join()`,
			"InvalidCharacterError,InvalidCharacterError,InvalidCharacterError,InvalidCharacterError"},
		// structuredClone
		{"clone values", `const d = new Date(5); const src = {n: 1, s: "x", a: [1, , 3], d, r: /a+/gi, m: new Map([[{k: 1}, "v"]]), st: new Set([1]), b: new Uint8Array([1, 2]).subarray(1), big: new Number(3), e: new RangeError("bad")};
			const c = structuredClone(src);
			return [c.n, c.s, c.a.length, 1 in c.a, c.d.getTime(), c.d !== d, c.r.source + c.r.flags, [...c.m.keys()][0].k, c.st.has(1), c.b[0], c.b.byteOffset, +c.big, c.e.name, c.e.message, c.e instanceof RangeError].join(" ")`,
			"1 x 3 false 5 true a+gi 1 true 2 1 3 RangeError bad true"},
		{"clone keeps cycles and sharing", `const o = {}; o.self = o; const shared = [1]; o.x = shared; o.y = shared; const c = structuredClone(o); return [c.self === c, c.x === c.y, c.x !== shared].join()`, "true,true,true"},
		{"clone drops prototypes", `class P { constructor() { this.v = 1 } get g() { return 2 } } const c = structuredClone(new P()); return [c.v, c.g, Object.getPrototypeOf(c) === Object.prototype].join()`, "1,,true"},
		{"clone refuses functions and symbols", `const out = []; for (const v of [() => 1, Symbol("s"), {f() {}}, new URL("http://h"), new WeakMap()]) { try { structuredClone(v); out.push("cloned") } catch (e) { out.push(e.name) } } return out.join()`,
			"DataCloneError,DataCloneError,DataCloneError,DataCloneError,DataCloneError"},
		{"clone of primitives", `return [structuredClone(1), structuredClone("s"), structuredClone(null), structuredClone(undefined), structuredClone(true)].join()`, "1,s,,,true"},
		// crypto
		{"randomUUID", `const u = crypto.randomUUID(); return /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(u) + " " + (u !== crypto.randomUUID())`, "true true"},
		{"getRandomValues", `const a = new Uint32Array(16); const r = crypto.getRandomValues(a); return (r === a) + " " + a.some(x => x !== 0)`, "true true"},
		{"getRandomValues limits", `const out = []; for (const a of [new Uint8Array(65537), new Float64Array(1), [1, 2]]) { try { crypto.getRandomValues(a) } catch (e) { out.push(e.name + ":" + e.code) } } crypto.getRandomValues(new Uint8Array(65536)); return out.join()`,
			"QuotaExceededError:22,TypeMismatchError:17,TypeMismatchError:17"},
		{"digest shape", `const p = crypto.subtle.digest({name: "sha-1"}, new TextEncoder().encode("abc")); const d = await p;
			return [p instanceof Promise, Object.prototype.toString.call(d), d.byteLength].join(" ")`, "true [object ArrayBuffer] 20"},
		{"digest rejects", `const out = []; for (const [a, d] of [["MD5", new Uint8Array(1)], ["SHA-256", "text"]]) { try { await crypto.subtle.digest(a, d) } catch (e) { out.push(e.name) } } return out.join()`,
			"NotSupportedError,TypeError"},
		{"hmac key shape", `const k = await crypto.subtle.importKey("raw", new Uint8Array([1, 2, 3]), {name: "HMAC", hash: {name: "SHA-512"}}, true, ["sign"]);
			const raw = await crypto.subtle.exportKey("raw", k);
			return [k.type, k.extractable, k.algorithm.name, k.algorithm.hash.name, k.algorithm.length, k.usages.join(), raw.byteLength, k instanceof CryptoKey].join(" ")`,
			"secret true HMAC SHA-512 24 sign 3 true"},
		{"hmac misuse rejects", `const k = await crypto.subtle.importKey("raw", new Uint8Array([1]), {name: "HMAC", hash: "SHA-256"}, false, ["verify"]); const out = [];
			for (const f of [() => crypto.subtle.sign("HMAC", k, new Uint8Array(1)), () => crypto.subtle.exportKey("raw", k),
				() => crypto.subtle.importKey("raw", new Uint8Array(1), {name: "HMAC", hash: "SHA-256"}, false, ["encrypt"]),
				() => crypto.subtle.importKey("raw", new Uint8Array(0), {name: "HMAC", hash: "SHA-256"}, false, ["sign"]),
				() => crypto.subtle.importKey("jwk", {}, {name: "HMAC", hash: "SHA-256"}, false, ["sign"])]) {
				try { await f(); out.push("ok") } catch (e) { out.push(e.name) } }
			return out.join()`, "InvalidAccessError,InvalidAccessError,SyntaxError,DataError,NotSupportedError"},
		{"verify a Stripe-style webhook", `const enc = new TextEncoder(); const secret = "whsec_test", payload = '{"id":"evt_1"}', t = "1700000000";
			const key = await crypto.subtle.importKey("raw", enc.encode(secret), {name: "HMAC", hash: "SHA-256"}, false, ["sign", "verify"]);
			const mac = await crypto.subtle.sign("HMAC", key, enc.encode(t + "." + payload));
			const hex = [...new Uint8Array(mac)].map(b => b.toString(16).padStart(2, "0")).join("");
			const bytes = new Uint8Array(hex.match(/../g).map(h => parseInt(h, 16)));
			const ok = await crypto.subtle.verify("HMAC", key, bytes, enc.encode(t + "." + payload));
			bytes[0] ^= 1;
			const bad = await crypto.subtle.verify("HMAC", key, bytes, enc.encode(t + "." + payload));
			return [ok, bad, await crypto.subtle.verify("HMAC", key, bytes.subarray(0, 4), enc.encode(payload))].join()`, "true,false,false"},
		{"timingSafeEqual (Workers)", `const e = new TextEncoder(); const out = [crypto.subtle.timingSafeEqual(e.encode("abc"), e.encode("abc")), crypto.subtle.timingSafeEqual(e.encode("abc"), e.encode("abd")).toString()];
			try { crypto.subtle.timingSafeEqual(e.encode("a"), e.encode("ab")) } catch (err) { out.push(err.name) } return out.join()`, "true,false,TypeError"},
		{"crypto shapes", `return [Object.prototype.toString.call(crypto), Object.prototype.toString.call(crypto.subtle), crypto.subtle instanceof SubtleCrypto, typeof Crypto].join(" ")`,
			"[object Crypto] [object SubtleCrypto] true function"},
		{"illegal constructors", `const out = []; for (const C of [Crypto, SubtleCrypto, CryptoKey]) { try { new C() } catch (e) { out.push(e.name) } } return out.join()`, "TypeError,TypeError,TypeError"},
		// DOMException
		{"DOMException", `const e = new DOMException("m", "DataCloneError"); return [e.name, e.message, e.code, e instanceof Error, Object.prototype.toString.call(e), new DOMException().name].join(" ")`,
			"DataCloneError m 25 true [object DOMException] Error"},
		// globals are frozen like every other
		{"globals are frozen", `"use strict"; const out = []; for (const f of [() => { URL.prototype.toString = () => "x" }, () => { crypto.randomUUID = () => "x" }, () => { globalThis.atob = null }]) { try { f(); out.push("changed") } catch (e) { out.push(e.name) } } return out.join()`,
			"TypeError,TypeError,TypeError"},
	}
	e := New(Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := webEval(t, e, tc.body, shared.DefaultLimits()); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// RFC 4231 (HMAC-SHA-256/384/512, test cases 1-4, 6, 7), FIPS 180-4's
// examples (SHA-1, SHA-256, SHA-384, SHA-512) and RFC 4648 §10 (base64),
// through crypto.subtle and btoa/atob in the sandbox.
func TestWebVectors(t *testing.T) {
	rep := func(b byte, n int) string { return strings.Repeat(string(rune(b)), n) }
	seq := func(from, to byte) string {
		var s []rune
		for c := from; c <= to; c++ {
			s = append(s, rune(c))
		}
		return string(s)
	}
	type hmacCase struct {
		Key, Data              string // bytes as code points 0-255
		SHA256, SHA384, SHA512 string
	}
	hmacs := []hmacCase{
		{rep(0x0b, 20), "Hi There",
			"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
			"afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
			"87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"},
		{"Jefe", "what do ya want for nothing?",
			"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
			"af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
			"164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
		{rep(0xaa, 20), rep(0xdd, 50),
			"773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
			"88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27",
			"fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb"},
		{seq(1, 25), rep(0xcd, 50),
			"82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
			"3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb",
			"b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd"},
		{rep(0xaa, 131), "Test Using Larger Than Block-Size Key - Hash Key First",
			"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
			"4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952",
			"80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"},
		{rep(0xaa, 131), "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
			"9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
			"6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e",
			"e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58"},
	}
	type digestCase struct{ Alg, Data, Hex string }
	const two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
	const long = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"
	const million = "a × 1,000,000" // made in the script: too large for a source
	digests := []digestCase{
		{"SHA-1", "abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
		{"SHA-1", two, "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
		{"SHA-1", million, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"},
		{"SHA-256", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"SHA-256", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"SHA-256", two, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
		{"SHA-256", million, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
		{"SHA-384", "abc", "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"},
		{"SHA-384", long, "09330c33f71147e83d192fc782cd1b4753111b173b3b05d22fa08086e3b0f712fcc7c71a557e2db966c3e9fa91746039"},
		{"SHA-512", "abc", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
		{"SHA-512", long, "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909"},
	}
	base64s := [][2]string{{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}}
	vectors, _ := json.Marshal(map[string]any{"hmac": hmacs, "digest": digests, "base64": base64s})
	body := `const v = ` + string(vectors) + `;
	const bytes = (s) => new Uint8Array(Array.from(s, (c) => c.charCodeAt(0))); // goja: TypedArray.from takes no strings
	const hex = (b) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, "0")).join("");
	const failed = [];
	for (const c of v.hmac) {
		for (const [alg, want] of [["SHA-256", c.SHA256], ["SHA-384", c.SHA384], ["SHA-512", c.SHA512]]) {
			const key = await crypto.subtle.importKey("raw", bytes(c.Key), {name: "HMAC", hash: alg}, false, ["sign", "verify"]);
			const got = hex(await crypto.subtle.sign("HMAC", key, bytes(c.Data)));
			if (got !== want) failed.push("HMAC-" + alg + " of " + JSON.stringify(c.Data.slice(0, 20)) + ": " + got);
			const wantBytes = new Uint8Array(want.match(/../g).map((h) => parseInt(h, 16)));
			if (!(await crypto.subtle.verify("HMAC", key, wantBytes, bytes(c.Data)))) failed.push("verify HMAC-" + alg);
		}
	}
	for (const c of v.digest) {
		const data = c.Data === "a × 1,000,000" ? "a".repeat(1e6) : c.Data;
		const got = hex(await crypto.subtle.digest(c.Alg, new TextEncoder().encode(data)));
		if (got !== c.Hex) failed.push(c.Alg + " of " + c.Data.length + " bytes: " + got);
	}
	for (const [plain, coded] of v.base64) {
		if (btoa(plain) !== coded) failed.push("btoa(" + plain + ") = " + btoa(plain));
		if (atob(coded) !== plain) failed.push("atob(" + coded + ") = " + atob(coded));
	}
	return failed.join("\n") || "all pass";`
	l := shared.DefaultLimits()
	l.MaxOperations, l.MaxArraySize, l.MaxStringSize = 1<<40, 1<<21, 1<<22
	if got := webEval(t, New(Options{}), body, l); got != "all pass" {
		t.Errorf("failed vectors:\n%s", got)
	}
}

// The examples of docs/scripts.md's Web APIs section, as written there.
func TestWebDocsExamples(t *testing.T) {
	const webhook = `async function handle(req, env) {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", enc.encode(env.GITHUB_WEBHOOK_SECRET),
    { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  const hex = (req.headers["x-hub-signature-256"] || "").replace(/^sha256=/, "");
  const sig = new Uint8Array((hex.match(/../g) || []).map((h) => parseInt(h, 16)));
  if (!(await crypto.subtle.verify("HMAC", key, sig, enc.encode(req.body)))) {
    return { status: 401, body: "bad signature" };
  }
  const event = req.json();
  console.log("push to", event.repository && event.repository.full_name);
  return "ok";
}`
	e := New(Options{})
	l := shared.DefaultLimits()
	p, err := e.Compile(0, 0, webhook, l)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"repository":{"full_name":"picloud/picloud"}}`)
	m := hmac.New(sha256.New, []byte("It's a Secret to Everybody"))
	m.Write(body)
	good := "sha256=" + hex.EncodeToString(m.Sum(nil))
	bindings := &Bindings{Vars: map[string]string{"GITHUB_WEBHOOK_SECRET": "It's a Secret to Everybody"}}
	for _, tc := range []struct {
		sig    string
		status int
	}{{good, 200}, {good[:len(good)-1] + "0", 401}, {"", 401}} {
		res := e.Run(context.Background(), Invocation{Program: p, Limits: l, Bindings: bindings, Request: &Request{
			Method: "POST", Path: "/", Body: body, Header: http.Header{"X-Hub-Signature-256": {tc.sig}},
		}})
		if res.Err != nil || res.Status != tc.status {
			t.Errorf("signature %q: %d %q %v", tc.sig, res.Status, res.Body, res.Err)
		}
		if tc.status == 200 && res.Output != "push to picloud/picloud\n" {
			t.Errorf("output %q", res.Output)
		}
	}

	res := run(t, e, `function handle(req) {
  const u = new URL(req.query.next || "/", "https://" + req.host);
  u.searchParams.set("from", "picloud");
  return { status: 302, headers: { location: u.href } };
}`, l, &Request{Method: "GET", Host: "pi.local", Path: "/", Query: url.Values{"next": {"/docs?page=2"}}})
	if res.Err != nil || res.Status != 302 || res.Header.Get("Location") != "https://pi.local/docs?page=2&from=picloud" {
		t.Errorf("redirect: %d %v %v", res.Status, res.Header, res.Err)
	}
}
