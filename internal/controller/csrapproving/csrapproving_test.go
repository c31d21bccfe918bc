package csrapproving

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

	authorizationv1 "k8s.io/api/authorization/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func csrFor(t *testing.T, cn, org, requester string, groups []string) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn, Organization: []string{org}}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "csr-1"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName,
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
			Username:   requester, Groups: groups,
		},
	}
}

// TestSync runs one sync against a fake API whose SubjectAccessReviews
// allow nodeclient to bootstrappers and selfnodeclient to nodes, as
// internal/auth does.
func TestSync(t *testing.T) {
	t.Parallel()
	boot := []string{"system:bootstrappers", "system:authenticated"}
	nodes := []string{"system:nodes", "system:authenticated"}
	cases := []struct {
		name        string
		csr         *certificatesv1.CertificateSigningRequest
		wantMessage string // "" means not approved
		wantSARs    []string
	}{
		{"bootstrapper gets a node certificate", csrFor(t, "system:node:n1", "system:nodes", "system:bootstrap:abcdef", boot),
			"Auto approving kubelet client certificate after SubjectAccessReview.", []string{"nodeclient"}},
		{"node renews its own", csrFor(t, "system:node:n1", "system:nodes", "system:node:n1", nodes),
			"Auto approving self kubelet client certificate after SubjectAccessReview.", []string{"selfnodeclient"}},
		{"node asks for another node", csrFor(t, "system:node:n2", "system:nodes", "system:node:n1", nodes),
			"", []string{"nodeclient"}},
		{"bootstrapper asks for masters", csrFor(t, "system:node:n1", "system:masters", "system:bootstrap:abcdef", boot), "", nil},
		{"other signer", func() *certificatesv1.CertificateSigningRequest {
			c := csrFor(t, "system:node:n1", "system:nodes", "system:bootstrap:abcdef", boot)
			c.Spec.SignerName = certificatesv1.KubeAPIServerClientSignerName
			return c
		}(), "", nil},
		{"already denied", func() *certificatesv1.CertificateSigningRequest {
			c := csrFor(t, "system:node:n1", "system:nodes", "system:bootstrap:abcdef", boot)
			c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateDenied, Status: "True"}}
			return c
		}(), "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client := fake.NewClientset(tc.csr)
			var sars []string
			client.PrependReactor("create", "subjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
				sar := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview)
				sub := sar.Spec.ResourceAttributes.Subresource
				sars = append(sars, sub)
				allowed := sub == "nodeclient" && slices.Contains(sar.Spec.Groups, "system:bootstrappers") ||
					sub == "selfnodeclient" && slices.Contains(sar.Spec.Groups, "system:nodes")
				sar.Status.Allowed = allowed
				return true, sar, nil
			})
			f := informers.NewSharedInformerFactory(client, 0)
			csrs := f.Certificates().V1().CertificateSigningRequests()
			c, err := New(Config{Client: client, CSRs: csrs})
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
			if !slices.Equal(sars, tc.wantSARs) {
				t.Errorf("SARs %v, want %v", sars, tc.wantSARs)
			}
			var approval *certificatesv1.CertificateSigningRequest
			for _, a := range client.Actions() {
				if a.GetVerb() == "update" && a.GetSubresource() == "approval" {
					approval = a.(k8stesting.UpdateAction).GetObject().(*certificatesv1.CertificateSigningRequest)
				}
			}
			switch {
			case tc.wantMessage == "" && approval != nil:
				t.Fatalf("approved: %+v", approval.Status.Conditions)
			case tc.wantMessage != "" && approval == nil:
				t.Fatal("not approved")
			case tc.wantMessage != "":
				got := approval.Status.Conditions[len(approval.Status.Conditions)-1]
				if got.Type != certificatesv1.CertificateApproved || got.Status != "True" || got.Reason != "AutoApproved" || got.Message != tc.wantMessage {
					t.Errorf("condition %+v", got)
				}
			}
		})
	}
}
