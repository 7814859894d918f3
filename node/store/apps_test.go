package store

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/picloud/picloud/shared"
)

func rename(t *testing.T, s *Store, id int64, slug string, takeover bool) (shared.App, error) {
	t.Helper()
	return s.UpdateApp(context.Background(), id, shared.UpdateAppRequest{Slug: &slug}, takeover)
}

func TestSlugRenameChainRedirects(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a := mkApp(t, s, "a")
	for _, slug := range []string{"b", "c"} {
		got, err := rename(t, s, a.ID, slug, false)
		if err != nil {
			t.Fatalf("rename to %s: %v", slug, err)
		}
		if got.Slug != slug || got.ID != a.ID {
			t.Fatalf("rename to %s = %+v", slug, got)
		}
	}
	for _, old := range []string{"a", "b"} {
		got, err := s.AppByOldSlug(ctx, old)
		if err != nil || got.ID != a.ID || got.Slug != "c" {
			t.Errorf("AppByOldSlug(%s) = %+v, %v; want app %d now called c", old, got, err, a.ID)
		}
		if _, err := s.App(ctx, old); !shared.IsCode(err, shared.CodeNotFound) {
			t.Errorf("App(%s) by old slug = %v, want not_found (the caller redirects)", old, err)
		}
	}
	if _, err := s.AppByOldSlug(ctx, "c"); !shared.IsCode(err, shared.CodeNotFound) {
		t.Errorf("AppByOldSlug(current slug) = %v, want not_found", err)
	}

	// Taking an own old slug back removes it from the history; the rest of
	// the chain keeps redirecting.
	if _, err := rename(t, s, a.ID, "a", false); err != nil {
		t.Fatalf("rename back to a: %v", err)
	}
	if _, err := s.AppByOldSlug(ctx, "a"); !shared.IsCode(err, shared.CodeNotFound) {
		t.Errorf("a is current again but still in the history: %v", err)
	}
	for _, old := range []string{"b", "c"} {
		if got, err := s.AppByOldSlug(ctx, old); err != nil || got.Slug != "a" {
			t.Errorf("AppByOldSlug(%s) = %+v, %v; want a", old, got, err)
		}
	}
	// The history lists what still redirects, newest first.
	hist, err := s.SlugHistory(ctx, a.ID)
	if err != nil || len(hist) != 2 || hist[0].Slug != "c" || hist[1].Slug != "b" || hist[0].CreatedAt.IsZero() {
		t.Errorf("SlugHistory = %+v, %v; want c then b", hist, err)
	}
	if _, err := s.SlugHistory(ctx, 999999); !shared.IsCode(err, shared.CodeNotFound) {
		t.Errorf("SlugHistory of no app = %v, want not_found", err)
	}
	// Renaming to the current slug changes nothing.
	before := dump(t, s)
	if _, err := rename(t, s, a.ID, "a", false); err != nil {
		t.Fatal(err)
	}
	if dump(t, s) != before {
		t.Error("renaming to the current slug changed the database")
	}
}

func TestSlugStatus(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a := mkApp(t, s, "first")
	if _, err := rename(t, s, a.ID, "second", false); err != nil {
		t.Fatal(err)
	}
	b := mkApp(t, s, "other")
	tests := []struct {
		app        int64
		slug       string
		status, by string
	}{
		{a.ID, "second", shared.SlugCurrent, ""},
		{a.ID, "first", shared.SlugOwnHistory, ""},
		{a.ID, "other", shared.SlugTaken, "other"},
		{a.ID, "free", shared.SlugAvailable, ""},
		{b.ID, "first", shared.SlugReserved, "second"},
		{b.ID, "second", shared.SlugTaken, "second"},
		{b.ID, "other", shared.SlugCurrent, ""},
		{0, "first", shared.SlugReserved, "second"},
		{0, "other", shared.SlugTaken, "other"},
		{0, "default", shared.SlugTaken, "default"},
		{0, "free", shared.SlugAvailable, ""},
	}
	for _, tt := range tests {
		status, by, err := s.SlugStatus(ctx, tt.app, tt.slug)
		if err != nil || status != tt.status || by != tt.by {
			t.Errorf("SlugStatus(%d, %s) = %s, %q, %v; want %s, %q", tt.app, tt.slug, status, by, err, tt.status, tt.by)
		}
	}
	if _, _, err := s.SlugStatus(ctx, 9999, "x"); !shared.IsCode(err, shared.CodeNotFound) {
		t.Errorf("SlugStatus of a missing app = %v, want not_found", err)
	}
}

