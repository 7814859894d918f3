package secrets

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A joining node takes the cluster's key: what a member sealed opens on it
// after the hand-off and after a restart, the node's own key is kept aside,
// and a store holding a Swappable switches without being rebuilt.
func TestReplaceWithTheClusterKey(t *testing.T) {
	memberPath := filepath.Join(t.TempDir(), FileName)
	memberKey, _, err := Load(memberPath)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := memberKey.Seal([]byte("hunter2"), []byte("app 7 TOKEN"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := Raw(memberPath)
	if err != nil {
		t.Fatal(err)
	}

	joinPath := filepath.Join(t.TempDir(), FileName)
	own, _, err := Load(joinPath)
	if err != nil {
		t.Fatal(err)
	}
	inUse := NewSwappable(own)
	if _, err := inUse.Open(sealed, []byte("app 7 TOKEN")); !errors.Is(err, ErrOpen) {
		t.Fatalf("the joining node opened the cluster's secret before the hand-off: %v", err)
	}
	k, err := Replace(joinPath, raw)
	if err != nil {
		t.Fatal(err)
	}
	inUse.Set(k)
	if got, err := inUse.Open(sealed, []byte("app 7 TOKEN")); err != nil || string(got) != "hunter2" {
		t.Fatalf("after the hand-off: %q, %v; want hunter2", got, err)
	}
	again, created, err := Load(joinPath)
	if err != nil || created || again.ID() != memberKey.ID() {
		t.Fatalf("after a restart the key is %v (created %v, %v), want the cluster's %s", again, created, err, memberKey.ID())
	}
	kept, err := Raw(joinPath + ReplacedSuffix)
	if err != nil {
		t.Fatal(err)
	}
	if k, _ := New(kept); k.ID() != own.ID() {
		t.Errorf("the replaced key was not kept: %s, want %s", k.ID(), own.ID())
	}
	if st, err := os.Stat(joinPath); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("replaced key file mode %v, %v; want 0600", st.Mode().Perm(), err)
	}
	if _, err := Replace(joinPath, []byte("short")); err == nil {
		t.Error("a key of the wrong size was taken")
	}
}
