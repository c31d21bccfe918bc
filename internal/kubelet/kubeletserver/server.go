package kubeletserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/cri"
)

// DefaultPort is upstream's kubelet port.
const DefaultPort = 10250

// mastersGroup may use every endpoint.
const mastersGroup = "system:masters"

// Runtime is what the server needs of the CRI runtime.
type Runtime interface {
	ListPodSandbox(ctx context.Context, filter *runtimeapi.PodSandboxFilter) ([]*runtimeapi.PodSandbox, error)
	ListContainers(ctx context.Context, filter *runtimeapi.ContainerFilter) ([]*runtimeapi.Container, error)
	ContainerStatus(ctx context.Context, containerID string, verbose bool) (*runtimeapi.ContainerStatusResponse, error)
	cri.Streamer
}

// Config configures a Server. Runtime and ClientCAs are required.
type Config struct {
	Runtime Runtime
	// ClientCAs verifies callers' client certificates.
	ClientCAs *x509.CertPool
	// Address is where to listen, host:port; port 0 picks a free one
	// (default ":10250").
	Address string
	// Certificate is the serving certificate; empty generates a
	// self-signed one for Hosts.
	Certificate tls.Certificate
	// Hosts are the node's names and addresses for a generated
	// certificate.
	Hosts []string
	// FollowPoll is how often a followed log is checked for new lines
	// (default 100 ms).
	FollowPoll time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Server serves the node agent's API.
type Server struct {
	cfg  Config
	log  *slog.Logger
	mux  *http.ServeMux
	http *http.Server
	ln   net.Listener
}

// New returns a Server for cfg; it does not listen yet.
func New(cfg Config) (*Server, error) {
	if cfg.Runtime == nil || cfg.ClientCAs == nil {
		return nil, errors.New("kubeletserver: Runtime and ClientCAs are required")
	}
	if cfg.Address == "" {
		cfg.Address = fmt.Sprintf(":%d", DefaultPort)
	}
	if cfg.FollowPoll == 0 {
		cfg.FollowPoll = 100 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("component", "kubelet-server")}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	s.mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", s.serveLogs)
	for _, method := range []string{"GET", "POST"} {
		s.mux.HandleFunc(method+" /exec/{namespace}/{pod}/{container}", s.serveExec)
		s.mux.HandleFunc(method+" /exec/{namespace}/{pod}/{uid}/{container}", s.serveExec)
		s.mux.HandleFunc(method+" /attach/{namespace}/{pod}/{container}", s.serveAttach)
		s.mux.HandleFunc(method+" /attach/{namespace}/{pod}/{uid}/{container}", s.serveAttach)
		s.mux.HandleFunc(method+" /portForward/{namespace}/{pod}", s.servePortForward)
		s.mux.HandleFunc(method+" /portForward/{namespace}/{pod}/{uid}", s.servePortForward)
	}
	return s, nil
}

// Handler returns the authenticated handler, for tests that serve it
// themselves (with client certificates verified against ClientCAs).
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Listen binds the address and returns the port bound; Serve then
// serves it.
func (s *Server) Listen() (int, error) {
	cert := s.cfg.Certificate
	if len(cert.Certificate) == 0 {
		var err error
		if cert, err = selfSigned(s.cfg.Hosts); err != nil {
			return 0, fmt.Errorf("kubelet server certificate: %w", err)
		}
	}
	ln, err := net.Listen("tcp", s.cfg.Address)
	if err != nil {
		return 0, fmt.Errorf("kubelet server: %w", err)
	}
	s.ln = ln
	s.http = &http.Server{
		Handler: s.Handler(),
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			ClientAuth:   tls.VerifyClientCertIfGiven,
			ClientCAs:    s.cfg.ClientCAs,
			MinVersion:   tls.VersionTLS12,
			NextProtos:   []string{"http/1.1"},
		},
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Serve serves until ctx ends, then closes the listener and every open
// stream. Listen must have succeeded.
func (s *Server) Serve(ctx context.Context) error {
	go func() {
		<-ctx.Done()
		_ = s.http.Close() // ends Serve below and hijacked streams' handlers
	}()
	err := s.http.ServeTLS(s.ln, "", "")
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	user, groups, ok := clientIdentity(r)
	if !ok {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	if !slices.Contains(groups, mastersGroup) {
		verb := strings.ToLower(r.Method)
		if r.Method == http.MethodPost {
			verb = "create"
		}
		sub := "proxy"
		if p := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0]; p == "healthz" {
			sub = "healthz"
		}
		http.Error(w, fmt.Sprintf("Forbidden (user=%s, verb=%s, resource=nodes, subresource(s)=[%s])", user, verb, sub), http.StatusForbidden)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// clientIdentity returns the user and groups of a verified client
// certificate.
func clientIdentity(r *http.Request) (string, []string, bool) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return "", nil, false
	}
	c := r.TLS.VerifiedChains[0][0]
	return c.Subject.CommonName, c.Subject.Organization, true
}
