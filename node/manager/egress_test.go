package manager_test

import (
	"fmt"
	"net/http"
	"reflect"
	"testing"

	"github.com/picloud/picloud/node/nodetest"
	"github.com/picloud/picloud/shared"
)

func TestEgress(t *testing.T) {
	n := start(t)
	mustApp(t, n, "Home", "home")

	t.Run("closed by default", func(t *testing.T) {
		allow, err := n.c.Egress(n.ctx, "home")
		if err != nil || allow == nil || len(allow) != 0 {
			t.Fatalf("new app's egress = %#v, %v; want []", allow, err)
		}
		if status, _, body := n.raw(http.MethodGet, "/api/v1/admin/apps/home/egress", ""); status != http.StatusOK || string(body) != "{\"allow\":[]}\n" {
			t.Errorf("GET = %d %s, want 200 {\"allow\":[]}", status, body)
		}
	})
	t.Run("put normalises and replaces", func(t *testing.T) {
		got, err := n.c.SetEgress(n.ctx, "home", []string{"NTFY.sh", "[::1]:8080", "192.168.1.77/24", "ntfy.sh."})
		want := []string{"ntfy.sh", "[::1]:8080", "192.168.1.0/24"}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("SetEgress = %q, %v; want %q", got, err, want)
		}
		if got, err := n.c.Egress(n.ctx, "home"); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Egress = %q, %v; want %q", got, err, want)
		}
		if got, err := n.c.SetEgress(n.ctx, "home", nil); err != nil || len(got) != 0 {
			t.Fatalf("clearing: %q, %v", got, err)
		}
	})
	t.Run("bad entry is 422 on allow and changes nothing", func(t *testing.T) {
		keep := []string{"api.github.com"}
		if _, err := n.c.SetEgress(n.ctx, "home", keep); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"https://x.example", "10.0.0.0/8:80", "a:99999", ""} {
			t.Run(bad, func(t *testing.T) {
				_, err := n.c.SetEgress(n.ctx, "home", []string{"ok.example", bad})
				e := nodetest.WantError(t, err, http.StatusUnprocessableEntity, shared.CodeValidationFailed)
				if e.Detail("field") != "allow" {
					t.Errorf("%q: field = %q, want allow", bad, e.Detail("field"))
				}
			})
		}
		many := make([]string, shared.MaxEgressEntries+1)
		for i := range many {
			many[i] = fmt.Sprintf("10.0.%d.%d", i/256, i%256)
		}
		_, err := n.c.SetEgress(n.ctx, "home", many)
		nodetest.WantError(t, err, http.StatusUnprocessableEntity, shared.CodeValidationFailed)
		if got, _ := n.c.Egress(n.ctx, "home"); !reflect.DeepEqual(got, keep) {
			t.Errorf("after refused PUTs egress = %q, want %q", got, keep)
		}
	})
	t.Run("shape of the body", func(t *testing.T) {
		cases := []struct {
			name, body string
			status     int
			code       string
		}{
			{"missing allow", `{}`, http.StatusUnprocessableEntity, shared.CodeValidationFailed},
			{"unknown field", `{"allow": [], "deny": []}`, http.StatusUnprocessableEntity, shared.CodeUnknownField},
			{"not a list", `{"allow": "x.example"}`, http.StatusBadRequest, shared.CodeBadJSON},
			{"not json", `allow`, http.StatusBadRequest, shared.CodeBadJSON},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				status, _, body := n.raw(http.MethodPut, "/api/v1/admin/apps/home/egress", tc.body)
				if e := envelope(t, body); status != tc.status || e.Code != tc.code {
					t.Errorf("PUT %s = %d %s, want %d %s", tc.body, status, body, tc.status, tc.code)
				}
			})
		}
	})
	t.Run("unknown app", func(t *testing.T) {
		_, err := n.c.Egress(n.ctx, "nope")
		nodetest.WantError(t, err, http.StatusNotFound, shared.CodeNotFound)
		_, err = n.c.SetEgress(n.ctx, "nope", []string{"x.example"})
		nodetest.WantError(t, err, http.StatusNotFound, shared.CodeNotFound)
	})
}
