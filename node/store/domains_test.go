package store

import (
	"context"
	"net/http"
	"testing"

	"github.com/picloud/picloud/shared"
)

func TestAddDomainClaims(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a, b := mkApp(t, s, "a"), mkApp(t, s, "b")
	d := mkDomain(t, s, a.ID, "*.Example.COM.")
	if d.Pattern != "*.example.com" || d.AppID != a.ID || d.CreatedAt.IsZero() {
		t.Fatalf("AddDomain = %+v", d)
	}
	tests := []struct {
		app     int64
		pattern string
		heldBy  string
	}{
		{b.ID, "*.example.com", "a"},
		{b.ID, "*.EXAMPLE.com", "a"}, // same shape, other spelling
		{a.ID, "*.example.com", "a"}, // the same app twice
		{b.ID, "localhost", "default"},
	}
	for _, tt := range tests {
		norm, shape, err := shared.NormalizeDomain(tt.pattern)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.AddDomain(ctx, tt.app, norm, shape)
		if e := wantCode(t, err, http.StatusConflict, shared.CodeDomainClaimed); e.Detail("held_by") != tt.heldBy {
			t.Errorf("claim %s: held_by = %q, want %q", tt.pattern, e.Detail("held_by"), tt.heldBy)
		}
	}
	// The apex and a deeper wildcard are other shapes.
	mkDomain(t, s, b.ID, "example.com")
	mkDomain(t, s, b.ID, "*.api.example.com")

	_, err := s.AddDomain(ctx, 999, "x.example", "x.example")
	wantCode(t, err, http.StatusNotFound, shared.CodeNotFound)
	ds, err := s.Domains(ctx, b.ID)
	if err != nil || len(ds) != 2 || ds[0].Pattern != "example.com" || ds[1].Pattern != "*.api.example.com" {
		t.Fatalf("Domains = %+v, %v", ds, err)
	}
	_, err = s.Domains(ctx, 999)
	wantCode(t, err, http.StatusNotFound, shared.CodeNotFound)
}

func TestDeleteDomainInUse(t *testing.T) {
	tests := []struct {
		name    string
		claims  []string
		hosts   []string // hosts named by routes (nil entry = host-less route)
		del     string
		inUse   bool
		badHost string
	}{
		{name: "unused claim", claims: []string{"a.example", "b.example"}, hosts: []string{"a.example"}, del: "b.example"},
		{name: "exact claim in use", claims: []string{"a.example"}, hosts: []string{"a.example"}, del: "a.example", inUse: true, badHost: "a.example"},
		{name: "wildcard in use", claims: []string{"*.example.com"}, hosts: []string{"x.y.example.com"}, del: "*.example.com", inUse: true, badHost: "x.y.example.com"},
		{name: "exact also covered by wildcard", claims: []string{"*.example.com", "api.example.com"}, hosts: []string{"api.example.com"}, del: "api.example.com"},
		{name: "wildcard also covered by exact", claims: []string{"*.example.com", "api.example.com"}, hosts: []string{"api.example.com"}, del: "*.example.com"},
		{name: "covered by a shorter wildcard", claims: []string{"*.example.com", "*.b.example.com"}, hosts: []string{"a.b.example.com"}, del: "*.b.example.com"},
		{name: "wildcard does not cover apex", claims: []string{"*.example.com", "example.com"}, hosts: []string{"example.com"}, del: "example.com", inUse: true, badHost: "example.com"},
		{name: "host-less routes never block", claims: []string{"a.example"}, hosts: []string{""}, del: "a.example"},
		{name: "last claim with other hosts", claims: []string{"a.example", "b.example"}, hosts: []string{"a.example", "b.example"}, del: "b.example", inUse: true, badHost: "b.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTest(t)
			ctx := context.Background()
			a := mkApp(t, s, "app")
			ids := map[string]int64{}
			for _, c := range tt.claims {
				ids[c] = mkDomain(t, s, a.ID, c).ID
			}
			sc := mkScript(t, s, a.ID, "main")
			for i, h := range tt.hosts {
				var host *string
				if h != "" {
					host = ptr(h)
				}
				mkRoute(t, s, a.ID, sc.ID, "GET", "/r"+string(rune('a'+i)), host)
			}
			before := dump(t, s)
			err := s.DeleteDomain(ctx, a.ID, ids[tt.del])
			if !tt.inUse {
				if err != nil {
					t.Fatalf("DeleteDomain(%s) = %v", tt.del, err)
				}
				ds, _ := s.Domains(ctx, a.ID)
				if len(ds) != len(tt.claims)-1 {
					t.Fatalf("domains after delete = %+v", ds)
				}
				return
			}
			e := wantCode(t, err, http.StatusConflict, shared.CodeDomainInUse)
			if e.Detail("host") != tt.badHost {
				t.Errorf("host = %q, want %q", e.Detail("host"), tt.badHost)
			}
			if dump(t, s) != before {
				t.Error("a refused delete changed the database")
			}
		})
	}
}

func TestDeleteDomainNotFound(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	a, b := mkApp(t, s, "a"), mkApp(t, s, "b")
	d := mkDomain(t, s, a.ID, "a.example")
	wantCode(t, s.DeleteDomain(ctx, b.ID, d.ID), http.StatusNotFound, shared.CodeNotFound) // another app's claim
	wantCode(t, s.DeleteDomain(ctx, a.ID, 999), http.StatusNotFound, shared.CodeNotFound)
	wantCode(t, s.DeleteDomain(ctx, 999, d.ID), http.StatusNotFound, shared.CodeNotFound)
	if err := s.DeleteDomain(ctx, a.ID, d.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeleteDomain(ctx, a.ID, d.ID), http.StatusNotFound, shared.CodeNotFound)
	mkDomain(t, s, b.ID, "a.example") // free again
}
