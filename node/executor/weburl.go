package executor

import (
	"strings"

	"github.com/dop251/goja"
	whatwg "github.com/nlnwa/whatwg-url/url"
)

// URL parsing and setters follow the WHATWG URL Standard through
// github.com/nlnwa/whatwg-url (Go's net/url is not WHATWG-conformant).
// A URL object keeps only its serialised record in JavaScript; a setter
// parses its href again, which always succeeds, and changes that.

// urlRecord is what web.js keeps of a URL, in this order.
var urlFields = [...]string{"href", "origin", "protocol", "username", "password",
	"host", "hostname", "port", "pathname", "search", "hash"}

// urlParse(input, base?) returns the record of input parsed against base,
// or null when either does not parse.
func (sb *sandbox) urlParse(call goja.FunctionCall) goja.Value {
	input := call.Argument(0).String()
	if !sb.chargeBytes(len(input), urlBytesPerOp) {
		return goja.Undefined()
	}
	var u *whatwg.Url
	var err error
	if b := call.Argument(1); goja.IsUndefined(b) {
		u, err = whatwg.Parse(input)
	} else {
		base := b.String()
		if !sb.chargeBytes(len(base), urlBytesPerOp) {
			return goja.Undefined()
		}
		u, err = whatwg.ParseRef(base, input)
	}
	if err != nil {
		return goja.Null()
	}
	return sb.urlRecord(u)
}

// urlSet(href, name, value) returns the record of href after setting its
// component name (a URL setter other than href) to value.
func (sb *sandbox) urlSet(call goja.FunctionCall) goja.Value {
	href, name, value := call.Argument(0).String(), call.Argument(1).String(), call.Argument(2).String()
	if !sb.chargeBytes(len(href)+len(value), urlBytesPerOp) {
		return goja.Undefined()
	}
	u, err := whatwg.Parse(href)
	if err != nil {
		sb.throw("TypeError", err) // never expected: href is a serialised URL
	}
	switch name {
	case "protocol":
		u.SetProtocol(value)
	case "username":
		u.SetUsername(value)
	case "password":
		u.SetPassword(value)
	case "host":
		u.SetHost(value)
	case "hostname":
		u.SetHostname(value)
	case "port":
		u.SetPort(value)
	case "pathname":
		u.SetPathname(value)
	case "search":
		u.SetSearch(value)
	case "hash":
		u.SetHash(value)
	}
	return sb.urlRecord(u)
}

func (sb *sandbox) urlRecord(u *whatwg.Url) goja.Value {
	u = conform(u)
	href := u.Href(false)
	if !sb.stringFits(len(href)) {
		return goja.Null()
	}
	vals := [len(urlFields)]string{href, urlOrigin(u), u.Protocol(), u.Username(), u.Password(),
		u.Host(), u.Hostname(), u.Port(), u.Pathname(), u.Search(), u.Hash()}
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = v
	}
	return sb.rt.NewArray(out...)
}

// conform applies to u the changes to the standard since the parser's
// snapshot (May 2023) that follow from its output alone, both of 2024:
// '^' is in the path percent-encode set, and in an opaque path a space
// right before the query or the fragment is written %20 instead of being
// stripped when they go.
func conform(u *whatwg.Url) *whatwg.Url {
	p := u.Pathname()
	if !u.OpaquePath() {
		if strings.Contains(p, "^") {
			u.SetPathname(strings.ReplaceAll(p, "^", "%5E"))
		}
		return u
	}
	// An opaque path's URL is scheme:path[?query][#fragment].
	head, href := u.Protocol()+p, u.Href(false)
	if strings.HasSuffix(p, " ") && len(href) > len(head) {
		if v, err := whatwg.Parse(head[:len(head)-1] + "%20" + href[len(head):]); err == nil {
			return v
		}
	}
	return u
}

// urlOrigin is the ASCII serialisation of u's origin: scheme, host and
// port for the special schemes that have one, the origin of the inner URL
// for blob:, and "null" (opaque) for everything else.
func urlOrigin(u *whatwg.Url) string {
	switch u.Scheme() {
	case "http", "https", "ws", "wss", "ftp":
		return u.Protocol() + "//" + u.Host()
	case "blob":
		if inner, err := whatwg.Parse(u.Pathname()); err == nil && (inner.Scheme() == "http" || inner.Scheme() == "https") {
			return urlOrigin(inner)
		}
	}
	return "null"
}

// formParse(input) parses application/x-www-form-urlencoded input into a
// flat list name0, value0, name1, ... (WHATWG URL §5.1).
func (sb *sandbox) formParse(call goja.FunctionCall) goja.Value {
	input := call.Argument(0).String()
	if !sb.chargeBytes(len(input), formBytesPerOp) {
		return goja.Undefined()
	}
	pairs := strings.Count(input, "&") + 1
	if input == "" {
		pairs = 0
	}
	if !sb.entriesFit(int64(pairs)) {
		return goja.Undefined()
	}
	out := make([]any, 0, 2*pairs)
	for seq := range strings.SplitSeq(input, "&") {
		if seq == "" {
			continue
		}
		name, value, _ := strings.Cut(seq, "=")
		out = append(out, formDecode(name), formDecode(value))
	}
	return sb.rt.NewArray(out...)
}

// formDecode replaces + by a space, percent-decodes and decodes the bytes
// as UTF-8 with replacement.
func formDecode(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return s // already valid UTF-8: it came from a JavaScript string
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	out, _, _ := decodeUTF8(b, false, false)
	return out
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// formSerialize(list) serialises a flat name/value list as
// application/x-www-form-urlencoded.
func (sb *sandbox) formSerialize(call goja.FunctionCall) goja.Value {
	list, _ := call.Argument(0).Export().([]any)
	var b strings.Builder
	for i, v := range list {
		s, _ := v.(string)
		sb.chargeBytes(len(s), stringBytesPerOp)
		if i > 0 {
			if i%2 == 1 {
				b.WriteByte('=')
			} else {
				b.WriteByte('&')
			}
		}
		formEncode(&b, s)
		if !sb.stringFits(b.Len()) {
			return goja.Undefined()
		}
	}
	return sb.rt.ToValue(b.String())
}

// formEncode writes s percent-encoded with the
// application/x-www-form-urlencoded set, spaces as +.
func formEncode(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '*', c == '-', c == '.', c == '_':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
}
