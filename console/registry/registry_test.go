package registry

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRegistryPersistsAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "picloud", "nodes.json")
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Nodes(); len(got) != 0 {
		t.Fatalf("fresh registry has %d nodes", len(got))
	}
	pi := Node{ID: "AAAA", Name: "pi-kitchen", Token: "secret", Address: "192.168.1.20:7070", Paired: time.Now().UTC().Truncate(time.Second)}
	if err := r.Put(pi); err != nil {
		t.Fatal(err)
	}
	if err := r.Put(Node{ID: "BBBB", Name: "garage", Token: "t2", Address: "10.0.0.2:7070", Scheme: "http"}); err != nil {
		t.Fatal(err)
	}
	if err := r.SetAddress("AAAA", "pi-kitchen", "192.168.1.21:7070"); err != nil {
		t.Fatal(err)
	}

	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm != 0o600 {
		t.Errorf("registry file mode = %v, want 0600 (it holds admin tokens)", perm)
	}

	// A restarted console sees the same nodes.
	r2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	nodes := r2.Nodes()
	if len(nodes) != 2 || nodes[0].Name != "garage" || nodes[1].Name != "pi-kitchen" {
		t.Fatalf("reopened nodes = %+v", nodes)
	}
	got, ok := r2.Get("AAAA")
	if !ok || got.Token != "secret" || got.Address != "192.168.1.21:7070" || !got.Paired.Equal(pi.Paired) {
		t.Errorf("reopened AAAA = %+v", got)
	}
	if got.BaseURL() != "https://192.168.1.21:7070" {
		t.Errorf("BaseURL = %q", got.BaseURL())
	}
	if b, _ := r2.Get("BBBB"); b.BaseURL() != "http://10.0.0.2:7070" {
		t.Errorf("BaseURL = %q", b.BaseURL())
	}

	if err := r2.Remove("AAAA"); err != nil {
		t.Fatal(err)
	}
	r3, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r3.Get("AAAA"); ok {
		t.Error("removed node is back after restart")
	}
}

func TestRegistryRejectsCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nodes.json")
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); err == nil {
		t.Fatal("corrupt registry opened without error")
	}
}

func TestRegistryRefusesNodeWithoutID(t *testing.T) {
	r, err := Open(filepath.Join(t.TempDir(), "nodes.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Put(Node{Name: "x"}); err == nil {
		t.Fatal("node without id stored")
	}
}

// FuzzOpen: whatever is in the file, Open either fails or returns a
// registry whose nodes all have an id and survive a save and reload.
func FuzzOpen(f *testing.F) {
	f.Add([]byte(`{"nodes":[{"id":"AAAA","name":"pi","token":"t","address":"10.0.0.2:7070"}]}`))
	f.Add([]byte(`{"nodes":[{"id":""},{"id":"B"},{"id":"B","name":"dup"}]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"nodes":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "nodes.json")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := Open(path)
		if err != nil {
			return
		}
		nodes := r.Nodes()
		for _, n := range nodes {
			if n.ID == "" {
				t.Fatalf("node without id: %+v", n)
			}
		}
		if len(nodes) > 0 {
			if err := r.Put(nodes[0]); err != nil {
				t.Fatal(err)
			}
			r2, err := Open(path)
			if err != nil {
				t.Fatalf("reopen after save: %v", err)
			}
			if len(r2.Nodes()) != len(nodes) {
				t.Fatalf("reopened %d nodes, want %d", len(r2.Nodes()), len(nodes))
			}
		}
	})
}
