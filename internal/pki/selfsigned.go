package pki

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"time"
)

// SelfSignedServing returns a new self-signed serving certificate for cn
// covering hosts (DNS names or IP literals), valid for one year from now,
// with its fresh ECDSA P-256 key, ready for tls.Config.Certificates.
// Node agents serve their API with one when no CA-signed certificate is
// at hand; clients that do not pin it must skip verification, as
// upstream's API server does for kubelets by default.
func SelfSignedServing(cn string, hosts []string, now time.Time) (tls.Certificate, error) {
	if cn == "" {
		return tls.Certificate{}, errors.New("self-signed certificate: empty common name")
	}
	var n names
	for _, h := range hosts {
		n.add(h)
	}
	key, err := newKey()
	if err != nil {
		return tls.Certificate{}, err
	}
	p, err := create(&x509.Certificate{
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(leafValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              n.dns,
		IPAddresses:           n.netIPs(),
	}, key, nil)
	if err != nil {
		return tls.Certificate{}, err
	}
	c, err := tls.X509KeyPair(p.certPEM, p.keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("self-signed certificate %q: %w", cn, err)
	}
	return c, nil
}
