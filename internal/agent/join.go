package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/skiff/skiff/internal/auth/bootstraptoken"
	"github.com/skiff/skiff/internal/pki"
)

// Files a joined agent keeps in its directory (<data-dir>/agent).
const (
	ServerCAFile   = "server-ca.crt"
	ClientCAFile   = "client-ca.crt"
	ClientCertFile = "client.crt"
	ClientKeyFile  = "client.key"
	KubeconfigFile = "kubeconfig.yaml"
)

// Paths the server serves without authentication (see internal/server).
const (
	caCertsPath       = "/cacerts"
	clientCACertsPath = "/cacerts/client"
)

// ErrUnreachable is wrapped by Join's error when the server did not
// answer; trying again later may help.
var ErrUnreachable = errors.New("server unreachable")

// renewFraction: credentials with less than this share of their lifetime
// left are replaced at start.
const renewFraction = 0.2

// JoinConfig says how to join a cluster.
type JoinConfig struct {
	// Server is the API server's URL.
	Server string
	// Token is the join token; its CAHash must be set.
	Token bootstraptoken.Token
	// Dir is the agent's directory, where the credentials are kept.
	Dir string
	// NodeName is the node; the certificate is for system:node:<name>.
	NodeName string
	// Timeout bounds the wait for the certificate (default 5 minutes).
	Timeout time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Credentials are what a joined agent uses from then on.
type Credentials struct {
	// REST authenticates with the node's client certificate.
	REST *rest.Config
	// ClientCA verifies the API server's calls to the node.
	ClientCA []byte
}

// Join returns the node's credentials: those kept in cfg.Dir when they
// are for this node and this cluster (the token's CA) and not close to
// expiry; otherwise it fetches the server CA without verification,
// checks it against the token's CA hash, and then, over connections
// verified with that CA, gets a client certificate through a
// CertificateSigningRequest authenticated with the token, and keeps the
// key (0600), certificate and CAs in cfg.Dir.
func Join(ctx context.Context, cfg JoinConfig) (*Credentials, error) {
	if cfg.Token.CAHash == "" {
		return nil, errors.New("join: the token carries no CA hash; use the full K10 token or --ca-cert-hash")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Minute
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	if c, ok := loadCredentials(cfg, time.Now()); ok {
		cfg.Logger.Info("Using the node's client certificate", "file", filepath.Join(cfg.Dir, ClientCertFile))
		return c, nil
	}
	caPEM, err := fetchCA(ctx, cfg.Server, cfg.Token.CAHash)
	if err != nil {
		return nil, err
	}
	clientCA, err := get(ctx, verifiedClient(caPEM), cfg.Server+clientCACertsPath)
	if err != nil {
		return nil, fmt.Errorf("join: fetch the client CA: %w", err)
	}
	boot := &rest.Config{Host: cfg.Server, TLSClientConfig: rest.TLSClientConfig{CAData: caPEM},
		BearerToken: cfg.Token.Credential(), UserAgent: "skiff-agent/bootstrap"}
	certPEM, keyPEM, err := requestCertificate(ctx, boot, cfg)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{ServerCAFile, caPEM, 0o644}, {ClientCAFile, clientCA, 0o644},
		{ClientKeyFile, keyPEM, 0o600}, {ClientCertFile, certPEM, 0o600},
	} {
		if err := writeAtomic(filepath.Join(cfg.Dir, f.name), f.data, f.mode); err != nil {
			return nil, fmt.Errorf("join: %w", err)
		}
	}
	if err := pki.WriteKubeconfig(filepath.Join(cfg.Dir, KubeconfigFile), pki.Kubeconfig{
		Server: cfg.Server, CAPEM: caPEM, CertPEM: certPEM, KeyPEM: keyPEM,
	}); err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	cfg.Logger.Info("Joined the cluster", "server", cfg.Server, "node", cfg.NodeName, "cert", filepath.Join(cfg.Dir, ClientCertFile))
	return credentials(cfg, caPEM, clientCA), nil
}

func credentials(cfg JoinConfig, caPEM, clientCA []byte) *Credentials {
	return &Credentials{
		REST: &rest.Config{
			Host: cfg.Server,
			TLSClientConfig: rest.TLSClientConfig{
				CAData:   caPEM,
				CertFile: filepath.Join(cfg.Dir, ClientCertFile),
				KeyFile:  filepath.Join(cfg.Dir, ClientKeyFile),
			},
			QPS: 50, Burst: 100, UserAgent: "skiff-agent",
		},
		ClientCA: clientCA,
	}
}

// loadCredentials returns the kept credentials when they are usable:
// the server CA matches the token, the certificate is for this node, was
// signed by a CA we kept, and has more than renewFraction of its
// lifetime left.
func loadCredentials(cfg JoinConfig, now time.Time) (*Credentials, bool) {
	read := func(name string) []byte {
		b, _ := os.ReadFile(filepath.Join(cfg.Dir, name)) // nil when missing: checked below
		return b
	}
	caPEM, clientCA, certPEM, keyPEM := read(ServerCAFile), read(ClientCAFile), read(ClientCertFile), read(ClientKeyFile)
	if len(caPEM) == 0 || len(clientCA) == 0 || len(certPEM) == 0 || len(keyPEM) == 0 {
		return nil, false
	}
	if h, err := pki.CAHash(caPEM); err != nil || h != cfg.Token.CAHash {
		return nil, false
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, false
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil || cert.Subject.CommonName != "system:node:"+cfg.NodeName {
		return nil, false
	}
	life := cert.NotAfter.Sub(cert.NotBefore)
	if cert.NotAfter.Sub(now) < time.Duration(float64(life)*renewFraction) {
		return nil, false
	}
	return credentials(cfg, caPEM, clientCA), true
}

// fetchCA gets the server CA over an unverified connection and returns
// it only if its hash is wantHash: the pin is what makes the connection
// trustworthy, as with kubeadm's discovery token CA hash.
func fetchCA(ctx context.Context, server, wantHash string) ([]byte, error) {
	insecure := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, //nolint:gosec // verified by the pinned hash below
	}}
	caPEM, err := get(ctx, insecure, server+caCertsPath)
	if err != nil {
		return nil, fmt.Errorf("join: fetch the server CA: %w: %w", ErrUnreachable, err)
	}
	got, err := pki.CAHash(caPEM)
	if err != nil {
		return nil, fmt.Errorf("join: the server sent no usable CA certificate: %w", err)
	}
	if got != wantHash {
		return nil, &bootstraptoken.HashMismatch{Want: wantHash, Got: got}
	}
	return caPEM, nil
}

