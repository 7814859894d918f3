package manager_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/picloud/picloud/node/nodetest"
	"github.com/picloud/picloud/shared"
)

// A save made against the version an editor loaded either applies or is
// refused with the version it would have overwritten (SPEC §3, Scripts).
func TestUpdateScriptIfVersion(t *testing.T) {
	n := start(t)
	mustApp(t, n, "A", "a")
	s, err := n.c.CreateScript(n.ctx, shared.CreateScriptRequest{AppID: "a", Name: "one", Source: hello})
	if err != nil {
		t.Fatal(err)
	}
	ptr := func(v int64) *int64 { return &v }
	src := func(v string) *string { return &v }

	t.Run("current version saves", func(t *testing.T) {
		got, err := n.c.UpdateScript(n.ctx, s.ID, shared.UpdateScriptRequest{IfVersion: ptr(1), Source: src(`function handle() { return "mine"; }`)})
		if err != nil || got.Version != 2 {
			t.Fatalf("UpdateScript(if_version 1) = v%d, %v", got.Version, err)
		}
	})
	t.Run("stale version is refused and changes nothing", func(t *testing.T) {
		_, err := n.c.UpdateScript(n.ctx, s.ID, shared.UpdateScriptRequest{IfVersion: ptr(1), Source: src(`function handle() { return "theirs"; }`)})
		e := nodetest.WantError(t, err, http.StatusConflict, shared.CodeVersionConflict)
		if v, ok := shared.ConflictVersion(e); !ok || v != 2 {
			t.Errorf("current_version = %v (%v), want 2; details %v", v, ok, e.Details)
		}
		if !strings.Contains(e.Message, "version 2") {
			t.Errorf("message %q does not name the current version", e.Message)
		}
		cur, _ := n.c.Script(n.ctx, s.ID)
		if cur.Version != 2 || !strings.Contains(cur.Source, "mine") {
			t.Errorf("after a refused save: v%d %q", cur.Version, cur.Source)
		}
	})
	t.Run("conflict comes before checking the change", func(t *testing.T) {
		_, err := n.c.UpdateScript(n.ctx, s.ID, shared.UpdateScriptRequest{IfVersion: ptr(1), Source: src("function handle( {")})
		nodetest.WantError(t, err, http.StatusConflict, shared.CodeVersionConflict)
	})
	t.Run("without if_version the last save wins", func(t *testing.T) {
		if _, err := n.c.UpdateScript(n.ctx, s.ID, shared.UpdateScriptRequest{Source: src(hello)}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("two saves against one version: exactly one wins", func(t *testing.T) {
		cur, _ := n.c.Script(n.ctx, s.ID)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := `function handle() { return "` + strings.Repeat("x", i+1) + `"; }`
				_, errs[i] = n.c.UpdateScript(n.ctx, s.ID, shared.UpdateScriptRequest{IfVersion: ptr(cur.Version), Source: &body})
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !shared.IsCode(err, shared.CodeVersionConflict):
				t.Errorf("unexpected error: %v", err)
			}
		}
		if after, _ := n.c.Script(n.ctx, s.ID); won != 1 || after.Version != cur.Version+1 {
			t.Errorf("%d saves won, version %d -> %d; want exactly one, +1", won, cur.Version, after.Version)
		}
	})
}
