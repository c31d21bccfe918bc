//go:build integration

package integration

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff/skiff/internal/agent"
	"github.com/skiff/skiff/internal/auth/bootstraptoken"
	"github.com/skiff/skiff/internal/cli"
	"github.com/skiff/skiff/internal/server"
	"github.com/skiff/skiff/internal/testutil"
)

// serverToken reads the join token the server keeps in its data dir.
func serverToken(t *testing.T, s *testutil.Server) bootstraptoken.Token {
	t.Helper()
	path := server.TokenPath(s.Config.DataDir)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("token file: %v", err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", info.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := bootstraptoken.Parse(string(data))
	if err != nil {
		t.Fatalf("token file %q: %v", data, err)
	}
	if tok.CAHash == "" || !strings.HasPrefix(strings.TrimSpace(string(data)), "K10") {
		t.Fatalf("token %q carries no CA hash", data)
	}
	return tok
}

// TestJoinIssuesNodeCertificate joins a node with the server's token: the
// agent pins the CA, its CSR is approved and signed by the controllers,
// and the resulting identity can register a Node but not delete a
// namespace. The token survives a restart.
func TestJoinIssuesNodeCertificate(t *testing.T) {
	s, admin := start(t)
	ctx := ctxT(t)
	tok := serverToken(t, s)
	rc := s.RESTConfig()

	dir := filepath.Join(t.TempDir(), "agent")
	creds, err := agent.Join(ctx, agent.JoinConfig{Server: rc.Host, Token: tok, Dir: dir, NodeName: "joined-1", Timeout: wait})
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	for name, mode := range map[string]os.FileMode{agent.ClientKeyFile: 0o600, agent.ClientCertFile: 0o600} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil || info.Mode().Perm() != mode {
			t.Errorf("%s: %v mode %v, want %v", name, err, info.Mode().Perm(), mode)
		}
	}
	if len(creds.ClientCA) == 0 {
		t.Error("no client CA")
	}

	csrs, err := admin.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
	if err != nil || len(csrs.Items) != 1 {
		t.Fatalf("csrs: %v %d", err, len(csrs.Items))
	}
	csr := csrs.Items[0]
	if csr.Spec.Username != "system:bootstrap:"+tok.ID || !contains(csr.Spec.Groups, "system:bootstrappers") {
		t.Errorf("csr requester %q %v", csr.Spec.Username, csr.Spec.Groups)
	}
	var approved bool
	for _, c := range csr.Status.Conditions {
		approved = approved || c.Type == certificatesv1.CertificateApproved && c.Reason == "AutoApproved"
	}
	if !approved || len(csr.Status.Certificate) == 0 {
		t.Errorf("csr status %+v", csr.Status)
	}

	node := kubernetes.NewForConfigOrDie(creds.REST)
	self, err := node.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnReview, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("self subject review: %v", err)
	}
	if u := self.Status.UserInfo; u.Username != "system:node:joined-1" || !contains(u.Groups, "system:nodes") {
		t.Errorf("node identity %q %v", u.Username, u.Groups)
	}
	if _, err := node.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "joined-1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("node registers itself: %v", err)
	}
	if _, err := admin.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "other"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = node.CoreV1().Nodes().Patch(ctx, "other", types.MergePatchType, []byte(`{"metadata":{"labels":{"evil":"yes"}}}`), metav1.PatchOptions{})
	wantAPIError(t, "node patches another node", err, 403, metav1.StatusReasonForbidden,
		`nodes "other" is forbidden: User "system:node:joined-1" cannot patch resource "nodes" in API group "" at the cluster scope`)
	if _, err := node.CoreV1().Nodes().Patch(ctx, "joined-1", types.MergePatchType, []byte(`{"metadata":{"labels":{"mine":"yes"}}}`), metav1.PatchOptions{}); err != nil {
		t.Errorf("node patches itself: %v", err)
	}
	if _, err := node.CoreV1().Pods("").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("node lists pods: %v", err)
	}
	err = node.CoreV1().Namespaces().Delete(ctx, "default", metav1.DeleteOptions{})
	wantAPIError(t, "node deletes a namespace", err, 403, metav1.StatusReasonForbidden,
		`namespaces "default" is forbidden: User "system:node:joined-1" cannot delete resource "namespaces" in API group "" at the cluster scope`)
	_, err = node.CoreV1().Secrets("kube-system").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("node creates a secret: %v, want Forbidden", err)
	}

	// A second join with the kept credentials makes no new CSR.
	if _, err := agent.Join(ctx, agent.JoinConfig{Server: rc.Host, Token: tok, Dir: dir, NodeName: "joined-1", Timeout: wait}); err != nil {
		t.Fatalf("rejoin: %v", err)
	}
	if l, _ := admin.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{}); len(l.Items) != 1 {
		t.Errorf("rejoin made a new csr: %d", len(l.Items))
	}

	// The node renews its certificate with its certificate; the
	// approver recognizes a self request.
	before, _ := os.ReadFile(filepath.Join(dir, agent.ClientCertFile))
	if err := agent.Renew(ctx, agent.JoinConfig{Server: rc.Host, Dir: dir, NodeName: "joined-1", Timeout: wait}); err != nil {
		t.Fatalf("renew: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, agent.ClientCertFile))
	if string(before) == string(after) {
		t.Error("renew kept the old certificate")
	}
	l, err := admin.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{})
	if err != nil || len(l.Items) != 2 {
		t.Fatalf("csrs after renewal: %v %d", err, len(l.Items))
	}
	var selfApproved bool
	for _, c := range l.Items {
		for _, cond := range c.Status.Conditions {
			selfApproved = selfApproved || c.Spec.Username == "system:node:joined-1" && cond.Message == "Auto approving self kubelet client certificate after SubjectAccessReview."
		}
	}
	if !selfApproved {
		t.Errorf("no self-approved renewal among %d csrs", len(l.Items))
	}
	renewed, err := agent.Join(ctx, agent.JoinConfig{Server: rc.Host, Token: tok, Dir: dir, NodeName: "joined-1", Timeout: wait})
	if err != nil {
		t.Fatalf("join with the renewed certificate: %v", err)
	}
	if _, err := kubernetes.NewForConfigOrDie(renewed.REST).CoreV1().Nodes().Get(ctx, "joined-1", metav1.GetOptions{}); err != nil {
		t.Errorf("renewed certificate: %v", err)
	}

	// Expired tokens are deleted by the token cleaner; the server's own
	// token never expires.
	old, _ := bootstraptoken.Generate("")
	if _, err := admin.CoreV1().Secrets("kube-system").Create(ctx, bootstraptoken.Secret(old, bootstraptoken.SecretOptions{
		Expires: time.Now().Add(-time.Minute),
	}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, "the expired token's secret is deleted", func() (bool, error) {
		_, err := admin.CoreV1().Secrets("kube-system").Get(ctx, bootstraptoken.SecretName(old.ID), metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})
	if _, err := admin.CoreV1().Secrets("kube-system").Get(ctx, bootstraptoken.SecretName(tok.ID), metav1.GetOptions{}); err != nil {
		t.Errorf("the server's token secret: %v", err)
	}

	s.Restart()
	if again := serverToken(t, s); again != tok {
		t.Errorf("token changed across restart: %s → %s", tok.ID, again.ID)
	}
}

// TestJoinRefusesWrongCAHash: an agent whose token pins another CA stops
// before sending its token, with a one-line error naming both hashes.
func TestJoinRefusesWrongCAHash(t *testing.T) {
	s, admin := start(t)
	ctx := ctxT(t)
	tok := serverToken(t, s)
	real := tok.CAHash
	tok.CAHash = "sha256:" + strings.Repeat("ab", 32)
	_, err := agent.Join(ctx, agent.JoinConfig{Server: s.RESTConfig().Host, Token: tok, Dir: t.TempDir(), NodeName: "evil", Timeout: wait})
	var mm *bootstraptoken.HashMismatch
	if !errors.As(err, &mm) {
		t.Fatalf("join with a wrong hash: %v, want HashMismatch", err)
	}
	want := "the server's CA certificate hash " + real + " does not match the token's CA hash " + tok.CAHash + ": refusing to trust this server"
	if err.Error() != want || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q, want %q", err, want)
	}
	if l, _ := admin.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{}); len(l.Items) != 0 {
		t.Errorf("a csr was created: %d", len(l.Items))
	}
}

