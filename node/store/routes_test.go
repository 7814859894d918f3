package store

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"sync"
	"testing"

	"github.com/picloud/picloud/shared"
)

func TestRouteUniqueness(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a, b := mkApp(t, s, "a"), mkApp(t, s, "b")
	sa, sb := mkScript(t, s, a.ID, "main"), mkScript(t, s, b.ID, "main")
	first := mkRoute(t, s, a.ID, sa.ID, "GET", "/", nil)
	named := mkRoute(t, s, a.ID, sa.ID, "GET", "/", ptr("a.example"))
	tests := []struct {
		name     string
		r        shared.Route
		conflict *shared.Route
	}{
		{"same host-less route", shared.Route{AppID: a.ID, ScriptID: sa.ID, Method: "GET", Path: "/"}, &first},
		{"same named route", shared.Route{AppID: a.ID, ScriptID: sa.ID, Method: "GET", Path: "/", Host: ptr("a.example")}, &named},
		{"other method", shared.Route{AppID: a.ID, ScriptID: sa.ID, Method: "POST", Path: "/"}, nil},
		{"other host", shared.Route{AppID: a.ID, ScriptID: sa.ID, Method: "GET", Path: "/", Host: ptr("b.example")}, nil},
		{"other path", shared.Route{AppID: a.ID, ScriptID: sa.ID, Method: "GET", Path: "/x"}, nil},
		{"other app", shared.Route{AppID: b.ID, ScriptID: sb.ID, Method: "GET", Path: "/"}, nil},
	}
	for _, tt := range tests {
		before := dump(t, s)
		got, err := s.CreateRoute(ctx, tt.r, nil)
		if tt.conflict == nil {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			} else if got.ID == 0 || got.Method != tt.r.Method || got.Path != tt.r.Path || !sameHost(got.Host, tt.r.Host) || got.CreatedAt.IsZero() {
				t.Errorf("%s: created %+v", tt.name, got)
			}
			continue
		}
		e := wantCode(t, err, http.StatusConflict, shared.CodeRouteConflict)
		if id, _ := e.Details["route_id"].(int64); id != tt.conflict.ID {
			t.Errorf("%s: route_id = %v, want %d", tt.name, e.Details["route_id"], tt.conflict.ID)
		}
		if r, _ := e.Details["route"].(shared.Route); !reflect.DeepEqual(r, *tt.conflict) {
			t.Errorf("%s: route = %+v, want %+v", tt.name, e.Details["route"], *tt.conflict)
		}
		if dump(t, s) != before {
			t.Errorf("%s: a refused route changed the database", tt.name)
		}
	}
}

// The schema itself treats a NULL host as one value, so even a writer that
// skipped the store's checks could not store the same host-less route twice.
func TestRouteSchemaUniqueNullHost(t *testing.T) {
	s, _ := openTest(t)
	def, _ := s.App(context.Background(), "default")
	rs, _ := s.Routes(context.Background(), def.ID)
	_, err := s.w.Exec(`INSERT INTO routes (app_id, script_id, method, path, host, created_at) VALUES (?, ?, 'GET', '/', NULL, 'now')`,
		def.ID, rs[0].ScriptID)
	if err == nil {
		t.Fatal("a second host-less GET / was stored")
	}
	// Nor could a route point at a script of another app.
	b := mkApp(t, s, "b")
	sb := mkScript(t, s, b.ID, "x")
	_, err = s.w.Exec(`INSERT INTO routes (app_id, script_id, method, path, host, created_at) VALUES (?, ?, 'GET', '/b', NULL, 'now')`,
		def.ID, sb.ID)
	if err == nil {
		t.Fatal("a route of one app was stored pointing at a script of another")
	}
}

