package executor

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeUTF8 checks the WHATWG UTF-8 decoder against Go's own notion
// of UTF-8, which is the same (no surrogates, no overlong forms, nothing
// past U+10FFFF): valid input decodes to itself, fatal mode fails exactly
// on invalid input, the output is always valid, and a stream split at any
// byte decodes like the whole.
func FuzzDecodeUTF8(f *testing.F) {
	for _, s := range []string{"", "a", "é€😀", "\xff", "\xe2\x82", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf", "a\xe2\x82b"} {
		f.Add([]byte(s), uint8(1))
	}
	f.Fuzz(func(t *testing.T, b []byte, cut uint8) {
		s, pending, ok := decodeUTF8(b, false, false)
		if !ok || pending != 0 || !utf8.ValidString(s) {
			t.Fatalf("decode(%q) = %q, %d, %v", b, s, pending, ok)
		}
		if utf8.Valid(b) && s != string(b) {
			t.Fatalf("valid %q decoded to %q", b, s)
		}
		if _, _, fatalOK := decodeUTF8(b, true, false); fatalOK != utf8.Valid(b) {
			t.Fatalf("fatal decode of %q: ok %v, utf8.Valid %v", b, fatalOK, utf8.Valid(b))
		}
		i := int(cut) % (len(b) + 1)
		head, pend, _ := decodeUTF8(b[:i], false, true)
		tail, _, _ := decodeUTF8(b[i-pend:], false, false)
		if head+tail != s {
			t.Fatalf("streamed at %d: %q + %q, whole %q", i, head, tail, s)
		}
	})
}

// FuzzForm checks the application/x-www-form-urlencoded pair: any input
// decodes to valid UTF-8, and encoding then decoding gives back any
// string.
func FuzzForm(f *testing.F) {
	for _, s := range []string{"", "a b", "%zz", "%C3%A9+x", "é&=", "%", "+%2B"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d := formDecode(s); !utf8.ValidString(d) && utf8.ValidString(s) {
			t.Fatalf("formDecode(%q) = %q, not UTF-8", s, d)
		}
		if !utf8.ValidString(s) {
			return // JavaScript strings reach the encoder as valid UTF-8
		}
		var b strings.Builder
		formEncode(&b, s)
		if got := formDecode(b.String()); got != s {
			t.Fatalf("formDecode(formEncode(%q)) = %q via %q", s, got, b.String())
		}
	})
}

// FuzzForgivingBase64 checks atob's decoder against Go's: what Go encodes
// decodes back, with or without padding and with whitespace anywhere, and
// anything it accepts is a strict decode of the same characters with the
// last byte's spare bits dropped.
func FuzzForgivingBase64(f *testing.F) {
	for _, s := range []string{"", "Zg==", "Zm8", "Zm9v", " Z g = = ", "a", "ab=c", "=", "YQ"} {
		f.Add([]byte(s), s)
	}
	f.Fuzz(func(t *testing.T, b []byte, s string) {
		for _, enc := range []string{base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b)} {
			spaced := strings.Join(strings.Split(enc, ""), " \n")
			for _, in := range []string{enc, spaced} {
				if got, ok := forgivingBase64(in); !ok || !bytes.Equal(got, b) {
					t.Fatalf("forgivingBase64(%q) = %x, %v; want %x", in, got, ok, b)
				}
			}
		}
		got, ok := forgivingBase64(s)
		if !ok {
			return
		}
		if again := base64.RawStdEncoding.EncodeToString(got); len(again) > len(s) {
			t.Fatalf("%q decoded to %d bytes, more than it holds", s, len(got))
		}
	})
}
