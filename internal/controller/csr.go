package controller

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
)

// ParseCSR decodes the PEM "CERTIFICATE REQUEST" of a
// CertificateSigningRequest's spec.request.
func ParseCSR(pemBytes []byte) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, errors.New("PEM block type must be CERTIFICATE REQUEST")
	}
	return x509.ParseCertificateRequest(block.Bytes)
}

// CSRConditions reports whether csr has been approved, denied, or has
// failed.
func CSRConditions(csr *certificatesv1.CertificateSigningRequest) (approved, denied, failed bool) {
	for _, c := range csr.Status.Conditions {
		if c.Status != corev1.ConditionTrue && c.Status != "" {
			continue
		}
		switch c.Type {
		case certificatesv1.CertificateApproved:
			approved = true
		case certificatesv1.CertificateDenied:
			denied = true
		case certificatesv1.CertificateFailed:
			failed = true
		}
	}
	return approved, denied, failed
}

// NodeUserPrefix starts the user name, and the common name of the client
// certificate, of every node.
const NodeUserPrefix = "system:node:"

// ValidateKubeletClientCSR checks that req and usages ask for a kubelet's
// client certificate: organization exactly system:nodes, a common name
// starting with system:node:, no subject alternative names, and the usages
// "digital signature" and "client auth", with "key encipherment" allowed
// for RSA keys. The messages are upstream's.
func ValidateKubeletClientCSR(req *x509.CertificateRequest, usages []certificatesv1.KeyUsage) error {
	if !slices.Equal(req.Subject.Organization, []string{"system:nodes"}) {
		return errors.New("subject organization is not system:nodes")
	}
	switch {
	case len(req.DNSNames) > 0:
		return errors.New("DNS subjectAltNames are not allowed")
	case len(req.EmailAddresses) > 0:
		return errors.New("Email subjectAltNames are not allowed")
	case len(req.IPAddresses) > 0:
		return errors.New("IP subjectAltNames are not allowed")
	case len(req.URIs) > 0:
		return errors.New("URI subjectAltNames are not allowed")
	}
	if !strings.HasPrefix(req.Subject.CommonName, NodeUserPrefix) {
		return errors.New("subject common name does not begin with system:node:")
	}
	set := map[certificatesv1.KeyUsage]bool{}
	for _, u := range usages {
		set[u] = true
	}
	base := set[certificatesv1.UsageDigitalSignature] && set[certificatesv1.UsageClientAuth]
	n := 2
	if set[certificatesv1.UsageKeyEncipherment] {
		n = 3
	}
	if !base || len(set) != n {
		return fmt.Errorf("usages did not match [%s %s %s]", certificatesv1.UsageClientAuth, certificatesv1.UsageDigitalSignature, certificatesv1.UsageKeyEncipherment)
	}
	return nil
}
