package bench

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/picloud/picloud/node/store"
	"github.com/picloud/picloud/shared"
)

// The rows SeedDispatch writes must be ones the store reads back as a valid
// table: otherwise the dispatch benchmark would measure a broken node.
func TestSeedDispatchIsReadByTheStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "picloud.db")
	st, err := store.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	const n = 50
	if err := SeedDispatch(ctx, path, n); err != nil {
		t.Fatal(err)
	}
	if err := IntegrityCheck(ctx, path); err != nil {
		t.Fatal(err)
	}
	st, err = store.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	snap, err := st.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// n apps + default; n domains + localhost, 127.0.0.1 and ::1; n scripts + hello-world + dispatch; 2n routes + GET /.
	if len(snap.Apps) != n+1 || len(snap.Domains) != n+3 || len(snap.Scripts) != n+2 || len(snap.Routes) != 2*n+1 {
		t.Fatalf("snapshot has %d apps, %d domains, %d scripts, %d routes", len(snap.Apps), len(snap.Domains), len(snap.Scripts), len(snap.Routes))
	}
	app, err := st.App(ctx, "app-7")
	if err != nil {
		t.Fatal(err)
	}
	if len(app.Domains) != 1 || app.Domains[0].Pattern != DispatchHost(7) {
		t.Fatalf("app-7 domains %+v, want %s", app.Domains, DispatchHost(7))
	}
	routes, err := st.Routes(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) != 1 || routes[0].Method != "GET" || routes[0].Path != "/" {
		t.Fatalf("app-7 routes %+v", routes)
	}
	if _, err := st.CreateApp(ctx, shared.App{Slug: "app-8", Name: "again"}, false); !shared.IsCode(err, shared.CodeSlugTaken) {
		t.Fatalf("creating a seeded slug again: %v, want slug_taken", err)
	}
}

// LoggedExecutions counts every log ever written, also those pruned since.
func TestLoggedExecutionsCountsPrunedLogs(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "picloud.db")
	st, err := store.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := LoggedExecutions(ctx, path); err != nil || n != 0 {
		t.Fatalf("fresh database: %d logs, %v", n, err)
	}
	app, err := st.App(ctx, shared.DefaultAppSlug)
	if err != nil {
		t.Fatal(err)
	}
	scripts, err := st.Scripts(ctx, app.ID)
	if err != nil || len(scripts) == 0 {
		t.Fatalf("seeded scripts: %v %v", scripts, err)
	}
	var logs []shared.Log
	for range 5 {
		logs = append(logs, shared.Log{AppID: app.ID, ScriptID: scripts[0].ID, Trigger: shared.TriggerRoute, Status: 200, StartedAt: time.Now()})
	}
	if err := st.InsertLogs(ctx, logs); err != nil {
		t.Fatal(err)
	}
	if err := st.PruneLogs(ctx, app.ID, 2); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if n, err := LoggedExecutions(ctx, path); err != nil || n != 5 {
		t.Fatalf("5 logs written, 3 pruned: counted %d, %v", n, err)
	}
}