func verifiedClient(caPEM []byte) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}}
}

func get(ctx context.Context, c *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, nil
}

// requestCertificate creates a CSR for system:node:<name> with a fresh
// key, authenticated as rc, and waits until it is signed.
func requestCertificate(ctx context.Context, rc *rest.Config, cfg JoinConfig) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("join: generate key: %w", err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "system:node:" + cfg.NodeName, Organization: []string{"system:nodes"}},
	}, key)
	if err != nil {
		return nil, nil, fmt.Errorf("join: certificate request: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("join: %w", err)
	}
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, nil, fmt.Errorf("join: %w", err)
	}
	csrs := client.CertificatesV1().CertificateSigningRequests()
	csr, err := csrs.Create(ctx, &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "node-csr-"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName,
			Usages:     []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("join: create certificate signing request: %w", err)
	}
	cfg.Logger.Info("Waiting for the certificate signing request to be approved and signed", "csr", csr.Name)
	wctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	sel := fields.OneTermEqualSelector("metadata.name", csr.Name).String()
	lw := &cache.ListWatch{
		ListFunc: func(o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return csrs.List(wctx, o)
		},
		WatchFunc: func(o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return csrs.Watch(wctx, o)
		},
	}
	var cert []byte
	_, err = watchtools.UntilWithSync(wctx, lw, &certificatesv1.CertificateSigningRequest{}, nil, func(ev watch.Event) (bool, error) {
		c, ok := ev.Object.(*certificatesv1.CertificateSigningRequest)
		if !ok {
			return false, nil
		}
		if ev.Type == watch.Deleted {
			return false, fmt.Errorf("certificate signing request %s was deleted", c.Name)
		}
		for _, cond := range c.Status.Conditions {
			switch cond.Type {
			case certificatesv1.CertificateDenied:
				return false, fmt.Errorf("certificate signing request %s was denied: %s", c.Name, strings.TrimSpace(cond.Reason+" "+cond.Message))
			case certificatesv1.CertificateFailed:
				return false, fmt.Errorf("certificate signing request %s failed: %s", c.Name, strings.TrimSpace(cond.Reason+" "+cond.Message))
			}
		}
		if len(c.Status.Certificate) > 0 {
			cert = c.Status.Certificate
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		if ctx.Err() == nil && errors.Is(wctx.Err(), context.DeadlineExceeded) {
			return nil, nil, fmt.Errorf("join: certificate signing request %s was not signed within %v (approve it with `kubectl certificate approve %s`)", csr.Name, cfg.Timeout, csr.Name)
		}
		return nil, nil, fmt.Errorf("join: %w", err)
	}
	if _, err := tls.X509KeyPair(cert, keyPEM); err != nil {
		return nil, nil, fmt.Errorf("join: the signed certificate does not match the key: %w", err)
	}
	return cert, keyPEM, nil
}

// writeAtomic replaces path with data (temp file + rename), mode mode.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Renew replaces the node's certificate and key in cfg.Dir with new ones,
// requested with the current certificate (a node may ask for its own
// renewal: certificatesigningrequests/selfnodeclient). client-go clients
// built from Credentials.REST pick the new files up by themselves.
func Renew(ctx context.Context, cfg JoinConfig) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Minute
	}
	caPEM, err := os.ReadFile(filepath.Join(cfg.Dir, ServerCAFile))
	if err != nil {
		return fmt.Errorf("renew: %w", err)
	}
	rc := credentials(cfg, caPEM, nil).REST
	certPEM, keyPEM, err := requestCertificate(ctx, rc, cfg)
	if err != nil {
		return fmt.Errorf("renew: %w", err)
	}
	// The key first: a reader that sees the new key with the old
	// certificate fails to load and retries, as client-go does.
	if err := writeAtomic(filepath.Join(cfg.Dir, ClientKeyFile), keyPEM, 0o600); err != nil {
		return fmt.Errorf("renew: %w", err)
	}
	if err := writeAtomic(filepath.Join(cfg.Dir, ClientCertFile), certPEM, 0o600); err != nil {
		return fmt.Errorf("renew: %w", err)
	}
	if err := pki.WriteKubeconfig(filepath.Join(cfg.Dir, KubeconfigFile), pki.Kubeconfig{
		Server: cfg.Server, CAPEM: caPEM, CertPEM: certPEM, KeyPEM: keyPEM,
	}); err != nil {
		return fmt.Errorf("renew: %w", err)
	}
	cfg.Logger.Info("Renewed the node's client certificate", "file", filepath.Join(cfg.Dir, ClientCertFile))
	return nil
}

