package pki

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// CAHash returns the pin of the first certificate in caPEM as
// "sha256:<hex>", the SHA-256 of its DER SubjectPublicKeyInfo: the value
// kubeadm prints for --discovery-token-ca-cert-hash, and the one
// `openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256sum`
// computes. It fails if caPEM holds no parseable certificate.
func CAHash(caPEM []byte) (string, error) {
	cert, err := parseCert(caPEM)
	if err != nil {
		return "", fmt.Errorf("ca hash: %w", err)
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}
