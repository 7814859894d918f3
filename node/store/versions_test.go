package store

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"testing"

	"github.com/picloud/picloud/shared"
)

// versionsOf is the (version, source) pairs of a script's history, newest
// first.
func versionsOf(t *testing.T, s *Store, id int64) []string {
	t.Helper()
	vs, err := s.ScriptVersions(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = fmt.Sprintf("%d:%s:%v", v.Version, v.Source, v.Sandbox)
	}
	return out
}

func TestScriptVersionsKeepEveryContent(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a := mkApp(t, s, "a")
	sc, err := s.CreateScript(ctx, shared.Script{AppID: a.ID, Name: "api", Source: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		u    shared.UpdateScriptRequest
		want []string
	}{
		{"created", shared.UpdateScriptRequest{}, []string{"1:v1:map[]"}},
		{"source", shared.UpdateScriptRequest{Source: ptr("v2")}, []string{"2:v2:map[]", "1:v1:map[]"}},
		{"rename is no new content", shared.UpdateScriptRequest{Name: ptr("api2")},
			[]string{"2:v2:map[]", "1:v1:map[]"}},
		{"sandbox", shared.UpdateScriptRequest{Sandbox: &shared.Overrides{"timeout_ms": 9}},
			[]string{"4:v2:map[timeout_ms:9]", "2:v2:map[]", "1:v1:map[]"}},
		{"same content again", shared.UpdateScriptRequest{Source: ptr("v2")},
			[]string{"4:v2:map[timeout_ms:9]", "2:v2:map[]", "1:v1:map[]"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if _, err := s.UpdateScript(ctx, sc.ID, st.u); err != nil {
				t.Fatal(err)
			}
			if got := versionsOf(t, s, sc.ID); !reflect.DeepEqual(got, st.want) {
				t.Errorf("versions = %q, want %q", got, st.want)
			}
		})
	}
	v, err := s.ScriptVersion(ctx, sc.ID, 1)
	if err != nil || v.Source != "v1" || v.CreatedAt.IsZero() {
		t.Errorf("ScriptVersion(1) = %+v, %v", v, err)
	}
	wantCode(t, errOnly(s.ScriptVersion(ctx, sc.ID, 3)), http.StatusNotFound, shared.CodeNotFound)
	wantCode(t, errOnly(s.ScriptVersions(ctx, sc.ID+100)), http.StatusNotFound, shared.CodeNotFound)
}

func errOnly[T any](_ T, err error) error { return err }

func TestScriptVersionsKeepTheLast50(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	a := mkApp(t, s, "a")
	sc, err := s.CreateScript(ctx, shared.Script{AppID: a.ID, Name: "api", Source: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 2; i <= 60; i++ {
		if _, err := s.UpdateScript(ctx, sc.ID, shared.UpdateScriptRequest{Source: ptr(fmt.Sprintf("v%d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s = openAt(t, path) // the history is in the file, not in memory
	vs, err := s.ScriptVersions(ctx, sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != KeptVersions || vs[0].Version != 60 || vs[0].Source != "v60" || vs[len(vs)-1].Version != 11 {
		t.Fatalf("kept %d versions, %d..%d", len(vs), vs[0].Version, vs[len(vs)-1].Version)
	}
	wantCode(t, errOnly(s.ScriptVersion(ctx, sc.ID, 10)), http.StatusNotFound, shared.CodeNotFound)
}

func TestScriptVersionsGoWithTheScript(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a := mkApp(t, s, "a")
	sc := mkScript(t, s, a.ID, "api")
	if _, err := s.UpdateScript(ctx, sc.ID, shared.UpdateScriptRequest{Source: ptr("function handle(){ return 2 }")}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteApp(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRow(`SELECT count(*) FROM script_versions WHERE script_id = ?`, sc.ID).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d versions left after the app was deleted (%v)", n, err)
	}
}

func TestSeededScriptHasItsFirstVersion(t *testing.T) {
	s, _ := openTest(t)
	scripts, err := s.Scripts(context.Background(), 0)
	if err != nil || len(scripts) != 1 {
		t.Fatalf("scripts = %v, %v", scripts, err)
	}
	vs, err := s.ScriptVersions(context.Background(), scripts[0].ID)
	if err != nil || len(vs) != 1 || vs[0].Version != 1 || vs[0].Source != scripts[0].Source {
		t.Errorf("versions of the seeded script = %+v, %v", vs, err)
	}
}
