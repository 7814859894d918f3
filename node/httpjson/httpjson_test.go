package httpjson

import (
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/picloud/picloud/shared"
)

func TestAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		write  func(w http.ResponseWriter)
		status int
		body   string
	}{
		{"value", func(w http.ResponseWriter) { _ = Write(w, http.StatusCreated, map[string]any{"a": "<b>"}) },
			201, `{"a":"\u003cb\u003e"}` + "\n"},
		{"contract error", func(w http.ResponseWriter) {
			Error(w, shared.Errorf(shared.CodeDomainClaimed, "taken").With("held_by", "shop"))
		}, 409, `{"error":{"code":"domain_claimed","held_by":"shop","message":"taken"}}` + "\n"},
		{"internal error hides its text", func(w http.ResponseWriter) { Error(w, errors.New("disk on fire at /var/x")) },
			500, `{"error":{"code":"internal","message":"internal error"}}` + "\n"},
		{"status override", func(w http.ResponseWriter) {
			Error(w, shared.Errorf(shared.CodeInternal, "the node is starting").WithStatus(http.StatusServiceUnavailable))
		}, 503, `{"error":{"code":"internal","message":"the node is starting"}}` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tc.write(rec)
			if rec.Code != tc.status || rec.Body.String() != tc.body {
				t.Errorf("answer %d %q, want %d %q", rec.Code, rec.Body, tc.status, tc.body)
			}
			if ct, ns := rec.Header().Get("Content-Type"), rec.Header().Get("X-Content-Type-Options"); ct != "application/json" || ns != "nosniff" {
				t.Errorf("headers Content-Type %q, X-Content-Type-Options %q", ct, ns)
			}
		})
	}
}

// A value that does not encode writes nothing, so the caller can still
// answer an internal error instead of a half-written body.
func TestWriteRefusesWhatDoesNotEncode(t *testing.T) {
	rec := httptest.NewRecorder()
	if err := Write(rec, http.StatusOK, math.NaN()); err == nil {
		t.Fatal("NaN encoded")
	}
	if internal := Error(rec, errors.New("encode")); !internal {
		t.Error("a plain error is not reported internal")
	}
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", rec.Code)
	}
}
