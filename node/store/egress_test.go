package store

import (
	"context"
	"reflect"
	"testing"

	"github.com/picloud/picloud/shared"
)

func TestEgressReplacesInOrder(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	app := mkApp(t, s, "home")

	if got, err := s.Egress(ctx, app.ID); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("new app's egress = %#v, %v; want an empty list", got, err)
	}
	first := []string{"ntfy.sh", "192.168.1.10:8123", "10.0.0.0/8"}
	if got, err := s.SetEgress(ctx, app.ID, first); err != nil || !reflect.DeepEqual(got, first) {
		t.Fatalf("SetEgress = %q, %v", got, err)
	}
	second := []string{"10.0.0.0/8", "api.github.com"}
	if _, err := s.SetEgress(ctx, app.ID, second); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Egress(ctx, app.ID); err != nil || !reflect.DeepEqual(got, second) {
		t.Fatalf("after replacing, egress = %q, %v; want %q", got, err, second)
	}
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(snap.Egress[app.ID], second) {
		t.Errorf("snapshot egress = %q, want %q", snap.Egress[app.ID], second)
	}
	if _, ok := snap.Egress[1]; ok {
		t.Errorf("the default app has no allowlist, snapshot has %q", snap.Egress[1])
	}
}

func TestEgressUnknownAppAndDelete(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	if _, err := s.SetEgress(ctx, 999, []string{"x.example"}); !shared.IsCode(err, shared.CodeNotFound) {
		t.Fatalf("SetEgress on unknown app: %v, want not_found", err)
	}
	if _, err := s.Egress(ctx, 999); !shared.IsCode(err, shared.CodeNotFound) {
		t.Fatalf("Egress on unknown app: %v, want not_found", err)
	}
	app := mkApp(t, s, "gone")
	if _, err := s.SetEgress(ctx, app.ID, []string{"x.example"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteApp(ctx, app.ID); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM app_egress`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("egress rows after deleting the app: %d, %v", n, err)
	}
}
