package store

import (
	"context"
	"testing"
	"time"

	"github.com/picloud/picloud/shared"
)

// Only a node with nothing but its seeded default app may join a cluster.
func TestHoldsOwnData(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		add  func(t *testing.T, s *Store, def shared.App)
		want bool
	}{
		{"fresh node", func(*testing.T, *Store, shared.App) {}, false},
		{"another app", func(t *testing.T, s *Store, _ shared.App) { mkApp(t, s, "blog") }, true},
		{"a script in the default app", func(t *testing.T, s *Store, def shared.App) { mkScript(t, s, def.ID, "extra") }, true},
		{"a variable", func(t *testing.T, s *Store, def shared.App) {
			if _, err := s.PutEnv(ctx, def.ID, "GREETING", "hi", nil); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"a KV entry", func(t *testing.T, s *Store, def shared.App) {
			res, err := s.ApplyKV(ctx, []KVWrite{{AppID: def.ID, Key: "k", Value: []byte("v")}}, 1<<20, time.Now())
			if err != nil || res[0] != nil {
				t.Fatal(err, res)
			}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTest(t)
			def, err := s.App(ctx, shared.DefaultAppSlug)
			if err != nil {
				t.Fatal(err)
			}
			tc.add(t, s, def)
			if got, err := s.HoldsOwnData(ctx); err != nil || got != tc.want {
				t.Fatalf("HoldsOwnData = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
