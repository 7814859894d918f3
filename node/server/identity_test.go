package server

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/picloud/picloud/shared"
)

func TestIdentityCreatedOnceWithPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	id, err := LoadIdentity(dir, "pi", "")
	if err != nil {
		t.Fatal(err)
	}
	if !id.Created {
		t.Error("first load did not report creation")
	}
	if !regexp.MustCompile(`^[A-Z2-7]{26}$`).MatchString(id.NodeID) {
		t.Errorf("node id %q is not 16 bytes of unpadded upper-case base32", id.NodeID)
	}
	if got := shared.NodeIDFromSPKI(id.Cert.Leaf.RawSubjectPublicKeyInfo); got != id.NodeID {
		t.Errorf("certificate hashes to %s, node id is %s", got, id.NodeID)
	}
	tok := id.Tokens.Token()
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(tok) {
		t.Errorf("token %q is not 32 bytes of base64url", tok)
	}
	for _, f := range []string{tokenFile, keyFile, certFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", f, st.Mode().Perm())
		}
	}

	again, err := LoadIdentity(dir, "pi", "")
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || again.NodeID != id.NodeID || again.Tokens.Token() != tok {
		t.Errorf("second load changed identity: created=%v id=%s token changed=%v", again.Created, again.NodeID, again.Tokens.Token() != tok)
	}
}

func TestNodeIDSurvivesCertificateRenewal(t *testing.T) {
	dir := t.TempDir()
	id, err := LoadIdentity(dir, "pi", "")
	if err != nil {
		t.Fatal(err)
	}
	// A missing (or expiring) certificate is reissued for the same key.
	if err := os.Remove(filepath.Join(dir, certFile)); err != nil {
		t.Fatal(err)
	}
	renewed, err := LoadIdentity(dir, "pi", "")
	if err != nil {
		t.Fatal(err)
	}
	if renewed.NodeID != id.NodeID {
		t.Errorf("renewal changed node id %s → %s", id.NodeID, renewed.NodeID)
	}
	if renewed.Cert.Leaf.SerialNumber.Cmp(id.Cert.Leaf.SerialNumber) == 0 {
		t.Error("certificate was not reissued")
	}
	// A new key is a new identity.
	os.Remove(filepath.Join(dir, keyFile))
	os.Remove(filepath.Join(dir, certFile))
	fresh, err := LoadIdentity(dir, "pi", "")
	if err != nil {
		t.Fatal(err)
	}
	if fresh.NodeID == id.NodeID {
		t.Error("a new key kept the old node id")
	}
}

func TestTokenRotationReachesRunningNode(t *testing.T) {
	dir := t.TempDir()
	id, err := LoadIdentity(dir, "pi", "")
	if err != nil {
		t.Fatal(err)
	}
	old := id.Tokens.Token()
	// File systems with coarse mtimes could hide a rewrite within the same tick.
	time.Sleep(10 * time.Millisecond)
	tok, err := RotateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tok == old {
		t.Fatal("rotation kept the token")
	}
	if got := id.Tokens.Token(); got != tok {
		t.Errorf("token source = %q after rotation, want %q", got, tok)
	}
}

func TestFixedTokenOverridesStored(t *testing.T) {
	dir := t.TempDir()
	id, err := LoadIdentity(dir, "pi", "from-env")
	if err != nil {
		t.Fatal(err)
	}
	if id.Tokens.Token() != "from-env" {
		t.Errorf("token = %q, want the PICLOUD_ADMIN_TOKEN value", id.Tokens.Token())
	}
	stored, err := ReadToken(dir)
	if err != nil || stored == "from-env" || stored == "" {
		t.Errorf("stored token = %q, %v; want a generated one left alone", stored, err)
	}
}
