package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Validity periods and the renewal margin.
const (
	caValidity   = 10 * 365 * 24 * time.Hour
	leafValidity = 365 * 24 * time.Hour
	// renewBefore is how long before expiry a leaf certificate is reissued.
	renewBefore = 90 * 24 * time.Hour
	// backdate moves NotBefore into the past, so that a certificate issued
	// now is accepted by a peer whose clock is a little behind.
	backdate = time.Hour
)

// newKey returns a fresh ECDSA P-256 key.
func newKey() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return k, nil
}

// newSerial returns a random positive 128-bit serial number.
func newSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	n, err := rand.Int(rand.Reader, limit)
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// create signs tmpl for key's public half with parent and parentKey (the
// same certificate and key for a self-signed CA) and returns the pair.
func create(tmpl *x509.Certificate, key *ecdsa.PrivateKey, parent *pair) (*pair, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	parentCert, parentKey := tmpl, any(key)
	if parent != nil {
		parentCert, parentKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, key.Public(), parentKey)
	if err != nil {
		return nil, fmt.Errorf("sign certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	return &pair{certPEM: encodeCert(der), keyPEM: keyPEM, cert: cert, key: key}, nil
}

// newCA returns a self-signed CA named "<prefix>@<unix time of now>".
func newCA(prefix string, now time.Time) (*pair, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	return create(&x509.Certificate{
		Subject:               pkix.Name{CommonName: fmt.Sprintf("%s@%d", prefix, now.Unix())},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, key, nil)
}

// leaf describes a certificate to issue from a CA.
type leaf struct {
	cn    string
	orgs  []string
	usage x509.ExtKeyUsage
	dns   []string
	ips   []net.IP
}

// issue signs a new key for l with ca, valid from now for leafValidity but
// never past the CA's own expiry.
func issue(ca *pair, l leaf, now time.Time) (*pair, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	notAfter := now.Add(leafValidity)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	return create(&x509.Certificate{
		Subject:               pkix.Name{CommonName: l.cn, Organization: l.orgs},
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{l.usage},
		BasicConstraintsValid: true,
		DNSNames:              l.dns,
		IPAddresses:           l.ips,
	}, key, ca)
}

// fresh reports whether p chains to ca for usage at now and stays valid for
// longer than renewBefore.
func fresh(p, ca *pair, usage x509.ExtKeyUsage, now time.Time) bool {
	if !now.Add(renewBefore).Before(p.cert.NotAfter) {
		return false
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	_, err := p.cert.Verify(x509.VerifyOptions{
		Roots:       roots,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{usage},
	})
	return err == nil
}