func TestSlugConflictsAndTakeover(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a := mkApp(t, s, "a")
	rename(t, s, a.ID, "a2", false)
	rename(t, s, a.ID, "a3", false) // history: a, a2 → app a (now a3)
	b := mkApp(t, s, "b")

	_, err := s.CreateApp(ctx, shared.App{Slug: "a3", Name: "x"}, false)
	if e := wantCode(t, err, http.StatusConflict, shared.CodeSlugTaken); e.Detail("held_by") != "a3" {
		t.Errorf("held_by = %q", e.Detail("held_by"))
	}
	_, err = s.CreateApp(ctx, shared.App{Slug: "a3", Name: "x"}, true)
	wantCode(t, err, http.StatusConflict, shared.CodeSlugTaken) // takeover never takes a current slug
	_, err = s.CreateApp(ctx, shared.App{Slug: "a", Name: "x"}, false)
	if e := wantCode(t, err, http.StatusConflict, shared.CodeSlugReserved); e.Detail("held_by") != "a3" {
		t.Errorf("held_by = %q", e.Detail("held_by"))
	}
	_, err = rename(t, s, b.ID, "a2", false)
	wantCode(t, err, http.StatusConflict, shared.CodeSlugReserved)
	_, err = rename(t, s, b.ID, "a3", true)
	wantCode(t, err, http.StatusConflict, shared.CodeSlugTaken)

	// Takeover by create: the old slug stops redirecting, the rest stays.
	c, err := s.CreateApp(ctx, shared.App{Slug: "a", Name: "C"}, true)
	if err != nil {
		t.Fatalf("create with takeover: %v", err)
	}
	if got, err := s.App(ctx, "a"); err != nil || got.ID != c.ID {
		t.Errorf("App(a) = %+v, %v; want the new app", got, err)
	}
	if _, err := s.AppByOldSlug(ctx, "a"); !shared.IsCode(err, shared.CodeNotFound) {
		t.Errorf("a still redirects after takeover: %v", err)
	}
	if got, err := s.AppByOldSlug(ctx, "a2"); err != nil || got.ID != a.ID {
		t.Errorf("a2 = %+v, %v; want app %d", got, err, a.ID)
	}
	// Takeover by rename: b takes a2 and leaves b behind as its own old slug.
	if _, err := rename(t, s, b.ID, "a2", true); err != nil {
		t.Fatalf("rename with takeover: %v", err)
	}
	if _, err := s.AppByOldSlug(ctx, "a2"); !shared.IsCode(err, shared.CodeNotFound) {
		t.Errorf("a2 still redirects: %v", err)
	}
	if got, err := s.AppByOldSlug(ctx, "b"); err != nil || got.ID != b.ID || got.Slug != "a2" {
		t.Errorf("AppByOldSlug(b) = %+v, %v", got, err)
	}
}

func TestDefaultAppIsProtected(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	def, err := s.App(ctx, shared.DefaultAppSlug)
	if err != nil {
		t.Fatal(err)
	}
	_, err = rename(t, s, def.ID, "home", false)
	wantCode(t, err, http.StatusConflict, shared.CodeDefaultApp)
	wantCode(t, s.DeleteApp(ctx, def.ID), http.StatusConflict, shared.CodeDefaultApp)
	wantCode(t, s.DeleteDomain(ctx, def.ID, def.Domains[0].ID), http.StatusConflict, shared.CodeDefaultApp)

	// Its name and description are just labels.
	name, desc := "Home", "my default"
	got, err := s.UpdateApp(ctx, def.ID, shared.UpdateAppRequest{Name: &name, Description: &desc, Slug: ptr("default")}, false)
	if err != nil || got.Name != name || got.Description != desc || got.Slug != "default" {
		t.Fatalf("UpdateApp(name) = %+v, %v", got, err)
	}
	if !got.UpdatedAt.After(def.UpdatedAt) && !got.UpdatedAt.Equal(def.UpdatedAt) {
		t.Errorf("updated_at went back: %v → %v", def.UpdatedAt, got.UpdatedAt)
	}
	// Other claims of the default app can go.
	d := mkDomain(t, s, def.ID, "pi.lan")
	if err := s.DeleteDomain(ctx, def.ID, d.ID); err != nil {
		t.Fatal(err)
	}
}

func TestAppLookup(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a := mkApp(t, s, "shop")
	digits := mkApp(t, s, "4242") // an all-digit slug with no app of that id
	for _, ref := range []string{"shop", "2"} {
		if a.ID != 2 {
			t.Fatalf("app id = %d", a.ID)
		}
		got, err := s.App(ctx, ref)
		if err != nil || got.ID != a.ID {
			t.Errorf("App(%s) = %+v, %v", ref, got, err)
		}
	}
	if got, err := s.App(ctx, "4242"); err != nil || got.ID != digits.ID {
		t.Errorf("App(4242) = %+v, %v", got, err)
	}
	for _, ref := range []string{"nope", "999", "", "-1", "99999999999999999999"} {
		_, err := s.App(ctx, ref)
		wantCode(t, err, http.StatusNotFound, shared.CodeNotFound)
	}
	_, err := s.UpdateApp(ctx, 999, shared.UpdateAppRequest{Name: ptr("x")}, false)
	wantCode(t, err, http.StatusNotFound, shared.CodeNotFound)
	wantCode(t, s.DeleteApp(ctx, 999), http.StatusNotFound, shared.CodeNotFound)
	_, err = s.AppByOldSlug(ctx, "nope")
	wantCode(t, err, http.StatusNotFound, shared.CodeNotFound)

	apps, err := s.ListApps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 3 || apps[0].Slug != "default" || apps[1].Slug != "shop" || apps[2].Slug != "4242" {
		t.Fatalf("ListApps = %+v", apps)
	}
	if apps[0].ScriptCount != 1 || apps[0].RouteCount != 1 || apps[0].DomainCount != 3 {
		t.Errorf("default app counts = %+v", apps[0])
	}
}

