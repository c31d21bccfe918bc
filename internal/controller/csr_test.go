package controller

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
)

func TestValidateKubeletClientCSR(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(tmpl x509.CertificateRequest) *x509.CertificateRequest {
		der, err := x509.CreateCertificateRequest(rand.Reader, &tmpl, key)
		if err != nil {
			t.Fatal(err)
		}
		r, err := x509.ParseCertificateRequest(der)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	good := pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}}
	ecdsaUsages := []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth}
	rsaUsages := append([]certificatesv1.KeyUsage{certificatesv1.UsageKeyEncipherment}, ecdsaUsages...)
	cases := []struct {
		name    string
		req     *x509.CertificateRequest
		usages  []certificatesv1.KeyUsage
		wantErr string
	}{
		{"ecdsa usages", mk(x509.CertificateRequest{Subject: good}), ecdsaUsages, ""},
		{"rsa usages", mk(x509.CertificateRequest{Subject: good}), rsaUsages, ""},
		{"masters", mk(x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:masters"}}}), ecdsaUsages, "subject organization is not system:nodes"},
		{"two orgs", mk(x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes", "system:masters"}}}), ecdsaUsages, "subject organization is not system:nodes"},
		{"not a node", mk(x509.CertificateRequest{Subject: pkix.Name{CommonName: "admin", Organization: []string{"system:nodes"}}}), ecdsaUsages, "subject common name does not begin with system:node:"},
		{"dns san", mk(x509.CertificateRequest{Subject: good, DNSNames: []string{"n1"}}), ecdsaUsages, "DNS subjectAltNames are not allowed"},
		{"ip san", mk(x509.CertificateRequest{Subject: good, IPAddresses: []net.IP{net.IPv4(10, 0, 0, 1)}}), ecdsaUsages, "IP subjectAltNames are not allowed"},
		{"server auth", mk(x509.CertificateRequest{Subject: good}), append(ecdsaUsages, certificatesv1.UsageServerAuth), "usages did not match [client auth digital signature key encipherment]"},
		{"missing client auth", mk(x509.CertificateRequest{Subject: good}), []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature}, "usages did not match"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateKubeletClientCSR(tc.req, tc.usages)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.wantErr != "" && (err == nil || len(err.Error()) < len(tc.wantErr) || err.Error()[:len(tc.wantErr)] != tc.wantErr):
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}
