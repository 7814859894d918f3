package store

import (
	"context"
	"net/http"
	"reflect"
	"testing"

	"github.com/picloud/picloud/shared"
)

func TestScriptVersionsAndFields(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a := mkApp(t, s, "a")
	sc, err := s.CreateScript(ctx, shared.Script{AppID: a.ID, Name: "api", Source: "function handle(){}",
		Description: "d", MemoryLimitMB: 32, Sandbox: shared.Overrides{"timeout_ms": 100}})
	if err != nil {
		t.Fatal(err)
	}
	if sc.Version != 1 || sc.AppSlug != "a" || sc.MemoryLimitMB != 32 || sc.Description != "d" ||
		!reflect.DeepEqual(sc.Sandbox, shared.Overrides{"timeout_ms": 100}) {
		t.Fatalf("CreateScript = %+v", sc)
	}
	steps := []struct {
		name    string
		u       shared.UpdateScriptRequest
		version int64
	}{
		{"source", shared.UpdateScriptRequest{Source: ptr("function handle(){ return 1 }")}, 2},
		{"same source again", shared.UpdateScriptRequest{Source: ptr("function handle(){ return 1 }")}, 2},
		{"empty patch", shared.UpdateScriptRequest{}, 2},
		{"name", shared.UpdateScriptRequest{Name: ptr("api2")}, 3},
		{"description", shared.UpdateScriptRequest{Description: ptr("")}, 4},
		{"memory", shared.UpdateScriptRequest{MemoryLimitMB: ptr(int64(0))}, 5},
		{"sandbox", shared.UpdateScriptRequest{Sandbox: &shared.Overrides{"max_operations": 500}}, 6},
		{"sandbox cleared", shared.UpdateScriptRequest{Sandbox: &shared.Overrides{}}, 7},
		{"sandbox cleared again (nil map)", shared.UpdateScriptRequest{Sandbox: new(shared.Overrides)}, 7},
	}
	for _, st := range steps {
		got, err := s.UpdateScript(ctx, sc.ID, st.u)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got.Version != st.version {
			t.Errorf("%s: version = %d, want %d", st.name, got.Version, st.version)
		}
		stored, err := s.Script(ctx, sc.ID)
		if err != nil || !reflect.DeepEqual(stored, got) {
			t.Errorf("%s: stored %+v, returned %+v (%v)", st.name, stored, got, err)
		}
	}
	got, _ := s.Script(ctx, sc.ID)
	want := shared.Script{ID: sc.ID, AppID: a.ID, AppSlug: "a", Name: "api2", Source: "function handle(){ return 1 }",
		Sandbox: shared.Overrides{}, Version: 7, CreatedAt: sc.CreatedAt, UpdatedAt: got.UpdatedAt}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("final script =\n%+v\nwant\n%+v", got, want)
	}
	var raw string
	s.r.QueryRow(`SELECT sandbox FROM scripts WHERE id = ?`, sc.ID).Scan(&raw)
	if raw != "{}" {
		t.Errorf("stored sandbox = %q, want {}", raw)
	}
}

func TestScriptNamesAndLookups(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a, b := mkApp(t, s, "a"), mkApp(t, s, "b")
	one := mkScript(t, s, a.ID, "one")
	two := mkScript(t, s, a.ID, "two")
	mkScript(t, s, b.ID, "one") // names are unique per app only

	_, err := s.CreateScript(ctx, shared.Script{AppID: a.ID, Name: "one", Source: "x"})
	if e := wantCode(t, err, http.StatusConflict, shared.CodeScriptNameTaken); e.Detail("field") != "name" {
		t.Errorf("field = %q", e.Detail("field"))
	}
	_, err = s.UpdateScript(ctx, two.ID, shared.UpdateScriptRequest{Name: ptr("one")})
	wantCode(t, err, http.StatusConflict, shared.CodeScriptNameTaken)
	if got, err := s.UpdateScript(ctx, one.ID, shared.UpdateScriptRequest{Name: ptr("one")}); err != nil || got.Version != 1 {
		t.Errorf("renaming to its own name = %+v, %v", got, err)
	}
	_, err = s.CreateScript(ctx, shared.Script{AppID: 999, Name: "x", Source: "x"})
	wantCode(t, err, http.StatusNotFound, shared.CodeNotFound)
	_, err = s.Script(ctx, 999)
	wantCode(t, err, http.StatusNotFound, shared.CodeNotFound)
	_, err = s.UpdateScript(ctx, 999, shared.UpdateScriptRequest{Source: ptr("x")})
	wantCode(t, err, http.StatusNotFound, shared.CodeNotFound)
	wantCode(t, s.DeleteScript(ctx, 999), http.StatusNotFound, shared.CodeNotFound)
	_, err = s.Scripts(ctx, 999)
	wantCode(t, err, http.StatusNotFound, shared.CodeNotFound)

	all, err := s.Scripts(ctx, 0)
	if err != nil || len(all) != 4 { // hello-world + 3
		t.Fatalf("Scripts(0) = %d scripts, %v", len(all), err)
	}
	ofA, err := s.Scripts(ctx, a.ID)
	if err != nil || len(ofA) != 2 || ofA[0].Name != "one" || ofA[1].Name != "two" {
		t.Fatalf("Scripts(a) = %+v, %v", ofA, err)
	}
}

func TestDeleteScriptKeepsLogsDropsRoutes(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a := mkApp(t, s, "a")
	mkDomain(t, s, a.ID, "a.example")
	gone, kept := mkScript(t, s, a.ID, "gone"), mkScript(t, s, a.ID, "kept")
	r1 := mkRoute(t, s, a.ID, gone.ID, "GET", "/gone", nil)
	mkRoute(t, s, a.ID, gone.ID, "POST", "/gone", ptr("a.example"))
	r3 := mkRoute(t, s, a.ID, kept.ID, "GET", "/kept", nil)
	if err := s.InsertLogs(ctx, []shared.Log{
		{AppID: a.ID, ScriptID: gone.ID, RouteID: &r1.ID, Trigger: shared.TriggerRoute, Status: 200},
		{AppID: a.ID, ScriptID: gone.ID, Trigger: shared.TriggerExecute, Status: 500, Error: "boom"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteScript(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	rs, _ := s.Routes(ctx, a.ID)
	if len(rs) != 1 || rs[0].ID != r3.ID {
		t.Errorf("routes after deleting the script = %+v", rs)
	}
	logs, err := s.Logs(ctx, a.ID, gone.ID, 10, 0)
	if err != nil || len(logs) != 2 || logs[1].RouteID == nil || *logs[1].RouteID != r1.ID || logs[0].Error != "boom" {
		t.Errorf("logs of the deleted script = %+v, %v", logs, err)
	}
	var violations int
	rows, _ := s.r.Query(`PRAGMA foreign_key_check`)
	for rows.Next() {
		violations++
	}
	rows.Close()
	if violations != 0 {
		t.Errorf("%d foreign key violations", violations)
	}
	// A new script never gets the deleted one's id: the executor caches
	// compiled programs by (id, version).
	if again := mkScript(t, s, a.ID, "gone"); again.ID == gone.ID {
		t.Errorf("script id %d reused", again.ID)
	}
}