// count returns the rows of table belonging to app appID.
func count(t *testing.T, s *Store, table string, appID int64) int {
	t.Helper()
	var n int
	if err := s.r.QueryRow("SELECT count(*) FROM "+table+" WHERE app_id = ?", appID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDeleteAppCascades(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	fill := func(slug string) shared.App {
		a := mkApp(t, s, slug)
		rename(t, s, a.ID, slug+"-new", false)
		mkDomain(t, s, a.ID, slug+".example")
		mkDomain(t, s, a.ID, "*."+slug+".example")
		sc := mkScript(t, s, a.ID, "main")
		r := mkRoute(t, s, a.ID, sc.ID, "GET", "/", ptr("api."+slug+".example"))
		mkSchedule(t, s, a.ID, sc.ID, "@daily")
		putEnv(t, s, a.ID, "TOKEN", "x", false)
		if err := s.InsertLogs(ctx, []shared.Log{{AppID: a.ID, ScriptID: sc.ID, RouteID: &r.ID, Trigger: shared.TriggerRoute}}); err != nil {
			t.Fatal(err)
		}
		return a
	}
	gone, kept := fill("gone"), fill("kept")
	keptBefore := map[string]int{}
	tables := []string{"app_domains", "app_slug_history", "scripts", "routes", "schedules", "execution_logs", "app_env"}
	for _, table := range tables {
		keptBefore[table] = count(t, s, table, kept.ID)
		if count(t, s, table, gone.ID) == 0 {
			t.Fatalf("setup: no %s for the app", table)
		}
	}
	if err := s.DeleteApp(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		if n := count(t, s, table, gone.ID); n != 0 {
			t.Errorf("%d %s rows left after deleting their app", n, table)
		}
		if n := count(t, s, table, kept.ID); n != keptBefore[table] {
			t.Errorf("%s of another app: %d rows, want %d", table, n, keptBefore[table])
		}
	}
	if _, err := s.App(ctx, "gone-new"); !shared.IsCode(err, shared.CodeNotFound) {
		t.Errorf("deleted app still found: %v", err)
	}
	// Its slugs, old and current, and its claims are free again.
	for _, slug := range []string{"gone", "gone-new"} {
		if st, _, err := s.SlugStatus(ctx, 0, slug); err != nil || st != shared.SlugAvailable {
			t.Errorf("SlugStatus(%s) = %s, %v", slug, st, err)
		}
	}
	mkDomain(t, s, kept.ID, "gone.example")
}

// Every app read carries its domains, [] rather than null when it has none,
// so the API's App always has "domains" (SPEC §3).
func TestAppsCarryDomains(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	bare := mkApp(t, s, "bare")
	claimed := mkApp(t, s, "claimed")
	mkDomain(t, s, claimed.ID, "a.example.com")
	mkDomain(t, s, claimed.ID, "*.b.example.com")

	apps, err := s.ListApps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	one, err := s.App(ctx, "bare")
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64][]string{bare.ID: {}, claimed.ID: {"a.example.com", "*.b.example.com"}}
	for _, list := range [][]shared.App{apps, snap.Apps, {one}} {
		for _, a := range list {
			w, ok := want[a.ID]
			if !ok {
				continue
			}
			if a.Domains == nil {
				t.Errorf("app %s: Domains is nil, want %v", a.Slug, w)
			}
			if len(a.Domains) != len(w) {
				t.Fatalf("app %s: domains %+v, want %v", a.Slug, a.Domains, w)
			}
			for i, d := range a.Domains {
				if d.Pattern != w[i] {
					t.Errorf("app %s: domain %d = %q, want %q", a.Slug, i, d.Pattern, w[i])
				}
			}
		}
	}
}

// Empty lists are [] rather than nil, so the API never answers null for
// them (the manager relies on it).
func TestEmptyListsAreNotNil(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a := mkApp(t, s, "empty")
	ds, err1 := s.Domains(ctx, a.ID)
	rs, err2 := s.Routes(ctx, a.ID)
	sc, err3 := s.Scripts(ctx, a.ID)
	ls, err4 := s.Logs(ctx, a.ID, 0, 0, 0)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		t.Fatal(err)
	}
	if ds == nil || rs == nil || sc == nil || ls == nil {
		t.Errorf("nil lists: domains %v, routes %v, scripts %v, logs %v", ds == nil, rs == nil, sc == nil, ls == nil)
	}
}
