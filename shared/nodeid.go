package shared

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base32"
	"fmt"
)

// NodeID derives a node's id from its public key (SPEC §1): the first 16
// bytes of the SHA-256 of the SubjectPublicKeyInfo DER, base32 without
// padding, upper case. A renewed certificate with the same key keeps the id.
func NodeID(pub any) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("node id: %w", err)
	}
	return NodeIDFromSPKI(der), nil
}

// NodeIDFromSPKI is NodeID for an already encoded SubjectPublicKeyInfo, such
// as x509.Certificate.RawSubjectPublicKeyInfo.
func NodeIDFromSPKI(spki []byte) string {
	sum := sha256.Sum256(spki)
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:16])
}
