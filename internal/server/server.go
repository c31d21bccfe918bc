package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff/skiff/internal/agent"
	"github.com/skiff/skiff/internal/apiserver"
	"github.com/skiff/skiff/internal/apiserver/kinds/builtin"
	"github.com/skiff/skiff/internal/config"
	"github.com/skiff/skiff/internal/etcd"
	"github.com/skiff/skiff/internal/pki"
)

// Version is the Kubernetes version Skiff serves.
var Version = version.Info{Major: "1", Minor: "37", GitVersion: "v1.37.2+skiff", GitCommit: "", GitTreeState: "clean", BuildDate: "2026-11-22T00:00:00Z"}

// Server is a running control plane.
type Server struct {
	cfg    config.Server
	log    *slog.Logger
	etcd   *etcd.Server
	client *clientv3.Client
	api    *apiserver.Server
	http   *http.Server
	ln     net.Listener
	bundle *pki.Bundle
	addr   string
	caches caches
	// cancel ends the context of everything Start started.
	cancel context.CancelFunc
	lock   *dirLock
	// controllerManager runs the controllers while this server leads.
	controllerManager *controllerManager
	// agent is this node's agent, nil under --disable-agent.
	agent *agent.Agent
	// tokens authenticates bootstrap tokens once startTokenAuth ran.
	tokens atomic.Pointer[tokenAuth]
}

// Run starts the control plane and blocks until ctx ends. ready, when
// non-nil, is closed once /readyz passes.
func Run(ctx context.Context, cfg config.Server, log *slog.Logger, ready chan<- struct{}) error {
	s, err := Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	if ready != nil {
		close(ready)
	}
	<-ctx.Done()
	s.Stop()
	return nil
}

// Start starts the control plane and returns once it is ready.
func Start(ctx context.Context, cfg config.Server, log *slog.Logger) (_ *Server, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	s := &Server{cfg: cfg, log: log}
	// Components live until Stop, not until the caller's ctx: Run cancels
	// through Stop, in order.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	if s.lock, err = lockDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	s.bundle, err = pki.Ensure(filepath.Join(cfg.DataDir, "server", "tls"), pki.Options{
		SANs: cfg.TLSSANs, ClusterDomain: cfg.ClusterDomain, ServiceIP: cfg.FirstServiceIP(),
	})
	if err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}
	if err := s.startDatastore(runCtx); err != nil {
		return nil, err
	}
	s.api, err = apiserver.New(runCtx, apiserver.Config{
		Kinds:        builtin.All(),
		NewStore:     s.newStore,
		Authenticate: s.authenticate,
		ReadyChecks:  []apiserver.Check{{Name: "etcd", Check: s.checkEtcd}},
		ServiceCIDR:  cfg.ServiceCIDR,
		Logger:       log,
		Version:      Version,
		KubeletClient: &apiserver.KubeletClientConfig{
			CertFile: s.bundle.Files().KubeletClient.CertFile, KeyFile: s.bundle.Files().KubeletClient.KeyFile,
		},
	})
	if err != nil {
		return nil, err
	}
	if err := s.caches.waitReady(ctx); err != nil {
		return nil, fmt.Errorf("fill watch caches: %w", err)
	}
	if err := s.serve(); err != nil {
		return nil, err
	}
	if err := s.bootstrap(ctx); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if err := s.writeKubeconfig(); err != nil {
		return nil, err
	}
	if err := s.ensureJoinToken(ctx); err != nil {
		return nil, fmt.Errorf("join token: %w", err)
	}
	if err := s.startTokenAuth(ctx); err != nil {
		return nil, err
	}
	s.api.MarkReady()
	if err := s.startControllers(runCtx); err != nil {
		return nil, fmt.Errorf("controllers: %w", err)
	}
	if err := s.startAgent(ctx); err != nil {
		return nil, fmt.Errorf("node agent: %w", err)
	}
	log.Info("Skiff server is ready", "address", s.addr, "kubeconfig", cfg.KubeconfigPath(), "took", time.Since(start).Round(time.Millisecond))
	return s, nil
}

func (s *Server) startDatastore(ctx context.Context) error {
	if eps := s.cfg.DatastoreEndpoints(); len(eps) > 0 {
		c, err := etcd.NewClient(etcd.ClientConfig{Endpoints: eps, CAFile: s.cfg.DatastoreCAFile,
			CertFile: s.cfg.DatastoreCertFile, KeyFile: s.cfg.DatastoreKeyFile, Logger: s.log})
		if err != nil {
			return fmt.Errorf("connect to datastore: %w", err)
		}
		s.client = c
		return nil
	}
	e, err := etcd.Start(ctx, etcd.Config{DataDir: filepath.Join(s.cfg.DataDir, "server", "db"), Logger: s.log})
	if err != nil {
		return fmt.Errorf("start etcd: %w", err)
	}
	s.etcd = e
	c, err := e.NewClient()
	if err != nil {
		return fmt.Errorf("connect to etcd: %w", err)
	}
	s.client = c
	return nil
}

func (s *Server) checkEtcd(ctx context.Context) error {
	_, err := s.client.Get(ctx, "health", clientv3.WithCountOnly())
	return err
}

func (s *Server) serve() error {
	addr := net.JoinHostPort(s.cfg.BindAddress, strconv.Itoa(s.cfg.HTTPSPort))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	s.ln = ln
	cert := s.bundle.ServingCertificate()
	s.http = &http.Server{
		Handler: s.withJoinEndpoints(s.api),
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			ClientAuth:   tls.VerifyClientCertIfGiven,
			ClientCAs:    s.bundle.ClientCAPool(),
			MinVersion:   tls.VersionTLS12,
			NextProtos:   []string{"h2", "http/1.1"},
		},
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	host := s.cfg.BindAddress
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	s.addr = "https://" + net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	s.http.RegisterOnShutdown(s.api.Shutdown)
	go func() {
		if err := s.http.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("API server stopped", "err", err)
		}
	}()
	return nil
}

// clientConfig returns a rest.Config for the server's own components.
func (s *Server) clientConfig() (*rest.Config, error) {
	kp := s.bundle.Files().Controller
	return &rest.Config{
		Host: s.addr,
		TLSClientConfig: rest.TLSClientConfig{
			CAData: s.bundle.ServerCAPEM(), CertFile: kp.CertFile, KeyFile: kp.KeyFile,
		},
		QPS: -1, UserAgent: "skiff",
	}, nil
}

func (s *Server) writeKubeconfig() error {
	kc, err := s.bundle.KubeconfigFor(s.addr, s.bundle.Files().Admin)
	if err != nil {
		return err
	}
	return pki.WriteKubeconfig(s.cfg.KubeconfigPath(), kc)
}

// Client returns a clientset with the server's own identity.
func (s *Server) Client() (kubernetes.Interface, error) {
	rc, err := s.clientConfig()
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(rc)
}

// Address returns the API server's URL.
func (s *Server) Address() string { return s.addr }

// Stop shuts everything down in reverse order of starting.
func (s *Server) Stop() {
	s.stopAgent()
	s.stopControllers()
	s.stopTokenAuth()
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = s.http.Shutdown(ctx) // on timeout Close below ends the rest
		cancel()
		_ = s.http.Close()
	}
	if s.cancel != nil {
		s.cancel()
	}
	if s.api != nil {
		s.api.Wait()
	}
	s.caches.stop()
	if s.client != nil {
		_ = s.client.Close() // closing a client only fails if already closed
	}
	if s.etcd != nil {
		s.etcd.Stop()
	}
	if s.lock != nil {
		s.lock.release()
	}
}