// TestBootstrapTokenAuth checks the bootstrap token user's identity and
// limits, a created token, and refusal of expired and wrong tokens.
func TestBootstrapTokenAuth(t *testing.T) {
	s, admin := startAPI(t)
	ctx := ctxT(t)
	rc := s.RESTConfig()
	extra, err := bootstraptoken.Generate("")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().Secrets("kube-system").Create(ctx, bootstraptoken.Secret(extra, bootstraptoken.SecretOptions{
		Expires: time.Now().Add(time.Hour), ExtraGroups: []string{"system:bootstrappers:test"},
	}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	expired, _ := bootstraptoken.Generate("")
	if _, err := admin.CoreV1().Secrets("kube-system").Create(ctx, bootstraptoken.Secret(expired, bootstraptoken.SecretOptions{
		Expires: time.Now().Add(-time.Minute),
	}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	as := func(cred string) kubernetes.Interface {
		c := rest.AnonymousClientConfig(rc)
		c.BearerToken = cred
		return kubernetes.NewForConfigOrDie(c)
	}

	var boot kubernetes.Interface
	eventually(t, wait, "the informer sees the new token", func() (bool, error) {
		boot = as(extra.Credential())
		r, err := boot.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnReview, metav1.CreateOptions{})
		if err != nil {
			return false, err
		}
		u := r.Status.UserInfo
		if u.Username != "system:bootstrap:"+extra.ID || !contains(u.Groups, "system:bootstrappers") || !contains(u.Groups, "system:bootstrappers:test") || !contains(u.Groups, "system:authenticated") {
			t.Fatalf("bootstrap identity %q %v", u.Username, u.Groups)
		}
		return true, nil
	})
	_, err = boot.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
	wantAPIError(t, "bootstrapper lists pods", err, 403, metav1.StatusReasonForbidden,
		`pods is forbidden: User "system:bootstrap:`+extra.ID+`" cannot list resource "pods" in API group "" in the namespace "default"`)
	if _, err := boot.CertificatesV1().CertificateSigningRequests().Create(ctx, nodeCSR(t, "system:node:x"), metav1.CreateOptions{}); err != nil {
		t.Errorf("bootstrapper creates a csr: %v", err)
	}
	if _, err := boot.CertificatesV1().CertificateSigningRequests().List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("bootstrapper lists csrs: %v", err)
	}
	_, err = boot.CoreV1().Pods("default").Create(ctx, &corev1.Pod{}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("bootstrapper creates a binding-free pod: %v, want Forbidden", err)
	}

	for name, cred := range map[string]string{
		"expired": expired.Credential(),
		"wrong":   extra.ID + "." + strings.Repeat("z", 16),
		"unknown": "abcdef.0123456789abcdef",
	} {
		_, err := as(cred).CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if !apierrors.IsUnauthorized(err) {
			t.Errorf("%s token: %v, want Unauthorized", name, err)
		}
	}
}

// nodeCSR returns a kubelet client CSR for cn.
func nodeCSR(t *testing.T, cn string) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn, Organization: []string{"system:nodes"}}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "csr-"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName,
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
		},
	}
}

