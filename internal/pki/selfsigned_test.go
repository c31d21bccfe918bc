package pki

import (
	"crypto/x509"
	"net"
	"testing"
	"time"
)

func TestSelfSignedServing(t *testing.T) {
	t.Parallel()
	now := time.Now()
	c, err := SelfSignedServing("node-1", []string{"node-1", "192.0.2.7", "", "NODE-1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	for _, host := range []string{"node-1", "192.0.2.7"} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: host, Roots: pool, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("verify for %s: %v", host, err)
		}
	}
	if len(cert.DNSNames) != 1 || len(cert.IPAddresses) != 1 || !cert.IPAddresses[0].Equal(net.ParseIP("192.0.2.7")) {
		t.Errorf("SANs %v %v, want [node-1] [192.0.2.7]", cert.DNSNames, cert.IPAddresses)
	}
	if _, err := SelfSignedServing("", nil, now); err == nil {
		t.Error("empty common name accepted")
	}
}
