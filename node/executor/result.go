package executor

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dop251/goja"

	"github.com/picloud/picloud/shared"
)

const (
	contentTypeText = "text/plain; charset=utf-8"
	contentTypeJSON = "application/json; charset=utf-8"
)

// request builds the req object of SPEC §5 from Go, with no JavaScript
// call and no intermediate slices. json() is a method of a shared, frozen
// prototype that parses this.body.
//
// Only the properties in use are built (see requestUse): a script that
// never reads req whole cannot tell. req.headers is built when it is
// first read: most scripts never look at the dozen headers a browser
// sends. Until then it is an accessor that turns itself into the plain
// data property it would have been.
func (sb *sandbox) request(r *Request, use reqFields) (goja.Value, error) {
	if use == 0 {
		return goja.Undefined(), nil
	}
	rt := sb.rt
	req := rt.CreateObject(nil)
	for _, f := range [...]struct {
		bit  reqFields
		name string
		v    string
	}{{fieldMethod, "method", r.Method}, {fieldHost, "host", r.Host}, {fieldPath, "path", r.Path}, {fieldApp, "app", r.App}} {
		if use&f.bit != 0 {
			_ = req.Set(f.name, rt.ToValue(f.v))
		}
	}
	if use&fieldParams != 0 {
		_ = req.Set("params", sb.plainObject(r.Params))
	}
	if use&fieldQuery != 0 {
		_ = req.Set("query", sb.queryObject(r.Query))
	}
	if use&fieldHeaders != 0 {
		if len(r.Header) == 0 {
			_ = req.Set("headers", rt.CreateObject(sb.objectProto))
		} else {
			rs := sb.run
			rs.req, rs.header = req, r.Header
			if err := req.DefineAccessorProperty("headers", sb.headersGet, sb.headersSet, goja.FLAG_TRUE, goja.FLAG_TRUE); err != nil {
				return nil, err
			}
		}
	}
	if use&fieldBody != 0 {
		_ = req.Set("body", rt.ToValue(string(r.Body)))
	}
	if err := req.SetPrototype(sb.requestProto); err != nil {
		return nil, err
	}
	return req, nil
}

// queryObject is req.query: one string per key, an array of strings for a
// key given more than once.
func (sb *sandbox) queryObject(q url.Values) *goja.Object {
	rt := sb.rt
	o := sb.emptyOrNil(len(q))
	if len(q) == 0 {
		return o
	}
	for _, k := range sortedKeys(q) {
		vs := q[k]
		if len(vs) == 1 {
			_ = o.Set(k, rt.ToValue(vs[0]))
			continue
		}
		items := make([]any, len(vs))
		for i, v := range vs {
			items[i] = v
		}
		_ = o.Set(k, rt.NewArray(items...))
	}
	sb.finish(o)
	return o
}