// RenewDue returns when the certificate in dir should be renewed: once
// 80% of its lifetime has passed (upstream's kubelet picks a random point
// between 70% and 90%).
func RenewDue(dir string) (time.Time, error) {
	data, err := os.ReadFile(filepath.Join(dir, ClientCertFile))
	if err != nil {
		return time.Time{}, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return time.Time{}, errors.New("no PEM certificate in " + ClientCertFile)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return time.Time{}, err
	}
	life := cert.NotAfter.Sub(cert.NotBefore)
	return cert.NotBefore.Add(time.Duration(float64(life) * (1 - renewFraction))), nil
}

// renewLoop renews the node's certificate when it is due, until ctx ends;
// a failed renewal is tried again a minute later.
func renewLoop(ctx context.Context, cfg JoinConfig) {
	for {
		wait := time.Minute
		if due, err := RenewDue(cfg.Dir); err != nil {
			cfg.Logger.Warn("Cannot read the node's certificate", "err", err)
		} else {
			wait = time.Until(due)
		}
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if due, err := RenewDue(cfg.Dir); err != nil || time.Now().Before(due) {
			continue
		}
		if err := Renew(ctx, cfg); err != nil && ctx.Err() == nil {
			cfg.Logger.Warn("Renewing the node's certificate failed, retrying in a minute", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Minute):
			}
		}
	}
}