func TestCreateRouteRefusals(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a, b := mkApp(t, s, "a"), mkApp(t, s, "b")
	mkDomain(t, s, a.ID, "a.example")
	sa, sb := mkScript(t, s, a.ID, "main"), mkScript(t, s, b.ID, "main")
	existing := mkRoute(t, s, a.ID, sa.ID, "GET", "/users/:id", nil)

	before := dump(t, s)
	_, err := s.CreateRoute(ctx, shared.Route{AppID: a.ID, ScriptID: sb.ID, Method: "GET", Path: "/b"}, nil)
	if e := wantCode(t, err, http.StatusUnprocessableEntity, shared.CodeValidationFailed); e.Detail("field") != "script_id" {
		t.Errorf("field = %q", e.Detail("field"))
	}
	_, err = s.CreateRoute(ctx, shared.Route{AppID: a.ID, ScriptID: 999, Method: "GET", Path: "/b"}, nil)
	if e := wantCode(t, err, http.StatusUnprocessableEntity, shared.CodeValidationFailed); e.Detail("field") != "script_id" {
		t.Errorf("unknown script: field %q, want script_id", e.Detail("field"))
	}
	_, err = s.CreateRoute(ctx, shared.Route{AppID: 999, ScriptID: sa.ID, Method: "GET", Path: "/b"}, nil)
	wantCode(t, err, http.StatusNotFound, shared.CodeNotFound)

	// check sees the app's routes and domains and can veto.
	var sawRoutes []shared.Route
	var sawDomains []shared.Domain
	veto := shared.Errorf(shared.CodeHostNotClaimed, "nope")
	_, err = s.CreateRoute(ctx, shared.Route{AppID: a.ID, ScriptID: sa.ID, Method: "GET", Path: "/x", Host: ptr("b.example")},
		func(rs []shared.Route, ds []shared.Domain) error {
			sawRoutes, sawDomains = rs, ds
			return veto
		})
	if !errors.Is(err, veto) {
		t.Fatalf("vetoed CreateRoute = %v", err)
	}
	if len(sawRoutes) != 1 || sawRoutes[0].ID != existing.ID || len(sawDomains) != 1 || sawDomains[0].Pattern != "a.example" {
		t.Errorf("check saw routes %+v, domains %+v", sawRoutes, sawDomains)
	}
	if dump(t, s) != before {
		t.Error("refused routes changed the database")
	}

	wantCode(t, s.DeleteRoute(ctx, b.ID, existing.ID), http.StatusNotFound, shared.CodeNotFound) // another app's route
	wantCode(t, s.DeleteRoute(ctx, a.ID, 999), http.StatusNotFound, shared.CodeNotFound)
	if err := s.DeleteRoute(ctx, a.ID, existing.ID); err != nil {
		t.Fatal(err)
	}
	if rs, _ := s.Routes(ctx, a.ID); len(rs) != 0 {
		t.Errorf("routes after delete = %+v", rs)
	}
	_, err = s.Routes(ctx, 999)
	wantCode(t, err, http.StatusNotFound, shared.CodeNotFound)
}

// check runs inside the write transaction: of many writers adding routes
// that clash pairwise, exactly one gets in.
func TestCreateRouteCheckIsAtomic(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a := mkApp(t, s, "a")
	sc := mkScript(t, s, a.ID, "main")
	check := func(r shared.Route) func([]shared.Route, []shared.Domain) error {
		return func(existing []shared.Route, _ []shared.Domain) error {
			if c := shared.RoutesConflict(existing, r); c != nil {
				return shared.RouteConflictError(*c)
			}
			return nil
		}
	}
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// /users/:p0, /users/:p1, ... cannot live in one httprouter tree.
			r := shared.Route{AppID: a.ID, ScriptID: sc.ID, Method: "GET", Path: "/users/:p" + string(rune('a'+i))}
			_, err := s.CreateRoute(ctx, r, check(r))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case !shared.IsCode(err, shared.CodeRouteConflict):
			t.Errorf("unexpected error: %v", err)
		}
	}
	rs, _ := s.Routes(ctx, a.ID)
	if ok != 1 || len(rs) != 1 {
		t.Fatalf("%d writers succeeded, %d routes stored; want exactly 1", ok, len(rs))
	}
}
