package store

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/picloud/picloud/shared"
)

// recorder collects the changes a subscription sees.
type recorder struct {
	mu  sync.Mutex
	got []Change
}

func (r *recorder) record(_ context.Context, c Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, c)
}

// take returns what was seen since the last take.
func (r *recorder) take() []Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.got
	r.got = nil
	return got
}

func TestEveryConfigurationWriteIsPublished(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	var rec recorder
	s.Subscribe(rec.record)

	app := mkApp(t, s, "shop")
	if got := rec.take(); len(got) != 1 || got[0] != (Change{Kind: ChangeApp, AppID: app.ID}) {
		t.Fatalf("CreateApp published %v, want one app change of app %d", got, app.ID)
	}
	sc := mkScript(t, s, app.ID, "hello")
	rec.take()
	d := mkDomain(t, s, app.ID, "shop.example")
	rec.take()
	rt := mkRoute(t, s, app.ID, sc.ID, "GET", "/", ptr("shop.example"))
	rec.take()
	sched, err := s.CreateSchedule(ctx, shared.Schedule{AppID: app.ID, ScriptID: sc.ID, Cron: "* * * * *", Timezone: "UTC"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec.take()

	writes := []struct {
		name  string
		write func() error
		kind  ChangeKind
	}{
		{"UpdateApp", func() error {
			_, err := s.UpdateApp(ctx, app.ID, shared.UpdateAppRequest{Name: ptr("Shop")}, false)
			return err
		}, ChangeApp},
		{"UpdateScript", func() error {
			_, err := s.UpdateScript(ctx, sc.ID, shared.UpdateScriptRequest{Description: ptr("greets")})
			return err
		}, ChangeScript},
		{"SetEgress", func() error { _, err := s.SetEgress(ctx, app.ID, []string{"api.example"}); return err }, ChangeEgress},
		{"PutEnv", func() error { _, err := s.PutEnv(ctx, app.ID, "GREETING", "hi", nil); return err }, ChangeEnv},
		{"DeleteEnv", func() error { return s.DeleteEnv(ctx, app.ID, "GREETING") }, ChangeEnv},
		{"DeleteSchedule", func() error { return s.DeleteSchedule(ctx, app.ID, sched.ID) }, ChangeSchedule},
		{"DeleteRoute", func() error { return s.DeleteRoute(ctx, app.ID, rt.ID) }, ChangeRoute},
		{"DeleteDomain", func() error { return s.DeleteDomain(ctx, app.ID, d.ID) }, ChangeDomain},
		{"DeleteScript", func() error { return s.DeleteScript(ctx, sc.ID) }, ChangeScript},
		{"DeleteApp", func() error { return s.DeleteApp(ctx, app.ID) }, ChangeApp},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			if err := w.write(); err != nil {
				t.Fatal(err)
			}
			want := Change{Kind: w.kind, AppID: app.ID}
			if got := rec.take(); len(got) != 1 || got[0] != want {
				t.Errorf("published %v, want [%v]", got, want)
			}
		})
	}
}

func TestCreatesPublishTheirApp(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	app := mkApp(t, s, "shop")
	var rec recorder
	s.Subscribe(rec.record)

	sc := mkScript(t, s, app.ID, "hello")
	mkDomain(t, s, app.ID, "shop.example")
	mkRoute(t, s, app.ID, sc.ID, "GET", "/", nil)
	if _, err := s.CreateSchedule(ctx, shared.Schedule{AppID: app.ID, ScriptID: sc.ID, Cron: "0 * * * *", Timezone: "UTC"}, nil); err != nil {
		t.Fatal(err)
	}
	want := []Change{{ChangeScript, app.ID}, {ChangeDomain, app.ID}, {ChangeRoute, app.ID}, {ChangeSchedule, app.ID}}
	got := rec.take()
	if len(got) != len(want) {
		t.Fatalf("published %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("change %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestRefusedWritesPublishNothing(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	app := mkApp(t, s, "shop")
	var rec recorder
	s.Subscribe(rec.record)

	refused := []struct {
		name  string
		write func() error
	}{
		{"slug taken", func() error { _, err := s.CreateApp(ctx, shared.App{Slug: "shop", Name: "again"}, false); return err }},
		{"no such script", func() error { return s.DeleteScript(ctx, 9999) }},
		{"no such route", func() error { return s.DeleteRoute(ctx, app.ID, 9999) }},
		{"no such variable", func() error { return s.DeleteEnv(ctx, app.ID, "NOPE") }},
		{"default app", func() error {
			def, err := s.App(ctx, shared.DefaultAppSlug)
			if err != nil {
				t.Fatal(err)
			}
			return s.DeleteApp(ctx, def.ID)
		}},
	}
	for _, w := range refused {
		t.Run(w.name, func(t *testing.T) {
			if err := w.write(); err == nil {
				t.Fatal("the write succeeded")
			}
			if got := rec.take(); len(got) != 0 {
				t.Errorf("a refused write published %v", got)
			}
		})
	}
}

func TestUnsubscribeStopsChanges(t *testing.T) {
	s, _ := openTest(t)
	var kept, dropped recorder
	s.Subscribe(kept.record)
	unsubscribe := s.Subscribe(dropped.record)
	mkApp(t, s, "one")
	unsubscribe()
	mkApp(t, s, "two")
	if got := len(kept.take()); got != 2 {
		t.Errorf("the remaining subscriber saw %d changes, want 2", got)
	}
	if got := len(dropped.take()); got != 1 {
		t.Errorf("the ended subscription saw %d changes, want 1 (before it ended)", got)
	}
}

func TestScheduleRunsAreNotConfiguration(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	app := mkApp(t, s, "shop")
	sc := mkScript(t, s, app.ID, "hello")
	sched, err := s.CreateSchedule(ctx, shared.Schedule{AppID: app.ID, ScriptID: sc.ID, Cron: "* * * * *", Timezone: "UTC"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var rec recorder
	s.Subscribe(rec.record)
	if err := s.RecordScheduleRun(ctx, sched.ID, s.now(), 200); err != nil {
		t.Fatal(err)
	}
	if got := rec.take(); len(got) != 0 {
		t.Errorf("recording a run published %v", got)
	}
}

// unpublished are the functions that may write without publishing: state
// the node records about itself or app data, not configuration. A new
// write of configuration goes through change instead of joining this list.
var unpublished = map[string]bool{
	"change":            true, // publishes after its write
	"seed":              true, // runs inside Open, before anyone can subscribe
	"RecordScheduleRun": true,
	"ApplyKV":           true,
	"ExpireKV":          true,
	"SetClusterMeta":    true, // the cluster's id and members' names: not an app's configuration
}

func TestConfigurationWritesArePublished(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil || unpublished[fd.Name.Name] {
				continue
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "write" {
					t.Errorf("%s: %s writes through write, not change: its change is never published (%s)",
						name, fd.Name.Name, fset.Position(call.Pos()))
				}
				return true
			})
		}
	}
}
