package secrets

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestLoadMakesTheKeyOnceAndKeepsIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	k1, created, err := Load(path)
	if err != nil || !created {
		t.Fatalf("first Load = created %v, %v; want a new key", created, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", FileName, st.Mode().Perm())
	}
	sealed, err := k1.Seal([]byte("hunter2"), []byte("app 1 TOKEN"))
	if err != nil {
		t.Fatal(err)
	}
	k2, created, err := Load(path)
	if err != nil || created {
		t.Fatalf("second Load = created %v, %v; want the same key back", created, err)
	}
	if got, err := k2.Open(sealed, []byte("app 1 TOKEN")); err != nil || string(got) != "hunter2" {
		t.Errorf("reloaded key opens %q, %v; want hunter2", got, err)
	}
	if k1.ID() != k2.ID() {
		t.Errorf("key id changed across loads: %s, %s", k1.ID(), k2.ID())
	}
}

// Several processes starting at once on a fresh data directory end up
// with one key: none overwrites another's.
func TestLoadConcurrentFirstStartsAgree(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, _, err := Load(path)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = k.ID()
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent loads made different keys: %v", ids)
		}
	}
}

func TestLoadRefusesABrokenKeyFile(t *testing.T) {
	for name, content := range map[string]string{
		"empty":     "",
		"short":     "c2hvcnQ\n",
		"not_b64":   "this is not base64url at all!!\n",
		"too_long":  strings.Repeat("A", 60) + "\n",
		"hex_bytes": strings.Repeat("ab", 32) + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), FileName)
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, _, err := Load(path)
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Fatalf("Load of a broken key = %v, want an error naming %s", err, path)
			}
			if b, _ := os.ReadFile(path); string(b) != content {
				t.Errorf("the broken key file was rewritten: %q", b)
			}
		})
	}
}

func TestSealOpensOnlyUnderItsKeyAndEntry(t *testing.T) {
	k, err := New(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := New(bytes.Repeat([]byte{2}, 32))
	ad := []byte("picloud/env\x001\x00TOKEN")
	sealed, err := k.Seal([]byte("s3cret"), ad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("s3cret")) {
		t.Fatal("the sealed value holds the plaintext")
	}
	again, _ := k.Seal([]byte("s3cret"), ad)
	if bytes.Equal(sealed, again) {
		t.Error("two seals of one value are equal: the nonce is not fresh")
	}
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-1] ^= 1
	for name, tc := range map[string]struct {
		key    *Key
		sealed []byte
		ad     []byte
	}{
		"other_key":   {other, sealed, ad},
		"other_entry": {k, sealed, []byte("picloud/env\x002\x00TOKEN")},
		"tampered":    {k, tampered, ad},
		"truncated":   {k, sealed[:10], ad},
		"empty":       {k, nil, ad},
	} {
		t.Run(name, func(t *testing.T) {
			if got, err := tc.key.Open(tc.sealed, tc.ad); !errors.Is(err, ErrOpen) {
				t.Errorf("Open = %q, %v; want ErrOpen", got, err)
			}
		})
	}
	if got, err := k.Open(sealed, ad); err != nil || string(got) != "s3cret" {
		t.Errorf("Open = %q, %v", got, err)
	}
}