// getHeaders is the getter of req.headers until its first read: it builds
// the headers object, makes it req's data property and returns it.
func (sb *sandbox) getHeaders(goja.FunctionCall) goja.Value {
	rs := sb.run
	if rs == nil || rs.req == nil {
		return goja.Undefined()
	}
	if rs.headers == nil {
		rt := sb.rt
		h := rt.CreateObject(nil)
		for _, k := range sortedKeys(rs.header) {
			_ = h.Set(lowerASCII(k), rt.ToValue(joinValues(rs.header[k])))
		}
		sb.finish(h)
		rs.headers = h
		// Fails only if the script froze req first; the getter then keeps
		// answering the same object.
		_ = rs.req.DefineDataProperty("headers", h, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
	}
	return rs.headers
}

// setHeaders is the setter of req.headers until its first read: the
// assignment an ordinary data property would take.
func (sb *sandbox) setHeaders(call goja.FunctionCall) goja.Value {
	if o, ok := call.This.(*goja.Object); ok && sb.run != nil {
		_ = o.DefineDataProperty("headers", call.Argument(0), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
	}
	return goja.Undefined()
}

// emptyOrNil returns a new object without a prototype to fill with n
// properties, or, for none, the finished empty object {}.
func (sb *sandbox) emptyOrNil(n int) *goja.Object {
	if n == 0 {
		return sb.rt.CreateObject(sb.objectProto)
	}
	return sb.rt.CreateObject(nil)
}

// plainObject returns a new object with m's entries as own data properties
// in key order, as an object literal would have them. It is filled before
// it has a prototype: an assignment then can neither hit a name
// Object.prototype holds (frozen: the assignment would fail), nor set the
// prototype through __proto__, nor walk a prototype chain.
func (sb *sandbox) plainObject(m map[string]string) *goja.Object {
	o := sb.emptyOrNil(len(m))
	if len(m) == 0 {
		return o
	}
	for _, k := range sortedKeys(m) {
		_ = o.Set(k, sb.rt.ToValue(m[k]))
	}
	sb.finish(o)
	return o
}

// finish gives an object filled without a prototype its prototype,
// Object.prototype.
func (sb *sandbox) finish(o *goja.Object) {
	if err := o.SetPrototype(sb.objectProto); err != nil {
		panic(err) // an extensible object without a prototype takes any
	}
}

// lowerASCII lower-cases a header name; net/http canonicalises them
// ("Content-Type"), so the common ones come from a table, without allocating.
func lowerASCII(s string) string {
	if l, ok := commonHeaders[s]; ok {
		return l
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(s)
		}
	}
	return s
}

// commonHeaders maps canonical request header names to lower case. Read-only.
var commonHeaders = func() map[string]string {
	m := make(map[string]string)
	for _, l := range strings.Fields(`accept accept-encoding accept-language authorization cache-control
		connection content-length content-type cookie dnt if-modified-since if-none-match origin pragma
		referer sec-ch-ua sec-ch-ua-mobile sec-ch-ua-platform sec-fetch-dest sec-fetch-mode sec-fetch-site
		sec-fetch-user upgrade-insecure-requests user-agent x-forwarded-for x-forwarded-host
		x-forwarded-proto x-real-ip x-requested-with`) {
		m[http.CanonicalHeaderKey(l)] = l
	}
	return m
}()

func joinValues(vs []string) string {
	if len(vs) == 1 {
		return vs[0]
	}
	return strings.Join(vs, ", ")
}

// requestJSON is req.json().
func (sb *sandbox) requestJSON(call goja.FunctionCall) goja.Value {
	o, ok := call.This.(*goja.Object)
	if !ok {
		sb.throw("TypeError", errors.New("json() called on something that is not a request"))
	}
	return sb.parseJSON(o.Get("body").String())
}

// parseJSON is req.json(): JSON.parse of the body with the same checks a
// script's own JSON.parse gets.
func (sb *sandbox) parseJSON(body string) goja.Value {
	parse, _ := goja.AssertFunction(sb.object("JSON").Get("parse"))
	v, err := parse(goja.Undefined(), sb.rt.ToValue(body))
	if err != nil {
		panic(err)
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// settle unwraps a promise returned by an async handle or scheduled. goja
// has run the job queue by the time the entry returns, so a promise is
// settled unless the script waits on something that never happens.
func (sb *sandbox) settle(v goja.Value, e Entry) (goja.Value, error) {
	p := promiseOf(v)
	if p == nil {
		return v, nil
	}
	switch p.State() {
	case goja.PromiseStateFulfilled:
		return p.Result(), nil
	case goja.PromiseStateRejected:
		var reason string
		if err := sb.guard(func() error { reason = sb.safeText(p.Result(), maxErrorText); return nil }); err != nil {
			return nil, sb.scriptError(err)
		}
		return nil, &ScriptError{Message: capText(e.String()+" rejected: "+reason, maxErrorText)}
	}
	return nil, &ScriptError{Message: e.String() + " returned a promise that never settled"}
}

var promiseType = reflect.TypeOf((*goja.Promise)(nil))

// promiseOf returns the promise v is, or nil. It asks for the type Export
// would return: exporting a script's value to find out would copy all of
// it to Go first, whatever its size.
func promiseOf(v goja.Value) *goja.Promise {
	o, ok := v.(*goja.Object)
	if !ok || o.ExportType() != promiseType {
		return nil
	}
	p, _ := o.Export().(*goja.Promise)
	return p
}

// guard runs read, which reads a script's values from Go. Reading can run
// script code (getters, Proxy traps, toString, valueOf, toJSON) under the
// run's limits, so it runs as a native call of the runtime: a throw comes
// back as the error, and so does a limit or timeout that stops that code,
// which goja re-panics past Runtime.Try.
func (sb *sandbox) guard(read func() error) error {
	var rerr error
	outer := sb.reading // a guard inside a guard's read
	sb.reading = func() { rerr = read() }
	_, err := sb.reader(goja.Undefined())
	sb.reading = outer
	if err != nil {
		return err
	}
	return rerr
}

// safeText converts v with JavaScript's String(), catching what a
// script-defined toString throws, cut to at most n bytes, marked, and
// converting no more of a long string than it keeps. Call it inside guard
// when v may be an object: its toString may loop until a limit stops it.
func (sb *sandbox) safeText(v goja.Value, n int) string {
	if v == nil {
		return "undefined"
	}
	var b []byte
	ok := true
	if ex := sb.rt.Try(func() { b, ok = utf8Of(v.ToString(), n) }); ex != nil {
		return "(unprintable value)"
	}
	if !ok {
		return capText(string(b)+"…", n)
	}
	return string(b)
}

// utf8Of returns v, a string, in UTF-8, at most limit bytes; ok is false
// when v is longer. goja converts a non-ASCII string to Go through a slice
// of runes, four bytes a character and several times the string in all,
// so such strings are read rune by rune instead.
func utf8Of(v goja.Value, limit int) (b []byte, ok bool) {
	s, isString := v.(goja.String)
	if !isString || reflect.ValueOf(s).Kind() == reflect.String {
		// An ASCII string is a Go string already (goja's asciiString).
		str := v.String()
		if len(str) > limit {
			return []byte(str[:limit]), false
		}
		return []byte(str), true
	}
	n := s.Length() // UTF-16 units: 1 to 3 bytes each in UTF-8
	b = make([]byte, 0, min(3*n, limit))
	r := s.Reader()
	for {
		c, _, err := r.ReadRune()
		if err == io.EOF {
			return b, true
		}
		if err != nil { // a lone surrogate, as utf16.Decode has it
			c = utf8.RuneError
		}
		if len(b)+utf8.RuneLen(c) > limit {
			return b, false
		}
		b = utf8.AppendRune(b, c)
	}
}

// maxHeaderBytes bounds a response's headers, names and values together,
// as common servers bound a request's.
const maxHeaderBytes = 64 << 10

var errHeadersTooLarge = &ScriptError{Message: "bad return value: response headers exceed 64 KiB"}

// response turns handle's return value into a Result (SPEC §5): a string
// is a 200 text/plain body; an object with status, headers or body is a
// response whose non-string body is sent as JSON; any other value is sent
// as JSON. undefined and null are bad return values.
//
// The value is read field by field inside the sandbox, under the run's
// limits: nothing is copied to Go before its size is known to fit.
func (sb *sandbox) response(v goja.Value, res *Result) error {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return &ScriptError{Message: "handle returned no response (undefined or null)"}
	}
	if s, ok := v.(goja.String); ok {
		body, err := sb.stringBody(s)
		if err != nil {
			return err
		}
		res.Status = http.StatusOK
		res.Header = sb.textHeader
		res.Body = body
		return nil
	}
	o, ok := v.(*goja.Object)
	shaped := false
	if ok {
		// ClassName throws for a revoked proxy.
		if err := sb.guard(func() error { shaped = o.ClassName() != "Array" && sb.isResponseShape(o); return nil }); err != nil {
			return sb.scriptError(err)
		}
	}
	if !shaped {
		body, err := sb.jsonBody(v)
		if err != nil {
			return err
		}
		res.Status = http.StatusOK
		res.Header = sb.jsonHeader
		res.Body = body
		return nil
	}
	res.Header = make(http.Header)
	if err := sb.guard(func() error { return sb.responseObject(o, res) }); err != nil {
		return sb.scriptError(err)
	}
	return nil
}

// responseFields are the own enumerable properties that make an object a
// response rather than a value to send as JSON.
var responseFields = [...]string{"status", "headers", "body"}

// isResponseShape looks up the three names one by one instead of listing
// every key of o. It panics with what a Proxy trap throws; call it in guard.
func (sb *sandbox) isResponseShape(o *goja.Object) bool {
	for _, k := range responseFields {
		own, err := sb.ownEnumerable(o, sb.rt.ToValue(k))
		if err != nil {
			panic(err)
		}
		if own.ToBoolean() {
			return true
		}
	}
	return false
}

func (sb *sandbox) responseObject(o *goja.Object, res *Result) error {
	res.Status = http.StatusOK
	if s := o.Get("status"); s != nil && !goja.IsUndefined(s) {
		f := s.ToFloat()
		// 1xx are not final responses; net/http cannot send them as one.
		if f != float64(int(f)) || f < 200 || f > 599 {
			return &ScriptError{Message: fmt.Sprintf("bad return value: status %s is not an integer from 200 to 599", sb.safeText(s, 100))}
		}
		res.Status = int(f)
	}
	if h, ok := o.Get("headers").(*goja.Object); ok {
		if err := sb.responseHeaders(h, res.Header); err != nil {
			return err
		}
	}
	body := o.Get("body")
	switch b := body.(type) {
	case nil:
	case goja.String:
		out, err := sb.stringBody(b)
		if err != nil {
			return err
		}
		res.Body = out
		if res.Header.Get("Content-Type") == "" {
			res.Header.Set("Content-Type", contentTypeText)
		}
	default:
		if goja.IsUndefined(b) || goja.IsNull(b) {
			break
		}
		out, err := sb.jsonBody(b)
		if err != nil {
			return err
		}
		res.Body = out
		if res.Header.Get("Content-Type") == "" {
			res.Header.Set("Content-Type", contentTypeJSON)
		}
	}
	return nil
}

// responseHeaders copies the headers object h into hdr, at most
// maxHeaderBytes of names and values: a value is measured before it is
// converted to Go.
func (sb *sandbox) responseHeaders(h *goja.Object, hdr http.Header) error {
	left := maxHeaderBytes
	for _, k := range h.Keys() {
		name := http.CanonicalHeaderKey(k)
		if !validHeaderName(name) {
			return &ScriptError{Message: fmt.Sprintf("bad return value: invalid header name %q", capText(k, 100))}
		}
		val := h.Get(k)
		if arr, ok := val.(*goja.Object); ok && arr.ClassName() == "Array" {
			n := toLength(arr.Get("length"))
			for i := int64(0); i < n; i++ {
				s, err := headerText(arr.Get(strconv.FormatInt(i, 10)), name, &left)
				if err != nil {
					return err
				}
				hdr.Add(name, s)
			}
			continue
		}
		s, err := headerText(val, name, &left)
		if err != nil {
			return err
		}
		hdr.Set(name, s)
	}
	return nil
}

// headerText converts one header value and charges it, with its name and
// framing, to left.
func headerText(v goja.Value, name string, left *int) (string, error) {
	n := len(name) + len(": \r\n")
	b, ok := utf8Of(v.ToString(), *left-n)
	if !ok {
		return "", errHeadersTooLarge
	}
	s := headerValue(string(b))
	*left -= n + len(s)
	return s, nil
}

// stringBody is a string response body, at most max_string_size long.
func (sb *sandbox) stringBody(s goja.String) ([]byte, error) {
	if int64(s.Length()) > sb.run.limits.MaxStringSize {
		return nil, &LimitError{Knob: shared.KnobMaxStringSize}
	}
	b, _ := utf8Of(s, math.MaxInt)
	return b, nil
}

func (sb *sandbox) jsonBody(v goja.Value) ([]byte, error) {
	var out goja.Value
	err := sb.guard(func() error {
		var err error
		out, err = sb.stringify(v, goja.Undefined(), goja.Undefined())
		return err
	})
	if err != nil {
		return nil, sb.scriptError(err)
	}
	if le := sb.run.limit.Load(); le != nil {
		return nil, le
	}
	if out == nil || goja.IsUndefined(out) {
		return nil, &ScriptError{Message: "bad return value: body cannot be encoded as JSON"}
	}
	b, _ := utf8Of(out, math.MaxInt)
	return b, nil
}

// capText cuts s to at most n bytes, on a character boundary, marked.
func capText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…(truncated)"
	if n < len(mark) {
		return ""
	}
	return truncateUTF8(s, n-len(mark)) + mark
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// headerValue drops the bytes net/http refuses in a header value.
func headerValue(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return -1
		}
		return r
	}, s)
}

var errJSONDepth = errors.New("JSON is nested deeper than 1000 levels")
