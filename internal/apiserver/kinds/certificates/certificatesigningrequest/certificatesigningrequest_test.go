package certificatesigningrequest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func errStrings(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+" "+e.Field)
	}
	return out
}

func newRequestPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "alice"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func validCSR(t *testing.T) *certificatesv1.CertificateSigningRequest {
	return &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "alice"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    newRequestPEM(t),
			SignerName: "kubernetes.io/kube-apiserver-client",
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageClientAuth},
		},
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*certificatesv1.CertificateSigningRequest)
		want   []string
	}{
		{name: "valid", mutate: func(*certificatesv1.CertificateSigningRequest) {}},
		{
			name: "bad spec",
			mutate: func(c *certificatesv1.CertificateSigningRequest) {
				c.Spec.Request = []byte("nope")
				c.Spec.Usages = []certificatesv1.KeyUsage{"client auth", "client auth", "flying"}
				c.Spec.SignerName = "example/signer"
				c.Spec.ExpirationSeconds = ptr.To[int32](60)
			},
			want: []string{
				"FieldValueInvalid spec.request",
				"FieldValueNotSupported spec.usages[2]",
				"FieldValueDuplicate spec.usages[1]",
				"FieldValueInvalid spec.signerName",
				"FieldValueInvalid spec.expirationSeconds",
			},
		},
		{
			name:   "missing signer and usages",
			mutate: func(c *certificatesv1.CertificateSigningRequest) { c.Spec.SignerName, c.Spec.Usages = "", nil },
			want:   []string{"FieldValueRequired spec.usages", "FieldValueRequired spec.signerName"},
		},
		{
			name: "bad conditions",
			mutate: func(c *certificatesv1.CertificateSigningRequest) {
				c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{
					{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionFalse},
					{Type: certificatesv1.CertificateDenied, Status: corev1.ConditionTrue},
				}
				c.Status.Certificate = []byte("junk")
			},
			want: []string{
				"FieldValueNotSupported status.conditions[0].status",
				"FieldValueInvalid status.conditions[1].type",
				"FieldValueInvalid status.certificate",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validCSR(t)
			tc.mutate(c)
			if diff := cmp.Diff(tc.want, errStrings(Kind().Strategy.Validate(c))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	k := Kind()
	old := validCSR(t)
	old.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved}}
	k.Strategy.Default(old)
	if old.Status.Conditions[0].Status != corev1.ConditionTrue {
		t.Fatalf("condition status not defaulted: %q", old.Status.Conditions[0].Status)
	}

	c := old.DeepCopy()
	c.Spec.SignerName = "example.com/other"
	k.Strategy.PrepareForUpdate(c, old)
	if c.Spec.SignerName != old.Spec.SignerName {
		t.Errorf("spec changed on update: %q", c.Spec.SignerName)
	}
	c.Status.Conditions = nil
	if diff := cmp.Diff([]string{"FieldValueForbidden status.conditions"}, errStrings(k.Strategy.ValidateUpdate(c, old))); diff != "" {
		t.Errorf("removing approval (-want +got):\n%s", diff)
	}
}

func TestRow(t *testing.T) {
	created := metav1.NewTime(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	c := validCSR(t)
	c.CreationTimestamp = created
	c.Spec.Username = "system:admin"
	c.Spec.ExpirationSeconds = ptr.To[int32](86400)
	c.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue}}
	c.Status.Certificate = []byte("x")
	want := []interface{}{"alice", "5m", "kubernetes.io/kube-apiserver-client", "system:admin", "24h", "Approved,Issued"}
	if diff := cmp.Diff(want, Kind().Strategy.Row(c, created.Add(5*time.Minute))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := Kind().Strategy.Fields(c)["spec.signerName"]; got != "kubernetes.io/kube-apiserver-client" {
		t.Errorf("spec.signerName field = %q", got)
	}
}