// authnReview is an empty SelfSubjectReview: the server fills in who
// asked.
var authnReview authenticationv1.SelfSubjectReview

// TestTokenCreate runs `skiff token create` against the server: the
// printed token pins the same CA as the server's own, expires as asked,
// and authenticates.
func TestTokenCreate(t *testing.T) {
	s, admin := startAPI(t)
	ctx := ctxT(t)
	var stdout, stderr bytes.Buffer
	if code := cli.Main([]string{"token", "create", "--kubeconfig", s.Kubeconfig(), "--ttl", "1h", "--description", "for a test"}, &stdout, &stderr); code != 0 {
		t.Fatalf("skiff token create: exit %d: %s", code, stderr.String())
	}
	tok, err := bootstraptoken.Parse(stdout.String())
	if err != nil {
		t.Fatalf("printed token %q: %v", stdout.String(), err)
	}
	if want := serverToken(t, s).CAHash; tok.CAHash != want {
		t.Errorf("token pins %s, the server's token %s", tok.CAHash, want)
	}
	sec, err := admin.CoreV1().Secrets("kube-system").Get(ctx, bootstraptoken.SecretName(tok.ID), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if exp := bootstraptoken.Expires(sec); exp.Before(time.Now().Add(59*time.Minute)) || exp.After(time.Now().Add(61*time.Minute)) {
		t.Errorf("expiration %v, want in an hour", exp)
	}
	if string(sec.Data[bootstraptoken.KeyDescription]) != "for a test" {
		t.Errorf("description %q", sec.Data[bootstraptoken.KeyDescription])
	}
	c := rest.AnonymousClientConfig(s.RESTConfig())
	c.BearerToken = tok.Credential()
	eventually(t, wait, "the new token authenticates", func() (bool, error) {
		r, err := kubernetes.NewForConfigOrDie(c).AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnReview, metav1.CreateOptions{})
		return err == nil && r.Status.UserInfo.Username == "system:bootstrap:"+tok.ID, err
	})
}
