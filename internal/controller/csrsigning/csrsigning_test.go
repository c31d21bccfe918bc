package csrsigning

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"slices"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
)

func approvedCSR(t *testing.T, signer, org string, usages ...certificatesv1.KeyUsage) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:n1", Organization: []string{org}}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "csr-1"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), SignerName: signer, Usages: usages,
		},
		Status: certificatesv1.CertificateSigningRequestStatus{Conditions: []certificatesv1.CertificateSigningRequestCondition{
			{Type: certificatesv1.CertificateApproved, Status: "True", Reason: "AutoApproved"},
		}},
	}
}

type signed struct {
	ku       x509.KeyUsage
	ext      []x509.ExtKeyUsage
	validity time.Duration
}

func TestSync(t *testing.T) {
	t.Parallel()
	ds, ca := certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth
	cases := []struct {
		name       string
		csr        *certificatesv1.CertificateSigningRequest
		wantSigned *signed
		wantFailed string
	}{
		{"kubelet client", approvedCSR(t, certificatesv1.KubeAPIServerClientKubeletSignerName, "system:nodes", ds, ca),
			&signed{x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, DefaultDuration}, ""},
		{"kubelet client for masters", approvedCSR(t, certificatesv1.KubeAPIServerClientKubeletSignerName, "system:masters", ds, ca),
			nil, "subject organization is not system:nodes"},
		{"apiserver client with server auth", approvedCSR(t, certificatesv1.KubeAPIServerClientSignerName, "team", ds, ca, certificatesv1.UsageServerAuth),
			nil, "invalid usage for client certificate: server auth"},
		{"apiserver client, short", func() *certificatesv1.CertificateSigningRequest {
			c := approvedCSR(t, certificatesv1.KubeAPIServerClientSignerName, "team", ca)
			c.Spec.ExpirationSeconds = ptr.To[int32](3600)
			return c
		}(), &signed{0, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, time.Hour}, ""},
		{"not ours", approvedCSR(t, "example.com/other", "system:nodes", ds, ca), nil, ""},
		{"pending", func() *certificatesv1.CertificateSigningRequest {
			c := approvedCSR(t, certificatesv1.KubeAPIServerClientKubeletSignerName, "system:nodes", ds, ca)
			c.Status.Conditions = nil
			return c
		}(), nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := fake.NewClientset(tc.csr)
			f := informers.NewSharedInformerFactory(client, 0)
			csrs := f.Certificates().V1().CertificateSigningRequests()
			var got *signed
			c, err := New(Config{Client: client, CSRs: csrs, Sign: func(_ *x509.CertificateRequest, ku x509.KeyUsage, ext []x509.ExtKeyUsage, v time.Duration) ([]byte, error) {
				got = &signed{ku, ext, v}
				return []byte("CERT"), nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			if err := csrs.Informer().GetIndexer().Add(tc.csr); err != nil {
				t.Fatal(err)
			}
			client.ClearActions()
			if err := c.sync(context.Background(), tc.csr.Name); err != nil {
				t.Fatalf("sync: %v", err)
			}
			var status *certificatesv1.CertificateSigningRequest
			for _, a := range client.Actions() {
				if a.GetVerb() == "update" && a.GetSubresource() == "status" {
					status = a.(k8stesting.UpdateAction).GetObject().(*certificatesv1.CertificateSigningRequest)
				}
			}
			switch {
			case tc.wantSigned != nil:
				if got == nil || got.ku != tc.wantSigned.ku || !slices.Equal(got.ext, tc.wantSigned.ext) || got.validity != tc.wantSigned.validity {
					t.Fatalf("signed %+v, want %+v", got, tc.wantSigned)
				}
				if status == nil || string(status.Status.Certificate) != "CERT" {
					t.Fatalf("status not updated with the certificate: %+v", status)
				}
			case tc.wantFailed != "":
				if got != nil || status == nil {
					t.Fatalf("signed %v, status %v", got, status)
				}
				cond := status.Status.Conditions[len(status.Status.Conditions)-1]
				if cond.Type != certificatesv1.CertificateFailed || cond.Reason != "SignerValidationFailure" || cond.Message != tc.wantFailed {
					t.Errorf("condition %+v, want Failed %q", cond, tc.wantFailed)
				}
			default:
				if got != nil || status != nil {
					t.Errorf("acted on it: signed %v, status %v", got, status)
				}
			}
		})
	}
}

func TestDuration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		req  *int32
		want time.Duration
	}{
		{nil, DefaultDuration},
		{ptr.To[int32](600), 10 * time.Minute},
		{ptr.To[int32](60), 10 * time.Minute},
		{ptr.To[int32](86400), 24 * time.Hour},
		{ptr.To[int32](1 << 30), DefaultDuration},
	} {
		if got := Duration(DefaultDuration, tc.req); got != tc.want {
			t.Errorf("Duration(%v) = %v, want %v", tc.req, got, tc.want)
		}
	}
}
