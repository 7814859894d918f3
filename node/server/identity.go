package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/picloud/picloud/shared"
)

// Files inside the data directory.
const (
	tokenFile = "admin.token"
	keyFile   = "admin.key"
	certFile  = "admin.crt"
	dbFile    = "picloud.db"
)

// certLifetime is long because nobody renews certificates on a Pi by hand;
// renewal keeps the key, so the node id survives it.
const certLifetime = 10 * 365 * 24 * time.Hour

// Identity is what makes a node itself: its admin token, TLS certificate and
// the node id derived from the certificate's key.
type Identity struct {
	NodeID  string
	Cert    tls.Certificate
	Tokens  *TokenSource
	Created bool // this start created the token (first start)
}

// ensureDataDir creates the data directory with owner-only permissions.
func ensureDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory %s: %w", dir, err)
	}
	return nil
}

// secureDataDir creates the data directory, or takes group and other
// permissions off one that exists with them, saying so: it holds the
// admin token, the TLS key and the database.
func secureDataDir(dir string, logger *slog.Logger) error {
	if err := ensureDataDir(dir); err != nil {
		return err
	}
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data directory %s: %w", dir, err)
	}
	if mode := st.Mode().Perm(); mode&0o077 != 0 {
		if err := os.Chmod(dir, mode&0o700); err != nil {
			return fmt.Errorf("data directory %s is %v, open to other users, and cannot be restricted: %w", dir, mode, err)
		}
		logger.Warn("data directory was open to other users; restricted it to its owner", "dir", dir, "was", mode.String(), "now", (mode & 0o700).String())
	}
	return nil
}

// LoadIdentity reads the node's token, key and certificate from dir, creating
// whatever is missing. fixedToken (PICLOUD_ADMIN_TOKEN) replaces the stored
// token without touching it.
func LoadIdentity(dir, name, fixedToken string) (*Identity, error) {
	if err := ensureDataDir(dir); err != nil {
		return nil, err
	}
	id := &Identity{}
	tokenPath := filepath.Join(dir, tokenFile)
	if _, err := os.Stat(tokenPath); errors.Is(err, fs.ErrNotExist) {
		if _, err := RotateToken(dir); err != nil {
			return nil, err
		}
		id.Created = true
	}
	id.Tokens = &TokenSource{path: tokenPath, fixed: fixedToken}
	if _, err := id.Tokens.load(); err != nil && fixedToken == "" {
		return nil, err
	}
	key, err := loadOrCreateKey(filepath.Join(dir, keyFile))
	if err != nil {
		return nil, err
	}
	cert, err := loadOrCreateCert(filepath.Join(dir, certFile), key, name)
	if err != nil {
		return nil, err
	}
	id.Cert = cert
	if id.NodeID, err = shared.NodeID(key.Public()); err != nil {
		return nil, err
	}
	return id, nil
}

// RotateToken writes a new random admin token (32 bytes, base64url) and
// returns it. A running node picks it up on its next admin request.
func RotateToken(dir string) (string, error) {
	if err := ensureDataDir(dir); err != nil {
		return "", err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	if err := shared.WriteFileAtomic(filepath.Join(dir, tokenFile), []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return tok, nil
}

// ReadToken returns the stored admin token.
func ReadToken(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, tokenFile))
	if err != nil {
		return "", fmt.Errorf("token: %w (has the node been started with this data directory?)", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// TokenSource returns the current admin token. It re-reads the token file
// when it changes, so `picloud-node token --rotate` takes effect on a
// running node without a restart.
type TokenSource struct {
	path  string
	fixed string

	mu    sync.Mutex
	mtime time.Time
	size  int64
	token string
}

// Token returns the token that admin requests must present.
func (t *TokenSource) Token() string {
	if t.fixed != "" {
		return t.fixed
	}
	tok, err := t.load()
	if err != nil {
		// Keep the last good token rather than locking everybody out.
		t.mu.Lock()
		defer t.mu.Unlock()
		return t.token
	}
	return tok
}

func (t *TokenSource) load() (string, error) {
	if t.fixed != "" {
		return t.fixed, nil
	}
	st, err := os.Stat(t.path)
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != "" && st.ModTime().Equal(t.mtime) && st.Size() == t.size {
		return t.token, nil
	}
	b, err := os.ReadFile(t.path)
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", errors.New("token: file is empty")
	}
	t.token, t.mtime, t.size = tok, st.ModTime(), st.Size()
	return tok, nil
}

func loadOrCreateKey(path string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("tls key: %w", err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("tls key: %w", err)
		}
		pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		if err := shared.WriteFileAtomic(path, pemBytes, 0o600); err != nil {
			return nil, fmt.Errorf("tls key: %w", err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tls key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("tls key %s: no PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("tls key %s: %w", path, err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("tls key %s: not an ECDSA key", path)
	}
	return key, nil
}

// loadOrCreateCert returns the stored certificate if it matches key and is
// valid for another month; otherwise it issues a new one for the same key.
func loadOrCreateCert(path string, key *ecdsa.PrivateKey, name string) (tls.Certificate, error) {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	if certPEM, err := os.ReadFile(path); err == nil {
		if c, err := tls.X509KeyPair(certPEM, keyPEM); err == nil {
			if leaf, err := x509.ParseCertificate(c.Certificate[0]); err == nil &&
				time.Until(leaf.NotAfter) > 30*24*time.Hour {
				c.Leaf = leaf
				return c, nil
			}
		}
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls cert: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"PiCloud node"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{name, "localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls cert: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := shared.WriteFileAtomic(path, certPEM, 0o600); err != nil {
		return tls.Certificate{}, fmt.Errorf("tls cert: %w", err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls cert: %w", err)
	}
	c.Leaf, _ = x509.ParseCertificate(der)
	return c, nil
}
