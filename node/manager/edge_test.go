package manager

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/julienschmidt/httprouter"

	"github.com/picloud/picloud/shared"
)

// Whatever a handler returns, the edge answers it the contract's way: a
// contract error with its code's status, a redirect as 308, anything else
// as 500 internal with its text in the log and not in the answer.
func TestTheEdgeAnswersWhatHandlersReturn(t *testing.T) {
	var logged bytes.Buffer
	a := NewAPI(Config{Token: func() string { return "t" }, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	for _, tc := range []struct {
		name     string
		err      error
		status   int
		body     string
		location string
		logged   bool
	}{
		{"contract error", shared.Errorf(shared.CodeSlugTaken, "taken"), 409,
			`{"error":{"code":"slug_taken","message":"taken"}}` + "\n", "", false},
		{"wrapped contract error", errors.Join(errors.New("context"), shared.NotFound("app", "x")), 404,
			`{"error":{"code":"not_found","message":"app x not found"}}` + "\n", "", false},
		{"internal error", errors.New("disk on fire"), 500,
			`{"error":{"code":"internal","message":"internal error"}}` + "\n", "", true},
		{"redirect", redirect("/api/v1/admin/apps/new", nil), 308, "", "/api/v1/admin/apps/new", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logged.Reset()
			path := "/test/" + strings.ReplaceAll(tc.name, " ", "-")
			a.handle(http.MethodGet, path, func(http.ResponseWriter, *http.Request, httprouter.Params) error { return tc.err })
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.Header.Set("Authorization", "Bearer t")
			rec := httptest.NewRecorder()
			a.ServeHTTP(rec, req)
			if rec.Code != tc.status || rec.Body.String() != tc.body || rec.Header().Get("Location") != tc.location {
				t.Errorf("answer %d %q Location %q, want %d %q %q", rec.Code, rec.Body, rec.Header().Get("Location"),
					tc.status, tc.body, tc.location)
			}
			if got := strings.Contains(logged.String(), "disk on fire"); got != tc.logged {
				t.Errorf("logged %v, want %v: %s", got, tc.logged, logged.String())
			}
		})
	}
}
