package executor

import (
	_ "embed"
	"fmt"

	"github.com/dop251/goja"

	"github.com/picloud/picloud/shared"
)

// The web-standard globals of SPEC §5 (URL, URLSearchParams, TextEncoder,
// TextDecoder, atob, btoa, structuredClone, crypto) are classes written in
// web.js over natives written in Go (weburl.go, webencoding.go,
// webcrypto.go). The JavaScript side gives them the shapes of the Web
// platform (classes, getters, iterators, promises, DOMException); the Go
// side does the work that is proportional to data, charging operations
// for it and refusing sizes past the run's knobs before allocating.
// web.js is not instrumented, so every loop in it is bounded by data a
// native has already measured, and every allocation it makes goes through
// a wrapped built-in or a native that checks it.

//go:embed web.js
var webSource string

var webProgram = goja.MustCompile("web.js", webSource, true)

// Bytes of work that cost about as much as one operation (a loop
// iteration, ~100 ns), per kind of native, measured on the project's
// machines: the URL parser is slow, hashing fast.
const (
	urlBytesPerOp    = 1
	formBytesPerOp   = 2
	base64BytesPerOp = 8
	utf8BytesPerOp   = 32
	randomBytesPerOp = 64
	hashBytesPerOp   = 128
	stringBytesPerOp = 256
)

// installWeb defines the web globals on g. It runs before the prelude
// freezes the global object, so they are frozen with every other global.
func (sb *sandbox) installWeb(g *goja.Object) error {
	v, err := sb.rt.RunProgram(webProgram)
	if err != nil {
		return fmt.Errorf("web globals: %w", err)
	}
	install, ok := goja.AssertFunction(v)
	if !ok {
		return fmt.Errorf("web globals: web.js did not produce its install function")
	}
	n := sb.rt.NewObject()
	for name, fn := range map[string]func(goja.FunctionCall) goja.Value{
		"charge":         sb.webCharge,
		"entries":        sb.webEntries,
		"urlParse":       sb.urlParse,
		"urlSet":         sb.urlSet,
		"formParse":      sb.formParse,
		"formSerialize":  sb.formSerialize,
		"utf8Encode":     sb.utf8Encode,
		"utf8EncodeInto": sb.utf8EncodeInto,
		"utf8Decode":     sb.utf8Decode,
		"atob":           sb.atob,
		"btoa":           sb.btoa,
		"random":         sb.random,
		"uuid":           sb.uuid,
		"digest":         sb.digest,
		"hmac":           sb.hmac,
		"hmacVerify":     sb.hmacVerify,
		"equal":          sb.equal,
	} {
		if err := n.Set(name, fn); err != nil {
			return err
		}
	}
	if _, err := install(goja.Undefined(), g, n); err != nil {
		return fmt.Errorf("web globals: %w", err)
	}
	return nil
}

// chargeBytes costs the current run the operations of work over n bytes,
// perOp bytes an operation, before the work is done. It reports whether
// the run may go on: a native that gets false returns at once instead of
// doing work the run can no longer pay for.
func (sb *sandbox) chargeBytes(n, perOp int) bool {
	rs := sb.run
	if rs == nil {
		return true
	}
	rs.charge(1 + int64(n/perOp))
	return !rs.stopped()
}

// webCharge(n) costs n operations: web.js's loops call it as they go.
func (sb *sandbox) webCharge(call goja.FunctionCall) goja.Value {
	if rs := sb.run; rs != nil {
		rs.charge(max(1, call.Argument(0).ToInteger()))
	}
	return goja.Undefined()
}

// webEntries(n) stops the run when a list of n entries (URLSearchParams)
// passes max_array_size: its names and values are one array of 2n.
func (sb *sandbox) webEntries(call goja.FunctionCall) goja.Value {
	sb.entriesFit(call.Argument(0).ToInteger())
	return goja.Undefined()
}

// The fit checks stop the run when what a native is about to build would
// pass a knob, and report whether it fits: a native that gets false
// returns at once, and the run ends with the knob at its next operation
// (the stop cannot be caught). Outside a run everything fits.

// entriesFit: a list of n name-value entries, 2n values, against
// max_array_size.
func (sb *sandbox) entriesFit(n int64) bool {
	if rs := sb.run; rs != nil && 2*n > rs.limits.MaxArraySize {
		rs.stop(shared.KnobMaxArraySize)
		return false
	}
	return true
}

// stringFits: a string of n UTF-16 units, against max_string_size.
func (sb *sandbox) stringFits(n int) bool {
	if rs := sb.run; rs != nil && int64(n) > rs.limits.MaxStringSize {
		rs.stop(shared.KnobMaxStringSize)
		return false
	}
	return true
}

// bufferFits: a buffer of n bytes, against the ArrayBuffer bound (8 ×
// max_array_size, as the guarded constructor has it).
func (sb *sandbox) bufferFits(n int) bool {
	if rs := sb.run; rs != nil && int64(n) > 8*rs.limits.MaxArraySize {
		rs.stop(shared.KnobMaxArraySize)
		return false
	}
	return true
}

// bytesArg reads a BufferSource web.js has split into (ArrayBuffer,
// byteOffset, byteLength) at args i, i+1, i+2. The slice aliases the
// buffer.
func (sb *sandbox) bytesArg(call goja.FunctionCall, i int) []byte {
	ab, ok := call.Argument(i).Export().(goja.ArrayBuffer)
	if !ok {
		sb.throw("TypeError", fmt.Errorf("expected an ArrayBuffer or a view of one"))
	}
	b := ab.Bytes()
	off, n := call.Argument(i+1).ToInteger(), call.Argument(i+2).ToInteger()
	if off < 0 || n < 0 || off+n > int64(len(b)) {
		sb.throw("RangeError", fmt.Errorf("the view is outside its buffer"))
	}
	return b[off : off+n]
}

// buffer returns b as a new ArrayBuffer.
func (sb *sandbox) buffer(b []byte) goja.Value {
	return sb.rt.ToValue(sb.rt.NewArrayBuffer(b))
}
