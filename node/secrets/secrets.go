// Package secrets seals the apps' secrets (SPEC §8) with AES-256-GCM under
// the node's secrets key, a file of the data directory (secrets.key, 0600)
// made on first start and never rewritten, so an upgrade keeps it and a
// copy of the database alone reveals nothing.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FileName is the key's file inside the data directory.
const FileName = "secrets.key"

// keySize is AES-256's.
const keySize = 32

// Key seals and opens secrets. It is safe for concurrent use.
type Key struct {
	aead cipher.AEAD
	id   string
}

// ErrOpen is what Open returns for a sealed value the key cannot open: it
// was sealed under another key, for another entry, or altered.
var ErrOpen = errors.New("secret does not open under this node's secrets key")

// Load reads the key at path, making it first when there is none
// (created reports that). A file that exists but holds no valid key is an
// error naming the file: replacing it would lose every secret sealed
// under it.
func Load(path string) (k *Key, created bool, err error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if raw, err = create(path); err != nil {
			return nil, false, fmt.Errorf("secrets key %s: %w", path, err)
		}
		created = true
	} else if err != nil {
		return nil, false, fmt.Errorf("secrets key %s: %w", path, err)
	}
	key, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(key) != keySize {
		return nil, false, fmt.Errorf("secrets key %s: not a key this node made (want %d bytes, base64url); "+
			"restore the file from a backup", path, keySize)
	}
	k, err = New(key)
	return k, created, err
}

// create writes a new random key to path, unless another process made one
// first: the file is linked into place, which fails when path exists, so
// a key is never replaced. It returns the file's content.
func create(path string) ([]byte, error) {
	key := make([]byte, keySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	text := []byte(base64.RawURLEncoding.EncodeToString(key) + "\n")
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, err
	}
	if _, err := tmp.Write(text); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return os.ReadFile(path)
	} else if err != nil {
		return nil, err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync() // the new name survives a power cut
		d.Close()
	}
	return text, nil
}

// New returns a Key for 32 raw bytes.
func New(key []byte) (*Key, error) {
	if len(key) != keySize {
		return nil, fmt.Errorf("secrets key: %d bytes, want %d", len(key), keySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(key)
	return &Key{aead: aead, id: hex.EncodeToString(sum[:4])}, nil
}

// ID is a short fingerprint of the key, safe to log: it tells two keys
// apart without revealing either.
func (k *Key) ID() string { return k.id }

// Seal encrypts plain for the entry named by ad (additional data, e.g. the
// app and the secret's name): a random nonce followed by the ciphertext.
// A sealed value opens only with the same ad, so it cannot be moved to
// another entry.
func (k *Key) Seal(plain, ad []byte) ([]byte, error) {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plain)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal secret: %w", err)
	}
	return k.aead.Seal(nonce, nonce, plain, ad), nil
}

// Open decrypts what Seal made with the same ad, or returns ErrOpen.
func (k *Key) Open(sealed, ad []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n+k.aead.Overhead() {
		return nil, ErrOpen
	}
	plain, err := k.aead.Open(nil, sealed[:n], sealed[n:], ad)
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}
