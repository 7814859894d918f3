package manager

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/picloud/picloud/shared"
)

func decodeString(body string, dst any) error {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	return decode(r, dst)
}

func TestDecodeNamesUnknownFieldsDeterministically(t *testing.T) {
	for i := 0; i < 20; i++ {
		var req shared.CreateScriptRequest
		err := decodeString(`{"zeta":1,"app_id":"a","alpha":2,"sandbox":{"nope":1}}`, &req)
		e, ok := shared.AsError(err)
		if !ok || e.Code != shared.CodeUnknownField || e.Detail("field") != "alpha" {
			t.Fatalf("decode = %v, want unknown_field alpha (first in order)", err)
		}
	}
}

// Whatever arrives as a body, decode answers with the contract's 400, 413
// or 422, or fills the request; it never panics.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"name":"x"}`, `{"name":5}`, `[]`, `null`, `{"sandbox":{"max_operations":1}}`, `{"sandbox":[1]}`,
		`{"app_id":3,"name":"n","source":"s"}`, `{"app_id":"a"}`, `{"host":null}`, `{"slug":"\u0000"}`, `{"a":{"b":{}}}`, `{`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, dst := range []any{
			&shared.CreateAppRequest{}, &shared.UpdateAppRequest{}, &shared.SlugCheckRequest{},
			&shared.CreateDomainRequest{}, &shared.CreateScriptRequest{}, &shared.UpdateScriptRequest{},
			&shared.CreateRouteRequest{},
		} {
			err := decodeString(body, dst)
			if err == nil {
				continue
			}
			e, ok := shared.AsError(err)
			if !ok {
				t.Fatalf("decode(%q) = %v, not a contract error", body, err)
			}
			switch e.Status {
			case 400, 413, 422:
			default:
				t.Fatalf("decode(%q) = %d %s", body, e.Status, e.Code)
			}
			if _, named := e.Details["field"]; e.Code == shared.CodeUnknownField && !named {
				t.Fatalf("decode(%q): unknown_field without naming it", body)
			}
		}
	})
}
