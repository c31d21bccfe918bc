package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"slices"
	"testing"
	"time"
)

func TestSignClient(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	b, err := Ensure(t.TempDir(), testOptions(now))
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := b.SignClient(SignRequest{CSR: csr, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, Validity: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := parseCert(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: b.ClientCAPool(), CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("does not chain to the client CA: %v", err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: b.ServerCAPool(), CurrentTime: now}); err == nil {
		t.Error("chains to the server CA")
	}
	if cert.Subject.CommonName != "system:node:n1" || !slices.Equal(cert.Subject.Organization, []string{"system:nodes"}) {
		t.Errorf("subject %v", cert.Subject)
	}
	if !cert.NotBefore.Equal(now.Add(-signBackdate)) || !cert.NotAfter.Equal(now.Add(24*time.Hour)) {
		t.Errorf("validity %v – %v", cert.NotBefore, cert.NotAfter)
	}
	if !key.PublicKey.Equal(cert.PublicKey) || cert.IsCA || cert.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Error("wrong key, CA flag or key usage")
	}

	forever, err := b.SignClient(SignRequest{CSR: csr, ExtKeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, Validity: 100 * 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := parseCert(forever); !c.NotAfter.Equal(b.clientCA.cert.NotAfter) {
		t.Errorf("not cut to the CA's expiry: %v vs %v", c.NotAfter, b.clientCA.cert.NotAfter)
	}
	if _, err := b.SignClient(SignRequest{CSR: csr}); err == nil {
		t.Error("zero validity accepted")
	}
}
