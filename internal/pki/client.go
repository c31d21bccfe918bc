package pki

import (
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
)

// ErrInvalidName is returned by ClientCertFor for a name that is not a
// plain lower-case file name.
var ErrInvalidName = errors.New("invalid certificate name")

// IssueClient returns a new client certificate (ExtKeyUsageClientAuth) for
// user cn in groups orgs, signed by the client CA and valid for one year,
// with its fresh ECDSA P-256 key, both PEM-encoded. Nothing is written to
// disk. cn must not be empty.
func (b *Bundle) IssueClient(cn string, orgs []string) (certPEM, keyPEM []byte, err error) {
	if cn == "" {
		return nil, nil, errors.New("issue client certificate: empty common name")
	}
	p, err := issue(b.clientCA, leaf{cn: cn, orgs: slices.Clone(orgs), usage: x509.ExtKeyUsageClientAuth}, b.now())
	if err != nil {
		return nil, nil, fmt.Errorf("issue client certificate %q: %w", cn, err)
	}
	return p.certPEM, p.keyPEM, nil
}

// ClientCertFor returns the files of the client certificate kept as
// client-<name>.crt and client-<name>.key in b's directory, issuing and
// writing them (key 0600) unless they exist, carry CN=cn and exactly the
// organizations orgs (in any order: DER sorts them), chain to the client CA and stay valid for more than 90
// days. name must match [a-z0-9][a-z0-9._-]*, else ErrInvalidName.
//
// Calls are serialized, so the certificate and key on disk always match.
// Readers of the files outside this process may see the old certificate with
// the new key for an instant; they should retry on a mismatch.
func (b *Bundle) ClientCertFor(name, cn string, orgs []string) (KeyPair, error) {
	if !validName(name) {
		return KeyPair{}, fmt.Errorf("client certificate %q: %w", name, ErrInvalidName)
	}
	if cn == "" {
		return KeyPair{}, fmt.Errorf("client certificate %q: empty common name", name)
	}
	b.mu.Lock()
	defer b.mu.Unlock()

	file := clientFile(name)
	kp := b.keyPair(file)
	now := b.now()
	p, err := b.loadLeaf(file, func(p *pair) bool {
		s := p.cert.Subject
		return s.CommonName == cn && sameSet(s.Organization, orgs) &&
			fresh(p, b.clientCA, x509.ExtKeyUsageClientAuth, now)
	})
	if err != nil {
		return KeyPair{}, err
	}
	if p != nil {
		return kp, nil
	}
	p, err = issue(b.clientCA, leaf{cn: cn, orgs: slices.Clone(orgs), usage: x509.ExtKeyUsageClientAuth}, now)
	if err != nil {
		return KeyPair{}, fmt.Errorf("create %s: %w", file, err)
	}
	if err := writePair(p, kp.CertFile, kp.KeyFile); err != nil {
		return KeyPair{}, fmt.Errorf("create %s: %w", file, err)
	}
	return kp, nil
}

// validName reports whether name is usable as part of a file name:
// [a-z0-9][a-z0-9._-]*.
func validName(name string) bool {
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case i > 0 && (r == '.' || r == '_' || r == '-'):
		default:
			return false
		}
	}
	return name != ""
}

// clientFile returns the base name, without extension, of the files of the
// client certificate called name.
func clientFile(name string) string { return "client-" + name }

// sameSet reports whether a and b hold the same strings, ignoring order and
// repetition.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
