package executor_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/picloud/picloud/node/egress"
	"github.com/picloud/picloud/node/executor"
	"github.com/picloud/picloud/shared"
)

// fetchUpstream is a loopback server with the routes the fetch tests use.
type fetchUpstream struct {
	*httptest.Server
	hits     atomic.Int64
	inFlight atomic.Int64
	peak     atomic.Int64
	release  chan struct{}
}

func startFetchUpstream(t *testing.T, addr string) *fetchUpstream {
	t.Helper()
	u := &fetchUpstream{release: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Upstream", "yes")
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		fmt.Fprintf(w, "hello %s %s %s", r.Method, r.Header.Get("X-Test"), mustRead(r.Body))
	})
	mux.HandleFunc("/bin", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(binaryBody)
	})
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"temp": 21.5, "unit": "C"}`)
	})
	mux.HandleFunc("/redirect/{n}", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscan(r.PathValue("n"), &n)
		if n == 0 {
			fmt.Fprintf(w, "landed %s %s", r.Method, mustRead(r.Body))
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/redirect/%d", n-1), http.StatusSeeOther)
	})
	mux.HandleFunc("/to", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("url"), http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		chunk := strings.Repeat("x", 64<<10)
		for i := 0; i < 1<<14; i++ { // 1 GiB unless the reader stops first
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/size/{n}", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscan(r.PathValue("n"), &n)
		io.WriteString(w, strings.Repeat("y", n))
	})
	mux.HandleFunc("/drip", func(w http.ResponseWriter, r *http.Request) {
		for {
			if _, err := io.WriteString(w, "."); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-time.After(20 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		n := u.inFlight.Add(1)
		defer u.inFlight.Add(-1)
		for p := u.peak.Load(); n > p && !u.peak.CompareAndSwap(p, n); p = u.peak.Load() {
		}
		select {
		case <-u.release:
			io.WriteString(w, "released")
		case <-r.Context().Done():
		}
	})
	u.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		mux.ServeHTTP(w, r)
	}))
	if addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Skipf("listen %s: %v", addr, err)
		}
		u.Listener.Close()
		u.Listener = ln
	}
	u.Start()
	t.Cleanup(func() {
		select {
		case <-u.release:
		default:
			close(u.release)
		}
		u.Close()
	})
	return u
}

// binaryBody is every byte value, not valid UTF-8.
var binaryBody = func() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}()

func mustRead(r io.Reader) string {
	b, _ := io.ReadAll(r)
	return string(b)
}

func fetchBindings(t *testing.T, allow ...string) *executor.Bindings {
	t.Helper()
	f, err := egress.New(egress.Config{}).App(1, allow)
	if err != nil {
		t.Fatal(err)
	}
	return &executor.Bindings{Fetch: f}
}

func runFetch(t *testing.T, e *executor.Executor, src string, l shared.Limits, b *executor.Bindings) *executor.Result {
	t.Helper()
	p, err := e.Compile(0, 0, src, l)
	if err != nil {
		t.Fatal(err)
	}
	return e.Run(context.Background(), executor.Invocation{Program: p, Limits: l, Bindings: b})
}

func TestFetch(t *testing.T) {
	up := startFetchUpstream(t, "")
	other := startFetchUpstream(t, "127.0.0.2:0")
	e := executor.New(executor.Options{})
	b := fetchBindings(t, "127.0.0.1")
	l := shared.DefaultLimits()
	l.TimeoutMS = 3000
	src := func(body string) string {
		return fmt.Sprintf("const U = %q, OTHER = %q;\nasync function handle(req) {\n%s\n}", up.URL, other.URL, body)
	}
	for _, tc := range []struct{ name, body, want string }{
		{"text and status", `const r = await fetch(U + "/hello"); return [r.status, r.ok, r.statusText, await r.text()].join("|")`,
			"200|true|OK|hello GET  "},
		{"method, headers and body", `const r = await fetch(U + "/hello", {method: "post", headers: {"X-Test": "t1"}, body: "data"}); return r.text()`,
			"hello POST t1 data"},
		{"typed array body", `const r = await fetch(U + "/hello", {method: "POST", body: new Uint8Array([104, 105])}); return r.text()`,
			"hello POST  hi"},
		{"request object", `const q = new Request(U + "/hello", {method: "PUT", headers: [["x-test", "t2"]], body: "b"}); return (await fetch(q)).text()`,
			"hello PUT t2 b"},
		{"json", `const r = await fetch(U + "/json"); const j = await r.json(); return j.temp + j.unit + " " + r.headers.get("content-type")`,
			"21.5C application/json"},
		{"response headers", `const r = await fetch(U + "/hello"); const seen = []; r.headers.forEach((v, k) => seen.push(k));
			return [r.headers.get("x-upstream"), r.headers.has("X-UPSTREAM"), r.headers.get("set-cookie"), seen.includes("x-upstream"), [...r.headers].length > 2].join("|")`,
			"yes|true|a=1, b=2|true|true"},
		{"array buffer", `const r = await fetch(U + "/size/5"); const b = await r.arrayBuffer(); return b.byteLength + " " + Object.prototype.toString.call(b)`,
			"5 [object ArrayBuffer]"},
		{"body read once", `const r = await fetch(U + "/hello"); await r.text(); try { await r.text() } catch (e) { return e.name + " " + r.bodyUsed }`,
			"TypeError true"},
		{"redirects followed", `const r = await fetch(U + "/redirect/3", {method: "POST", body: "x"}); return [r.redirected, r.url.endsWith("/redirect/0"), await r.text()].join("|")`,
			"true|true|landed GET "},
		{"redirect manual", `const r = await fetch(U + "/redirect/1", {redirect: "manual"}); return r.status + " " + r.headers.get("location")`,
			"303 /redirect/0"},
		{"redirect error", `try { await fetch(U + "/redirect/1", {redirect: "error"}) } catch (e) { return e.name }`, "TypeError"},
		{"endless redirects", `try { await fetch(U + "/loop") } catch (e) { return e.name + " " + e.message.includes("more than 5 redirects") }`,
			"TypeError true"},
		{"unlisted host refused", `try { await fetch(OTHER + "/hello") } catch (e) { return e.name + ": " + e.message + " " + (e instanceof TypeError) }`,
			"TypeError: egress not allowed: 127.0.0.2 true"},
		{"redirect to an unlisted host refused", `try { await fetch(U + "/to?url=" + encodeURIComponent(OTHER + "/hello")) } catch (e) { return e.message }`,
			"egress not allowed: 127.0.0.2"},
		{"other schemes refused", `try { await fetch("file:///etc/passwd") } catch (e) { return e.name }`, "TypeError"},
		{"invalid url", `try { await fetch("not a url") } catch (e) { return e.name }`, "TypeError"},
		{"response constructor", `const r = new Response("hi", {status: 201, headers: {"x-a": "1"}}); return [r.status, r.ok, r.headers.get("x-a"), r.headers.get("content-type"), await r.text()].join("|")`,
			"201|true|1|text/plain;charset=UTF-8|hi"},
		{"response json", `const r = Response.json({a: 1}); return r.headers.get("content-type") + " " + JSON.stringify(await r.json())`,
			`application/json {"a":1}`},
		{"response json with headers", `const r = Response.json("x", {headers: {"x-a": "1"}, status: 201}); return [r.status, r.headers.get("content-type"), r.headers.get("x-a")].join()`,
			"201,application/json,1"},
		{"response json keeps a content type", `return Response.json(1, {headers: {"content-type": "foo/bar"}}).headers.get("content-type")`, "foo/bar"},
		{"response redirect length", `return String(Response.redirect.length)`, "1"},
		{"null-body status with a body", `try { new Response("x", {status: 205}) } catch (e) { return e.name }`, "TypeError"},
		{"headers class", `const h = new Headers({"A": "1"}); h.append("a", "2"); h.set("B", "3"); h.delete("c"); return [...h.entries()].map(e => e.join("=")).join("&")`,
			"a=1, 2&b=3"},
		{"headers iterate live", `const h = new Headers({b: "1", a: "2"}); const seen = []; for (const [k] of h) { seen.push(k); if (k === "a") h.append("c", "3") } return seen.join()`,
			"a,b,c"},
		{"headers iterator shape", `const it = new Headers().keys(); const ip = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));
			return [Object.getPrototypeOf(Object.getPrototypeOf(it)) === ip, Object.getOwnPropertyDescriptor(Object.getPrototypeOf(it), "next").enumerable].join()`,
			"true,true"},
		{"headers from null", `try { new Headers(null) } catch (e) { return e.name }`, "TypeError"},
		{"header value beyond latin-1", `try { new Headers({a: "\u0100"}) } catch (e) { return e.name }`, "TypeError"},
		{"bad header name", `try { new Headers({"bad name": "x"}) } catch (e) { return e.name }`, "TypeError"},
		{"fetched headers are immutable", `const r = await fetch(U + "/hello"); try { r.headers.set("a", "b") } catch (e) { return e.name }`, "TypeError"},
		{"globals are frozen", `try { Response.prototype.text = null } catch (e) {} return String(typeof Response.prototype.text)`, "function"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runFetch(t, e, src(tc.body), l, b)
			if res.Err != nil {
				t.Fatalf("run failed: %v", res.Err)
			}
			if got := string(res.Body); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	if other.hits.Load() != 0 {
		t.Errorf("the unlisted upstream got %d requests", other.hits.Load())
	}
}

// handle may return what fetch resolved with: the node sends the
// upstream's status, headers and body, as a proxy would.
func TestFetchResponseReturned(t *testing.T) {
	up := startFetchUpstream(t, "")
	e := executor.New(executor.Options{})
	res := runFetch(t, e, fmt.Sprintf(`function handle(req) { return fetch(%q) }`, up.URL+"/hello"), shared.DefaultLimits(), fetchBindings(t, "127.0.0.1"))
	if res.Err != nil || res.Status != 200 || string(res.Body) != "hello GET  " || res.Header.Get("X-Upstream") != "yes" ||
		len(res.Header.Values("Set-Cookie")) != 2 || res.Header.Get("Content-Length") != "" {
		t.Fatalf("got %d %q %v, %v", res.Status, res.Body, res.Header, res.Err)
	}
	res = runFetch(t, e, `function handle(req) { return new Response("made", {status: 202, headers: {"x-made": "1"}}) }`, shared.DefaultLimits(), nil)
	if res.Err != nil || res.Status != 202 || string(res.Body) != "made" || res.Header.Get("X-Made") != "1" {
		t.Fatalf("got %d %q %v, %v", res.Status, res.Body, res.Header, res.Err)
	}
	if res.Subrequests != 0 {
		t.Errorf("Subrequests = %d without a fetch", res.Subrequests)
	}
	// Bytes pass through as they are: a proxied image is not decoded as text.
	res = runFetch(t, e, fmt.Sprintf(`function handle(req) { return fetch(%q) }`, up.URL+"/bin"), shared.DefaultLimits(), fetchBindings(t, "127.0.0.1"))
	if res.Err != nil || !bytes.Equal(res.Body, binaryBody) || res.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("proxied bytes: %d bytes %v, %v", len(res.Body), res.Header, res.Err)
	}
	res = runFetch(t, e, `function handle(req) { return new Response(new Uint8Array([0, 255, 128]), {headers: {"content-type": "application/octet-stream"}}) }`, shared.DefaultLimits(), nil)
	if res.Err != nil || !bytes.Equal(res.Body, []byte{0, 255, 128}) {
		t.Fatalf("made bytes: %v, %v", res.Body, res.Err)
	}
	res = runFetch(t, e, fmt.Sprintf(`async function handle(req) { const r = await fetch(%q); await r.text(); return r }`, up.URL+"/hello"), shared.DefaultLimits(), fetchBindings(t, "127.0.0.1"))
	if res.Err == nil {
		t.Fatalf("a Response whose body was read was sent: %q", res.Body)
	}
	res = runFetch(t, e, `function handle(req) { return Response.redirect("https://Example.com/a", 301) }`, shared.DefaultLimits(), nil)
	if res.Err != nil || res.Status != 301 || res.Header.Get("Location") != "https://example.com/a" {
		t.Fatalf("redirect: got %d %v, %v", res.Status, res.Header, res.Err)
	}
}

func TestFetchWithoutEgressIsRefused(t *testing.T) {
	up := startFetchUpstream(t, "")
	e := executor.New(executor.Options{})
	src := fmt.Sprintf(`async function handle(req) { try { await fetch(%q) } catch (e) { return e.message } }`, up.URL+"/hello")
	for name, b := range map[string]*executor.Bindings{"no bindings": nil, "no fetcher": {}, "empty allowlist": fetchBindings(t)} {
		t.Run(name, func(t *testing.T) {
			res := runFetch(t, e, src, shared.DefaultLimits(), b)
			if res.Err != nil || string(res.Body) != "egress not allowed: 127.0.0.1" {
				t.Fatalf("got %q, %v", res.Body, res.Err)
			}
		})
	}
	if up.hits.Load() != 0 {
		t.Fatal("a refused fetch reached the upstream")
	}
}

// The attack cases of SPEC §10: each is stopped as the contract says, and
// the executor runs the next script normally.
func TestFetchLimits(t *testing.T) {
	up := startFetchUpstream(t, "")
	e := executor.New(executor.Options{})
	b := fetchBindings(t, "127.0.0.1")
	l := shared.DefaultLimits()
	l.TimeoutMS = 1000
	for _, tc := range []struct {
		name, body, want, knob string
	}{
		{"fetch flood", `for (let i = 0; i < 100; i++) { try { await fetch(U + "/hello") } catch (e) {} } return "not here"`, "", executor.KnobMaxSubrequests},
		{"50 fetches are fine", `let n = 0; for (let i = 0; i < 50; i++) { await (await fetch(U + "/hello")).text(); n++ } return String(n)`, "50", ""},
		{"never-answering upstream", `await fetch(U + "/hang"); return "not here"`, "", shared.KnobTimeoutMS},
		{"1 GiB response", `const r = await fetch(U + "/big"); try { await r.text() } catch (e) { return e.name + " " + e.message }`, "RangeError response body over 10 MiB", ""},
		{"slow-drip body", `const r = await fetch(U + "/drip"); await r.text(); return "not here"`, "", shared.KnobTimeoutMS},
		{"body over max_string_size", `const r = await fetch(U + "/size/2000"); try { await r.text() } catch (e) {} return "not here"`, "", shared.KnobMaxStringSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := fmt.Sprintf("const U = %q;\nasync function handle(req) {\n%s\n}", up.URL, tc.body)
			lim := l
			if tc.knob == shared.KnobMaxStringSize {
				lim.MaxStringSize = 1000
			}
			start := time.Now()
			res := runFetch(t, e, src, lim, b)
			if tc.knob != "" {
				var le *executor.LimitError
				if !errors.As(res.Err, &le) || le.Knob != tc.knob {
					t.Fatalf("got %q, %v; want limit %s", res.Body, res.Err, tc.knob)
				}
			} else if res.Err != nil || string(res.Body) != tc.want {
				t.Fatalf("got %q, %v; want %q", res.Body, res.Err, tc.want)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
			if ok := runFetch(t, e, `function handle() { return "ok" }`, l, nil); string(ok.Body) != "ok" {
				t.Fatalf("the next run: %q, %v", ok.Body, ok.Err)
			}
		})
	}
}

// At most 6 of a run's fetches are in flight at once; the others wait
// their turn and all complete.
func TestFetchConcurrencyPerRun(t *testing.T) {
	up := startFetchUpstream(t, "")
	e := executor.New(executor.Options{})
	l := shared.DefaultLimits()
	l.TimeoutMS = 10000
	src := fmt.Sprintf(`async function handle(req) {
		const all = await Promise.all(Array.from({length: 20}, () => fetch(%q).then(r => r.text())))
		return all.length + " " + all[19] }`, up.URL+"/hang")
	done := make(chan *executor.Result, 1)
	go func() { done <- runFetch(t, e, src, l, fetchBindings(t, "127.0.0.1")) }()
	deadline := time.Now().Add(5 * time.Second)
	for up.inFlight.Load() < 6 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // would more start?
	close(up.release)
	res := <-done
	if res.Err != nil || string(res.Body) != "20 released" {
		t.Fatalf("got %q, %v", res.Body, res.Err)
	}
	if p := up.peak.Load(); p != 6 {
		t.Fatalf("%d fetches were in flight at once, want 6", p)
	}
	if res.Subrequests != 20 {
		t.Errorf("Subrequests = %d, want 20", res.Subrequests)
	}
}
