package store

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/picloud/picloud/shared"
)

// Every write the store refuses leaves the database exactly as it was, even
// when the request also carried valid changes.
func TestRejectedWritesChangeNothing(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	def, _ := s.App(ctx, shared.DefaultAppSlug)
	a := mkApp(t, s, "a")
	rename(t, s, a.ID, "a2", false) // "a" is now reserved for app a2
	b := mkApp(t, s, "b")
	wild := mkDomain(t, s, a.ID, "*.a.example")
	sa := mkScript(t, s, a.ID, "one")
	mkScript(t, s, a.ID, "two")
	sb := mkScript(t, s, b.ID, "other")
	r := mkRoute(t, s, a.ID, sa.ID, "GET", "/x", ptr("api.a.example"))
	if err := s.InsertLogs(ctx, logsFor(a.ID, sa.ID, 3, time.Now())); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		do     func() error
		status int
		code   string
	}{
		{"create on a current slug", func() error {
			_, err := s.CreateApp(ctx, shared.App{Slug: "b", Name: "x"}, false)
			return err
		}, http.StatusConflict, shared.CodeSlugTaken},
		{"create on a reserved slug", func() error {
			_, err := s.CreateApp(ctx, shared.App{Slug: "a", Name: "x"}, false)
			return err
		}, http.StatusConflict, shared.CodeSlugReserved},
		{"rename plus name onto a taken slug", func() error {
			_, err := s.UpdateApp(ctx, b.ID, shared.UpdateAppRequest{Name: ptr("changed"), Description: ptr("changed"), Slug: ptr("a2")}, true)
			return err
		}, http.StatusConflict, shared.CodeSlugTaken},
		{"rename plus name onto a reserved slug", func() error {
			_, err := s.UpdateApp(ctx, b.ID, shared.UpdateAppRequest{Name: ptr("changed"), Slug: ptr("a")}, false)
			return err
		}, http.StatusConflict, shared.CodeSlugReserved},
		{"rename the default app", func() error {
			_, err := s.UpdateApp(ctx, def.ID, shared.UpdateAppRequest{Name: ptr("changed"), Slug: ptr("home")}, true)
			return err
		}, http.StatusConflict, shared.CodeDefaultApp},
		{"delete the default app", func() error { return s.DeleteApp(ctx, def.ID) }, http.StatusConflict, shared.CodeDefaultApp},
		{"claim a held shape", func() error {
			_, err := s.AddDomain(ctx, b.ID, "*.a.example", "*.a.example")
			return err
		}, http.StatusConflict, shared.CodeDomainClaimed},
		{"drop a claim in use", func() error { return s.DeleteDomain(ctx, a.ID, wild.ID) }, http.StatusConflict, shared.CodeDomainInUse},
		{"drop the default localhost", func() error { return s.DeleteDomain(ctx, def.ID, def.Domains[0].ID) }, http.StatusConflict, shared.CodeDefaultApp},
		{"drop another app's claim", func() error { return s.DeleteDomain(ctx, b.ID, wild.ID) }, http.StatusNotFound, shared.CodeNotFound},
		{"script name taken", func() error {
			_, err := s.CreateScript(ctx, shared.Script{AppID: a.ID, Name: "one", Source: "x"})
			return err
		}, http.StatusConflict, shared.CodeScriptNameTaken},
		{"script rename plus source onto a taken name", func() error {
			_, err := s.UpdateScript(ctx, sa.ID, shared.UpdateScriptRequest{Name: ptr("two"), Source: ptr("changed"),
				Sandbox: &shared.Overrides{"timeout_ms": 1}})
			return err
		}, http.StatusConflict, shared.CodeScriptNameTaken},
		{"script of a missing app", func() error {
			_, err := s.CreateScript(ctx, shared.Script{AppID: 999, Name: "x", Source: "x"})
			return err
		}, http.StatusNotFound, shared.CodeNotFound},
		{"duplicate route", func() error {
			_, err := s.CreateRoute(ctx, shared.Route{AppID: a.ID, ScriptID: sa.ID, Method: "GET", Path: "/x", Host: ptr("api.a.example")}, nil)
			return err
		}, http.StatusConflict, shared.CodeRouteConflict},
		{"route to another app's script", func() error {
			_, err := s.CreateRoute(ctx, shared.Route{AppID: a.ID, ScriptID: sb.ID, Method: "GET", Path: "/y"}, nil)
			return err
		}, http.StatusUnprocessableEntity, shared.CodeValidationFailed},
		{"route vetoed by check", func() error {
			_, err := s.CreateRoute(ctx, shared.Route{AppID: a.ID, ScriptID: sa.ID, Method: "GET", Path: "/y", Host: ptr("b.example")},
				func([]shared.Route, []shared.Domain) error {
					return shared.Errorf(shared.CodeHostNotClaimed, "b.example is not claimed")
				})
			return err
		}, http.StatusUnprocessableEntity, shared.CodeHostNotClaimed},
		{"delete another app's route", func() error { return s.DeleteRoute(ctx, b.ID, r.ID) }, http.StatusNotFound, shared.CodeNotFound},
	}
	for _, tt := range tests {
		before := dump(t, s)
		err := tt.do()
		e, ok := shared.AsError(err)
		if !ok || e.Status != tt.status || e.Code != tt.code {
			t.Errorf("%s: error = %v, want %d %s", tt.name, err, tt.status, tt.code)
		}
		if after := dump(t, s); after != before {
			t.Errorf("%s: the refused write changed the database:\n%s\nwas\n%s", tt.name, after, before)
		}
	}
	// A cancelled request writes nothing either.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	before := dump(t, s)
	if _, err := s.CreateApp(cancelled, shared.App{Slug: "late", Name: "late"}, false); err == nil {
		t.Error("CreateApp with a cancelled context succeeded")
	}
	if dump(t, s) != before {
		t.Error("a cancelled write changed the database")
	}
}
