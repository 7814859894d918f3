// Package httpjson writes the node's JSON answers: the admin API's, the
// data plane's errors and /healthz and /version all go through Write, so
// they carry the same headers, and a value that does not encode is an
// internal error, never a truncated body.
package httpjson

import (
	"encoding/json"
	"net/http"

	"github.com/picloud/picloud/shared"
)

// Write answers status with v as JSON followed by a newline. v is encoded
// before anything is written: when it does not encode, nothing is written
// and the error is returned, for the caller to answer as an internal error.
func Write(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	write(w, status, b)
	return nil
}

// Error answers err in the contract's envelope, with the status of its
// code (shared.StatusOf). An error that is not a *shared.Error is internal:
// it answers 500 internal and its text stays out of the answer; Error
// reports it, so the caller can log it.
func Error(w http.ResponseWriter, err error) (internal bool) {
	e, ok := shared.AsError(err)
	if !ok {
		e = shared.Errorf(shared.CodeInternal, "internal error")
	}
	b, merr := e.MarshalJSON()
	if merr != nil { // details are plain values; never expected
		e, b = shared.Errorf(shared.CodeInternal, "internal error"), []byte(internalBody)
	}
	write(w, e.Status, b)
	return !ok
}

const internalBody = `{"error":{"code":"internal","message":"internal error"}}`

func write(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}
