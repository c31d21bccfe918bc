package server

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff/skiff/internal/auth/bootstraptoken"
	"github.com/skiff/skiff/internal/pki"
)

// Paths of the join endpoints, served without authentication: agents
// call them before they have credentials. Both answer PEM.
const (
	// CACertsPath serves the server CA, which the join token pins.
	CACertsPath = "/cacerts"
	// ClientCACertsPath serves the client CA, which node agents trust for
	// the API server's calls to them; agents fetch it only over a
	// connection verified with the pinned server CA.
	ClientCACertsPath = "/cacerts/client"
)

// TokenPath returns where the server keeps its join token.
func TokenPath(dataDir string) string { return filepath.Join(dataDir, "server", "token") }

// withJoinEndpoints serves the CA certificates in front of the API.
func (s *Server) withJoinEndpoints(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var pem []byte
		switch r.URL.Path {
		case CACertsPath:
			pem = s.bundle.ServerCAPEM()
		case ClientCACertsPath:
			pem = s.bundle.ClientCAPEM()
		default:
			next.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(pem) // the client went away; nothing to do
	})
}

// ensureJoinToken settles the server's join token — --token, else the one
// kept in DATA-DIR/server/token, else a new one — writes it there (0600)
// with this server's CA hash, and makes sure its Secret exists so the API
// server accepts it.
func (s *Server) ensureJoinToken(ctx context.Context) error {
	caHash, err := pki.CAHash(s.bundle.ServerCAPEM())
	if err != nil {
		return err
	}
	path := TokenPath(s.cfg.DataDir)
	var t bootstraptoken.Token
	switch {
	case s.cfg.Token != "":
		if t, err = bootstraptoken.Parse(s.cfg.Token); err != nil {
			return fmt.Errorf("--token: %w", err)
		}
		if t.CAHash != "" && t.CAHash != caHash {
			return fmt.Errorf("--token pins CA hash %s, but this server's CA hash is %s", t.CAHash, caHash)
		}
	default:
		data, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if t, err = bootstraptoken.Generate(caHash); err != nil {
				return err
			}
		case err != nil:
			return fmt.Errorf("read join token: %w", err)
		default:
			if t, err = bootstraptoken.Parse(string(data)); err != nil {
				return fmt.Errorf("join token in %s: %w", path, err)
			}
		}
	}
	t.CAHash = caHash
	if err := writeToken(path, t.String()); err != nil {
		return err
	}
	c, err := s.Client()
	if err != nil {
		return err
	}
	if err := ensureTokenSecret(ctx, c, t); err != nil {
		return err
	}
	s.log.Info("Agents join with the token in the file", "tokenFile", path)
	return nil
}

func writeToken(path, token string) error {
	if old, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(old)) == token {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write join token: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(token+"\n"), 0o600); err != nil {
		return fmt.Errorf("write join token: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write join token: %w", err)
	}
	return nil
}

// ensureTokenSecret creates the Secret of t, or repairs its credential.
func ensureTokenSecret(ctx context.Context, c kubernetes.Interface, t bootstraptoken.Token) error {
	want := bootstraptoken.Secret(t, bootstraptoken.SecretOptions{Description: "The join token of skiff server; it does not expire."})
	secrets := c.CoreV1().Secrets(bootstraptoken.SecretNamespace)
	got, err := secrets.Get(ctx, want.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = secrets.Create(ctx, want, metav1.CreateOptions{FieldManager: "skiff"})
		if err == nil || apierrors.IsAlreadyExists(err) {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("join token secret %s: %w", want.Name, err)
	}
	if _, _, aerr := bootstraptoken.Authenticate(t.Credential(), got, time.Now()); aerr == nil {
		return nil
	}
	got = got.DeepCopy()
	got.Type, got.Data = want.Type, want.Data
	if _, err := secrets.Update(ctx, got, metav1.UpdateOptions{FieldManager: "skiff"}); err != nil {
		return fmt.Errorf("join token secret %s: %w", want.Name, err)
	}
	return nil
}

// signClient signs a CertificateSigningRequest with the client CA, for
// the csrsigning controller.
func (s *Server) signClient(csr *x509.CertificateRequest, ku x509.KeyUsage, ext []x509.ExtKeyUsage, validity time.Duration) ([]byte, error) {
	return s.bundle.SignClient(pki.SignRequest{CSR: csr, KeyUsage: ku, ExtKeyUsages: ext, Validity: validity})
}

// nodeClientConfig returns the credentials of this server's own agent: a
// client certificate for system:node:<name> in group system:nodes, the
// identity a joined agent gets through a CSR, but issued here directly
// (kept as client-node.crt/.key in the server's TLS dir), so that the
// server's node does not wait for the CSR controllers, which may run on
// another server or be disabled (docs/adr/0004-join.md).
func (s *Server) nodeClientConfig(name string) (*rest.Config, error) {
	kp, err := s.bundle.ClientCertFor("node", "system:node:"+name, []string{"system:nodes"})
	if err != nil {
		return nil, fmt.Errorf("node client certificate: %w", err)
	}
	return &rest.Config{
		Host: s.addr,
		TLSClientConfig: rest.TLSClientConfig{
			CAData: s.bundle.ServerCAPEM(), CertFile: kp.CertFile, KeyFile: kp.KeyFile,
		},
		QPS: -1, UserAgent: "skiff-agent",
	}, nil
}
