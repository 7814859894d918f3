package secrets

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync/atomic"

	"github.com/picloud/picloud/shared"
)

// In a cluster every member seals and opens under one key, the cluster's:
// the key of the node that formed it. A joining node gets it from a member
// over the pinned cluster channel (node/clusternet) and it replaces its
// own key, which sealed nothing that survives a join (a joining node is
// empty). The replaced key is kept beside it as secrets.key.replaced.

// ReplacedSuffix names the file the previous key is moved to by Replace.
const ReplacedSuffix = ".replaced"

// Raw reads the key at path as its 32 raw bytes, to hand to a joining member.
func Raw(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secrets key %s: %w", path, err)
	}
	key, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(key) != keySize {
		return nil, fmt.Errorf("secrets key %s: not a key this node made", path)
	}
	return key, nil
}

// Replace makes key the key at path, keeping the one there as
// path+ReplacedSuffix, and returns it ready to use.
func Replace(path string, key []byte) (*Key, error) {
	k, err := New(key)
	if err != nil {
		return nil, err
	}
	if old, err := os.ReadFile(path); err == nil {
		if err := shared.WriteFileAtomic(path+ReplacedSuffix, old, 0o600); err != nil {
			return nil, fmt.Errorf("keep the replaced secrets key: %w", err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("secrets key %s: %w", path, err)
	}
	text := []byte(base64.RawURLEncoding.EncodeToString(key) + "\n")
	if err := shared.WriteFileAtomic(path, text, 0o600); err != nil {
		return nil, fmt.Errorf("secrets key %s: %w", path, err)
	}
	return k, nil
}

// Swappable is a key that can be replaced while in use (a join hands the
// node the cluster's key); a store holds it from the start.
type Swappable struct{ k atomic.Pointer[Key] }

// NewSwappable starts with k.
func NewSwappable(k *Key) *Swappable {
	s := &Swappable{}
	s.k.Store(k)
	return s
}

// Set replaces the key.
func (s *Swappable) Set(k *Key) { s.k.Store(k) }

// Key is the key in use.
func (s *Swappable) Key() *Key { return s.k.Load() }

// Seal seals under the key in use.
func (s *Swappable) Seal(plain, ad []byte) ([]byte, error) { return s.k.Load().Seal(plain, ad) }

// Open opens under the key in use.
func (s *Swappable) Open(sealed, ad []byte) ([]byte, error) { return s.k.Load().Open(sealed, ad) }
