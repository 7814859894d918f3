package executor

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/dop251/goja"

	"github.com/picloud/picloud/shared"
)

// Limits of fetch (SPEC §10).
const (
	// MaxSubrequests is how many fetches one run may make; the next stops
	// it with KnobMaxSubrequests.
	MaxSubrequests = 50
	// maxFetchesInFlight is how many of a run's fetches wait on the
	// network at once; more wait their turn.
	maxFetchesInFlight = 6
	// MaxResponseBody is the largest response body a script can read.
	MaxResponseBody = 10 << 20
	// maxRedirects is how many redirects one fetch follows.
	maxRedirects = 5
)

// KnobMaxSubrequests names the per-run fetch cap in a LimitError. It is
// not a per-script knob: every run has the same cap.
const KnobMaxSubrequests = "max_subrequests"

//go:embed fetch.js
var fetchSource string

var fetchProgram = goja.MustCompile("fetch.js", fetchSource, true)

// fetchRun is a run's fetch state, made by its first fetch.
type fetchRun struct {
	made   int                     // fetches the script called
	sem    chan struct{}           // maxFetchesInFlight
	bodies map[int64]io.ReadCloser // unread upstream bodies, by handle
	next   int64                   // the next body handle
}

func (rs *runState) fetchState() *fetchRun {
	if rs.fetch == nil {
		rs.fetch = &fetchRun{sem: make(chan struct{}, maxFetchesInFlight), bodies: map[int64]io.ReadCloser{}}
	}
	return rs.fetch
}

// installFetch defines fetch, Headers, Request and Response on the global
// object, before the prelude freezes it, and keeps the function that turns
// a Response handle returned into a result.
func (sb *sandbox) installFetch() error {
	v, err := sb.rt.RunProgram(fetchProgram)
	if err != nil {
		return err
	}
	install, _ := goja.AssertFunction(v)
	n := sb.rt.NewObject()
	for name, fn := range map[string]func(goja.FunctionCall) goja.Value{
		"fetch":  sb.fetchNative,
		"read":   sb.readNative,
		"url":    sb.urlNative,
		"encode": sb.encodeNative,
		"decode": sb.decodeNative,
		"count":  sb.countNative,
	} {
		if err := n.Set(name, fn); err != nil {
			return err
		}
	}
	r, err := install(goja.Undefined(), sb.rt.GlobalObject(), n)
	if err != nil {
		return err
	}
	sb.responseResult, _ = goja.AssertFunction(r)
	sb.responseProto = sb.object("Response", "prototype")
	return nil
}

// rejected is a promise rejected with a new error of the named type.
func (sb *sandbox) rejected(ctor, msg string) goja.Value {
	p, _, reject := sb.rt.NewPromise()
	_ = reject(sb.newError(ctor, msg))
	return sb.rt.ToValue(p)
}

// upstream is what one fetch got: the final response and where from.
type upstream struct {
	resp       *http.Response
	url        string
	redirected bool
}

// fetchNative is n.fetch(url, method, headerPairs, body, redirect): the
// network side of fetch. It counts the fetch, checks the scheme and hands
// the request to the app's Fetcher on a goroutine of the event loop.
func (sb *sandbox) fetchNative(call goja.FunctionCall) goja.Value {
	rs := sb.run
	if rs == nil {
		return sb.rejected("Error", "the run has ended")
	}
	fr := rs.fetchState()
	if fr.made >= MaxSubrequests {
		rs.stop(KnobMaxSubrequests)
		return sb.rejected("Error", "too many fetches")
	}
	fr.made++
	u, err := url.Parse(call.Argument(0).String())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return sb.rejected("TypeError", fmt.Sprintf("fetch: only http: and https: URLs are supported, not %q", call.Argument(0).String()))
	}
	var f Fetcher
	if rs.bindings != nil {
		f = rs.bindings.Fetch
	}
	if f == nil {
		return sb.rejected("TypeError", (&shared.EgressDeniedError{Host: u.Hostname()}).Error())
	}
	out := outgoing{method: call.Argument(1).String(), url: u, header: sb.headerOf(call.Argument(2)), mode: call.Argument(4).String()}
	if out.body, err = sb.bytesOf(call.Argument(3)); err != nil {
		return sb.rejected("TypeError", err.Error())
	}
	return rs.async(func(ctx context.Context) func() (goja.Value, error) {
		select {
		case fr.sem <- struct{}{}:
		case <-ctx.Done():
			return func() (goja.Value, error) { return nil, ctx.Err() }
		}
		up, err := out.send(ctx, f)
		<-fr.sem
		if err != nil {
			return func() (goja.Value, error) { return nil, err }
		}
		return func() (goja.Value, error) { return sb.upstreamObject(up), nil }
	})
}

