package executor

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"fmt"
	"hash"

	"github.com/dop251/goja"
)

// maxRandomBytes is the most crypto.getRandomValues fills at once (Web
// Crypto: QuotaExceededError above it).
const maxRandomBytes = 65536

// webHashes are the digests of crypto.subtle, by the names web.js
// normalises algorithm names to.
var webHashes = map[string]func() hash.Hash{
	"SHA-1":   sha1.New,
	"SHA-256": sha256.New,
	"SHA-384": sha512.New384,
	"SHA-512": sha512.New,
}

func (sb *sandbox) hashOf(name string) func() hash.Hash {
	h, ok := webHashes[name]
	if !ok {
		sb.throw("TypeError", fmt.Errorf("unknown hash %q", name))
	}
	return h
}

// random(buffer, offset, length) fills the view with random bytes; web.js
// has checked its type and size.
func (sb *sandbox) random(call goja.FunctionCall) goja.Value {
	b := sb.bytesArg(call, 0)
	if len(b) > maxRandomBytes {
		sb.throw("RangeError", fmt.Errorf("getRandomValues fills at most %d bytes", maxRandomBytes))
	}
	sb.chargeBytes(len(b), randomBytesPerOp)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return goja.Undefined()
}

// uuid returns a random (version 4) UUID in its canonical form.
func (sb *sandbox) uuid(goja.FunctionCall) goja.Value {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return sb.rt.ToValue(fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16]))
}

// digest(name, buffer, offset, length) returns the hash of the view.
func (sb *sandbox) digest(call goja.FunctionCall) goja.Value {
	h := sb.hashOf(call.Argument(0).String())()
	data := sb.bytesArg(call, 1)
	sb.chargeBytes(len(data), hashBytesPerOp)
	h.Write(data)
	return sb.buffer(h.Sum(nil))
}

// hmac(name, key..., data...) returns HMAC(key, data) with the named hash;
// key and data are (buffer, offset, length) each.
func (sb *sandbox) hmac(call goja.FunctionCall) goja.Value {
	return sb.buffer(sb.mac(call))
}

func (sb *sandbox) mac(call goja.FunctionCall) []byte {
	newHash := sb.hashOf(call.Argument(0).String())
	key, data := sb.bytesArg(call, 1), sb.bytesArg(call, 4)
	sb.chargeBytes(len(key)+len(data), hashBytesPerOp)
	m := hmac.New(newHash, key)
	m.Write(data)
	return m.Sum(nil)
}

// hmacVerify(name, key..., data..., signature...) reports whether the
// signature is the HMAC of data, compared in constant time.
func (sb *sandbox) hmacVerify(call goja.FunctionCall) goja.Value {
	sig := sb.bytesArg(call, 7)
	return sb.rt.ToValue(hmac.Equal(sb.mac(call), sig))
}

// equal(a..., b...) compares two views of equal length in constant time
// (crypto.subtle.timingSafeEqual).
func (sb *sandbox) equal(call goja.FunctionCall) goja.Value {
	a, b := sb.bytesArg(call, 0), sb.bytesArg(call, 3)
	sb.chargeBytes(len(a), hashBytesPerOp)
	return sb.rt.ToValue(subtle.ConstantTimeCompare(a, b) == 1)
}
