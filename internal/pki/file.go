package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File modes of what this package writes.
const (
	certMode fs.FileMode = 0o644
	keyMode  fs.FileMode = 0o600
	dirMode  fs.FileMode = 0o700
)

// writeFileAtomic replaces path with data and mode: it writes a temporary
// file in the same directory, syncs it and renames it over path, so readers
// see the old content or the new, never a part, and the final mode is mode
// whatever the mode of the file it replaces.
func writeFileAtomic(path string, data []byte, mode fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()      // may already be closed; the write error matters
			_ = os.Remove(tmp) // best effort; the write error matters
		}
	}()
	if err = f.Chmod(mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// Make the rename durable. Failure here leaves a correct file that may
	// not survive a power cut, which the next start repairs by regenerating.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync() // see above
		_ = d.Close()
	}
	return nil
}

// encodeCert returns cert DER as a PEM CERTIFICATE block.
func encodeCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// encodeKey returns key as a PEM "EC PRIVATE KEY" (SEC 1) block, the form
// kubeadm and client-go write for ECDSA keys.
func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// parseCert returns the first CERTIFICATE block of data, parsed.
func parseCert(data []byte) (*x509.Certificate, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, errors.New("no CERTIFICATE PEM block")
		}
		if b.Type == "CERTIFICATE" {
			return x509.ParseCertificate(b.Bytes)
		}
	}
}

// parseKey returns the first private key block of data. It accepts SEC 1,
// PKCS #8 and PKCS #1 encodings, so that keys written by other tools load.
func parseKey(data []byte) (crypto.Signer, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, errors.New("no private key PEM block")
		}
		switch b.Type {
		case "EC PRIVATE KEY":
			return x509.ParseECPrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			return x509.ParsePKCS1PrivateKey(b.Bytes)
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				return nil, err
			}
			s, ok := k.(crypto.Signer)
			if !ok {
				return nil, fmt.Errorf("unsupported private key type %T", k)
			}
			return s, nil
		}
	}
}

// keyMatches reports whether key is the private half of cert's public key.
func keyMatches(cert *x509.Certificate, key crypto.Signer) bool {
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(cert.PublicKey)
}

// errUnusable marks a certificate or key file that exists but cannot serve:
// it does not parse, or the key does not match the certificate.
var errUnusable = errors.New("unusable certificate or key")

// pair is a certificate and its key, as PEM and parsed.
type pair struct {
	certPEM, keyPEM []byte
	cert            *x509.Certificate
	key             crypto.Signer
}

// readPair loads and parses a certificate and key file. The error wraps
// fs.ErrNotExist when either file is missing, and errUnusable when they do
// not parse or do not match.
func readPair(certFile, keyFile string) (*pair, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", certFile, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", keyFile, err)
	}
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w: %w", certFile, errUnusable, err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w: %w", keyFile, errUnusable, err)
	}
	if !keyMatches(cert, key) {
		return nil, fmt.Errorf("%s does not match %s: %w", keyFile, certFile, errUnusable)
	}
	return &pair{certPEM: certPEM, keyPEM: keyPEM, cert: cert, key: key}, nil
}

// writePair writes the key first, then the certificate. A crash in between
// leaves either a key without its certificate (read as missing) or a new key
// beside an old certificate (read as errUnusable); both are regenerated.
func writePair(p *pair, certFile, keyFile string) error {
	if err := writeFileAtomic(keyFile, p.keyPEM, keyMode); err != nil {
		return err
	}
	return writeFileAtomic(certFile, p.certPEM, certMode)
}