// outgoing is one fetch as Go sends it.
type outgoing struct {
	method string
	url    *url.URL
	header http.Header
	body   []byte // nil for none
	mode   string // follow, manual or error
}

// send makes the request and follows redirects (mode "follow") by hand,
// each hop a Fetch of its own, so the allowlist checks every one.
func (o outgoing) send(ctx context.Context, f Fetcher) (upstream, error) {
	redirected := false
	for hop := 0; ; hop++ {
		var body io.Reader
		if o.body != nil {
			body = bytes.NewReader(o.body)
		}
		req, err := http.NewRequestWithContext(ctx, o.method, o.url.String(), body)
		if err != nil {
			return upstream{}, &hostError{"TypeError", "fetch: " + err.Error()}
		}
		req.Header = o.header.Clone()
		resp, err := f.Fetch(ctx, req)
		if err != nil {
			return upstream{}, fetchError(ctx, err)
		}
		loc := resp.Header.Get("Location")
		if !isRedirect(resp.StatusCode) || loc == "" || o.mode == "manual" {
			return upstream{resp: resp, url: o.url.String(), redirected: redirected}, nil
		}
		resp.Body.Close()
		if o.mode == "error" {
			return upstream{}, &hostError{"TypeError", fmt.Sprintf("fetch: %s redirected to %s (redirect: \"error\")", o.url, loc)}
		}
		if hop >= maxRedirects {
			return upstream{}, &hostError{"TypeError", fmt.Sprintf("fetch: more than %d redirects from %s", maxRedirects, o.url)}
		}
		next, err := o.url.Parse(loc)
		if err != nil || (next.Scheme != "http" && next.Scheme != "https") {
			return upstream{}, &hostError{"TypeError", fmt.Sprintf("fetch: bad redirect location %q", loc)}
		}
		o = o.redirect(resp.StatusCode, next)
		redirected = true
	}
}

