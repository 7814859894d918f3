package executor

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// decodeUTF8 is the WHATWG Encoding Standard's UTF-8 decoder: every
// maximal invalid subsequence becomes one U+FFFD, or, when fatal, the
// decode fails (ok false). With stream, an incomplete sequence at the end
// is not an error: pending says how many of b's last bytes it holds, for
// the next call.
func decodeUTF8(b []byte, fatal, stream bool) (s string, pending int, ok bool) {
	var out strings.Builder
	out.Grow(len(b))
	needed, seen, start := 0, 0, 0
	var cp rune
	lower, upper := byte(0x80), byte(0xBF)
	for i := 0; i < len(b); i++ {
		c := b[i]
		if needed == 0 {
			switch {
			case c < 0x80:
				out.WriteByte(c)
			case 0xC2 <= c && c <= 0xDF:
				needed, cp = 1, rune(c&0x1F)
			case 0xE0 <= c && c <= 0xEF:
				if c == 0xE0 {
					lower = 0xA0
				} else if c == 0xED {
					upper = 0x9F
				}
				needed, cp = 2, rune(c&0xF)
			case 0xF0 <= c && c <= 0xF4:
				if c == 0xF0 {
					lower = 0x90
				} else if c == 0xF4 {
					upper = 0x8F
				}
				needed, cp = 3, rune(c&0x7)
			default:
				if fatal {
					return "", 0, false
				}
				out.WriteRune(utf8.RuneError)
			}
			start = i
			continue
		}
		if c < lower || c > upper {
			needed, seen, cp, lower, upper = 0, 0, 0, 0x80, 0xBF
			if fatal {
				return "", 0, false
			}
			out.WriteRune(utf8.RuneError)
			i-- // the byte starts over
			continue
		}
		lower, upper = 0x80, 0xBF
		cp = cp<<6 | rune(c&0x3F)
		if seen++; seen == needed {
			out.WriteRune(cp)
			needed, seen, cp = 0, 0, 0
		}
	}
	if needed != 0 {
		if stream {
			return out.String(), len(b) - start, true
		}
		if fatal {
			return "", 0, false
		}
		out.WriteRune(utf8.RuneError)
	}
	return out.String(), 0, true
}

// utf8Encode(s) returns s as UTF-8 in a new ArrayBuffer (lone surrogates
// become U+FFFD, as a USVString has them).
func (sb *sandbox) utf8Encode(call goja.FunctionCall) goja.Value {
	s := call.Argument(0).String()
	sb.chargeBytes(len(s), utf8BytesPerOp)
	if !sb.bufferFits(len(s)) {
		return goja.Undefined()
	}
	return sb.buffer([]byte(s))
}

// utf8EncodeInto(s, buffer, offset, length) writes as many whole code
// points of s as fit into the view and returns [read, written]: UTF-16
// units consumed and bytes written.
func (sb *sandbox) utf8EncodeInto(call goja.FunctionCall) goja.Value {
	s := call.Argument(0).String()
	dst := sb.bytesArg(call, 1)
	sb.chargeBytes(min(len(s), len(dst)), utf8BytesPerOp)
	read, written := 0, 0
	for _, r := range s {
		n := utf8.RuneLen(r)
		if written+n > len(dst) {
			break
		}
		utf8.EncodeRune(dst[written:], r)
		written += n
		read++
		if r >= 0x10000 {
			read++
		}
	}
	return sb.rt.NewArray(read, written)
}

// utf8Decode(buffer, offset, length, fatal, stream, stripBOM) returns
// [string, pending] (see decodeUTF8), or null when fatal and the bytes are
// not UTF-8. stripBOM drops a leading byte order mark.
func (sb *sandbox) utf8Decode(call goja.FunctionCall) goja.Value {
	b := sb.bytesArg(call, 0)
	fatal, stream, stripBOM := call.Argument(3).ToBoolean(), call.Argument(4).ToBoolean(), call.Argument(5).ToBoolean()
	sb.chargeBytes(len(b), utf8BytesPerOp)
	if !sb.stringFits(len(b)) { // a byte makes at most one UTF-16 unit
		return goja.Undefined()
	}
	s, pending, ok := decodeUTF8(b, fatal, stream)
	if !ok {
		return goja.Null()
	}
	if stripBOM {
		s = strings.TrimPrefix(s, "\uFEFF")
	}
	return sb.rt.NewArray(s, pending)
}

// atob(s) is forgiving-base64 decode (HTML §8.3): the bytes as a string
// of code units 0-255, or null for input that is not base64.
func (sb *sandbox) atob(call goja.FunctionCall) goja.Value {
	s := call.Argument(0).String()
	sb.chargeBytes(len(s), base64BytesPerOp)
	if !sb.stringFits(len(s) * 3 / 4) {
		return goja.Undefined()
	}
	b, ok := forgivingBase64(s)
	if !ok {
		return goja.Null()
	}
	return sb.rt.ToValue(latin1(b))
}

// forgivingBase64 decodes s as the forgiving-base64 algorithm does: ASCII
// whitespace anywhere is ignored, padding is optional but, when present,
// must make the length a multiple of 4, and the bits past the last whole
// byte are dropped.
func forgivingBase64(s string) ([]byte, bool) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case '\t', '\n', '\f', '\r', ' ':
			return -1
		}
		return r
	}, s)
	if len(s)%4 == 0 {
		s = strings.TrimSuffix(s, "=")
		s = strings.TrimSuffix(s, "=")
	}
	if len(s)%4 == 1 {
		return nil, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return nil, false
		}
	}
	// Go's decoder drops the bits past the last whole byte unless Strict.
	b, err := base64.RawStdEncoding.DecodeString(s)
	return b, err == nil
}

// latin1 maps each byte to the code point of the same value.
func latin1(b []byte) string {
	var out strings.Builder
	out.Grow(len(b) * 2)
	for _, c := range b {
		out.WriteRune(rune(c))
	}
	return out.String()
}

// btoa(s) base64-encodes a string of code units 0-255, or returns null
// when s holds any other (InvalidCharacterError).
func (sb *sandbox) btoa(call goja.FunctionCall) goja.Value {
	s := call.Argument(0).String()
	sb.chargeBytes(len(s), base64BytesPerOp)
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xFF {
			return goja.Null()
		}
		b = append(b, byte(r))
	}
	if !sb.stringFits(base64.StdEncoding.EncodedLen(len(b))) {
		return goja.Undefined()
	}
	return sb.rt.ToValue(base64.StdEncoding.EncodeToString(b))
}
