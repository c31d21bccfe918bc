package pki

import (
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"time"
)

// signBackdate moves NotBefore of signed requests into the past, as
// upstream's CSR signer does (5 minutes), for peers whose clock is behind.
const signBackdate = 5 * time.Minute

// SignRequest is what the client CA signs for a CertificateSigningRequest:
// the requester's public key and subject, with the usages the signer
// granted.
type SignRequest struct {
	// CSR is the parsed request; its signature must already be checked.
	CSR *x509.CertificateRequest
	// KeyUsage and ExtKeyUsages are the certificate's usages.
	KeyUsage     x509.KeyUsage
	ExtKeyUsages []x509.ExtKeyUsage
	// Validity is how long the certificate lasts from now; it is cut
	// to the CA's own expiry. It must be positive.
	Validity time.Duration
}

// SignClient signs req with the client CA, which the API server trusts
// for client certificates, and returns the certificate PEM. It copies the
// subject and DNS/IP SANs of the request and nothing else from it.
func (b *Bundle) SignClient(req SignRequest) ([]byte, error) {
	if req.CSR == nil || req.Validity <= 0 {
		return nil, errors.New("sign client certificate: request and positive validity required")
	}
	if err := req.CSR.CheckSignature(); err != nil {
		return nil, fmt.Errorf("sign client certificate: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := b.now()
	ca := b.clientCA
	notAfter := now.Add(req.Validity)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               req.CSR.Subject,
		NotBefore:             now.Add(-signBackdate),
		NotAfter:              notAfter,
		KeyUsage:              req.KeyUsage,
		ExtKeyUsage:           slices.Clone(req.ExtKeyUsages),
		BasicConstraintsValid: true,
		DNSNames:              req.CSR.DNSNames,
		IPAddresses:           req.CSR.IPAddresses,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, req.CSR.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("sign client certificate %q: %w", req.CSR.Subject.CommonName, err)
	}
	return encodeCert(der), nil
}