func isRedirect(code int) bool {
	switch code {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

// redirect is the request for the next hop (WHATWG fetch, "HTTP-redirect
// fetch"): 303, and 301/302 after a POST, become a GET without body; a
// hop to another origin drops the credentials.
func (o outgoing) redirect(code int, next *url.URL) outgoing {
	h := o.header.Clone()
	if code == 303 && o.method != http.MethodHead || (code == 301 || code == 302) && o.method == http.MethodPost {
		o.method, o.body = http.MethodGet, nil
		for _, k := range []string{"Content-Type", "Content-Length", "Content-Encoding", "Content-Language", "Content-Location"} {
			h.Del(k)
		}
	}
	if next.Scheme != o.url.Scheme || next.Host != o.url.Host {
		h.Del("Authorization")
		h.Del("Cookie")
	}
	o.url, o.header = next, h
	return o
}

// fetchError is how a failed request reaches the script: a refusal is
// TypeError('egress not allowed: HOST'), any other network failure a
// TypeError as well (as in browsers); the run's end is not the script's
// to see.
func fetchError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var denied *shared.EgressDeniedError
	if errors.As(err, &denied) {
		return &hostError{"TypeError", denied.Error()}
	}
	return &hostError{"TypeError", "fetch failed: " + err.Error()}
}

// upstreamObject is what n.fetch resolves with: the status, headers and a
// handle of the unread body, which n.read reads once.
func (sb *sandbox) upstreamObject(up upstream) goja.Value {
	rs := sb.run
	fr := rs.fetch
	fr.next++
	fr.bodies[fr.next] = up.resp.Body
	rt := sb.rt
	pairs := make([]any, 0, len(up.resp.Header))
	for _, k := range sortedKeys(up.resp.Header) {
		name := strings.ToLower(k)
		for _, v := range up.resp.Header[k] {
			pairs = append(pairs, rt.NewArray(name, v))
		}
	}
	o := rt.NewObject()
	_ = o.Set("status", up.resp.StatusCode)
	_ = o.Set("statusText", strings.TrimSpace(strings.TrimPrefix(up.resp.Status, fmt.Sprint(up.resp.StatusCode))))
	_ = o.Set("url", up.url)
	_ = o.Set("redirected", up.redirected)
	_ = o.Set("headers", rt.NewArray(pairs...))
	_ = o.Set("body", fr.next)
	return o
}

// readNative is n.read(handle, asBuffer): a promise of the upstream body
// as a string or an ArrayBuffer, read at most once. A body over
// MaxResponseBody rejects with a RangeError; one that does not fit the
// run's max_string_size (as a string) or max_array_size (as bytes) stops
// the run.
func (sb *sandbox) readNative(call goja.FunctionCall) goja.Value {
	rs := sb.run
	if rs == nil || rs.fetch == nil {
		return sb.rejected("TypeError", "body already used")
	}
	id := call.Argument(0).ToInteger()
	body, ok := rs.fetch.bodies[id]
	if !ok {
		return sb.rejected("TypeError", "body already used")
	}
	delete(rs.fetch.bodies, id)
	asBuffer := call.Argument(1).ToBoolean()
	return rs.async(func(ctx context.Context) func() (goja.Value, error) {
		defer body.Close()
		b, err := io.ReadAll(io.LimitReader(body, MaxResponseBody+1))
		switch {
		case ctx.Err() != nil:
			return func() (goja.Value, error) { return nil, ctx.Err() }
		case len(b) > MaxResponseBody:
			return func() (goja.Value, error) {
				return nil, &hostError{"RangeError", fmt.Sprintf("response body over %d MiB", MaxResponseBody>>20)}
			}
		case err != nil:
			return func() (goja.Value, error) {
				return nil, &hostError{"TypeError", "reading the response body failed: " + err.Error()}
			}
		}
		return func() (goja.Value, error) { return sb.bodyValue(b, asBuffer) }
	})
}

// bodyValue makes a body a string or an ArrayBuffer under the run's limits.
func (sb *sandbox) bodyValue(b []byte, asBuffer bool) (goja.Value, error) {
	lim := sb.run.limits
	if asBuffer {
		if int64(len(b)) > 8*lim.MaxArraySize {
			return nil, &LimitError{Knob: shared.KnobMaxArraySize}
		}
		return sb.rt.ToValue(sb.rt.NewArrayBuffer(b)), nil
	}
	s := string(b)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if utf16Len(s) > lim.MaxStringSize {
		return nil, &LimitError{Knob: shared.KnobMaxStringSize}
	}
	return sb.rt.ToValue(s), nil
}

// utf16Len is the length JavaScript gives s.
func utf16Len(s string) int64 {
	n := int64(0)
	for _, r := range s {
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
}

// headerOf reads n.fetch's header pairs, already validated by Headers.
func (sb *sandbox) headerOf(v goja.Value) http.Header {
	h := http.Header{}
	o, ok := v.(*goja.Object)
	if !ok {
		return h
	}
	n := toLength(o.Get("length"))
	for i := int64(0); i < n; i++ {
		pair, ok := o.Get(fmt.Sprint(i)).(*goja.Object)
		if !ok {
			continue
		}
		h.Add(pair.Get("0").String(), pair.Get("1").String())
	}
	return h
}

// bytesOf reads a body: null, a string or an ArrayBuffer.
func (sb *sandbox) bytesOf(v goja.Value) ([]byte, error) {
	switch b := v.(type) {
	case nil:
		return nil, nil
	case goja.String:
		return []byte(b.String()), nil
	case *goja.Object:
		if ab, ok := b.Export().(goja.ArrayBuffer); ok {
			return bytes.Clone(ab.Bytes()), nil
		}
	}
	if goja.IsUndefined(v) || goja.IsNull(v) {
		return nil, nil
	}
	return nil, errors.New("fetch: the body must be a string or an ArrayBuffer")
}

// urlNative is n.url(s): s parsed as an absolute URL, in its serialised
// form; a TypeError otherwise, as new Request would throw.
func (sb *sandbox) urlNative(call goja.FunctionCall) goja.Value {
	s := call.Argument(0).String()
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || !u.IsAbs() || (u.Scheme == "http" || u.Scheme == "https") && u.Host == "" {
		sb.throw("TypeError", fmt.Errorf("invalid URL: %q", s))
	}
	if u.Path == "" && (u.Scheme == "http" || u.Scheme == "https") {
		u.Path = "/"
	}
	u.Host = strings.ToLower(u.Host)
	return sb.rt.ToValue(u.String())
}

// encodeNative is n.encode(s): s as UTF-8 bytes in an ArrayBuffer.
func (sb *sandbox) encodeNative(call goja.FunctionCall) goja.Value {
	return sb.rt.ToValue(sb.rt.NewArrayBuffer([]byte(call.Argument(0).String())))
}

// decodeNative is n.decode(buffer): UTF-8 bytes as a string, checked
// against max_string_size.
func (sb *sandbox) decodeNative(call goja.FunctionCall) goja.Value {
	b, _ := sb.bytesOf(call.Argument(0))
	v, err := sb.bodyValue(b, false)
	if err != nil {
		var le *LimitError
		if errors.As(err, &le) && sb.run != nil {
			sb.run.stop(le.Knob)
		}
		return goja.Undefined()
	}
	return v
}

// countNative is n.count(k): a Headers object with k entries must fit
// max_map_size.
func (sb *sandbox) countNative(call goja.FunctionCall) goja.Value {
	if rs := sb.run; rs != nil && call.Argument(0).ToInteger() > rs.limits.MaxMapSize {
		rs.stop(shared.KnobMaxMapSize)
	}
	return goja.Undefined()
}

// responseOf turns a Response returned by handle into the plain result
// object the node sends ({status, headers, body}) and, for a body of
// bytes, those bytes, which replace the result's body as they are: a
// fetched body is read here (waiting on the network, at most
// MaxResponseBody) and never becomes a string, so a proxied image stays
// intact. Other values pass unchanged.
func (sb *sandbox) responseOf(v goja.Value) (goja.Value, []byte, error) {
	// A proxy is no Response; asking its prototype would run its trap
	// outside the script (or throw, revoked).
	if o, ok := v.(*goja.Object); !ok || o.ExportType() == proxyType || o.Prototype() != sb.responseProto {
		return v, nil, nil
	}
	r, err := sb.responseResult(goja.Undefined(), v)
	if err != nil {
		return nil, nil, err
	}
	o, _ := r.(*goja.Object)
	if o == nil {
		return r, nil, nil
	}
	if bv := o.Get("bytes"); bv != nil {
		if b, ok := bv.Export().(goja.ArrayBuffer); ok {
			return o, bytes.Clone(b.Bytes()), nil
		}
	}
	up := o.Get("upstream")
	if up == nil || goja.IsUndefined(up) {
		return o, nil, nil
	}
	raw, err := sb.readUpstream(up.ToInteger())
	return o, raw, err
}

// readUpstream reads a fetched body to the end on the event loop, for
// responseOf.
func (sb *sandbox) readUpstream(id int64) ([]byte, error) {
	rs := sb.run
	var body io.ReadCloser
	if rs.fetch != nil {
		body = rs.fetch.bodies[id]
		delete(rs.fetch.bodies, id)
	}
	if body == nil {
		return nil, &ScriptError{Message: "handle returned a Response whose body was already used"}
	}
	var raw []byte
	p := rs.async(func(ctx context.Context) func() (goja.Value, error) {
		defer body.Close()
		b, err := io.ReadAll(io.LimitReader(body, MaxResponseBody+1))
		return func() (goja.Value, error) {
			switch {
			case len(b) > MaxResponseBody:
				return nil, &hostError{"RangeError", fmt.Sprintf("response body over %d MiB", MaxResponseBody>>20)}
			case err != nil:
				return nil, &hostError{"TypeError", "reading the response body failed: " + err.Error()}
			}
			raw = b
			return goja.Undefined(), nil
		}
	})
	if err := sb.await(p); err != nil {
		return nil, err
	}
	if _, err := sb.settle(p, EntryHandle); err != nil {
		return nil, err
	}
	return raw, nil
}
