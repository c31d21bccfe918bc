package testutil

import (
	"context"
	"k8s.io/klog/v2"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/skiff/skiff/internal/config"
	"github.com/skiff/skiff/internal/server"
)

var klogOnce sync.Once

// Server is an in-process control plane for tests.
type Server struct {
	t      testing.TB
	Config config.Server
	srv    *server.Server
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// StartServer starts `skiff server --disable-agent` in-process with a data
// dir under t.TempDir() and stops it when the test ends.
func StartServer(t testing.TB) *Server {
	t.Helper()
	return StartServerWith(t, nil)
}

// StartServerWith is StartServer with a chance to change the configuration
// (e.g. an external datastore) before the start.
func StartServerWith(t testing.TB, mutate func(*config.Server)) *Server {
	t.Helper()
	dir := t.TempDir()
	cfg := config.DefaultServer(0, dir)
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.HTTPSPort = FreePort(t)
	cfg.BindAddress = "127.0.0.1"
	cfg.DisableAgent = true
	if mutate != nil {
		mutate(&cfg)
	}
	s := &Server{t: t, Config: cfg}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start (re)starts the server with its configuration.
func (s *Server) Start() {
	s.t.Helper()
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("SKIFF_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	// client-go logs through klog (leader election, warnings); keep test
	// output to what the tests say unless asked. klog's logger is global,
	// so it is set once, before any server of this test binary runs.
	klogOnce.Do(func() { klog.SetSlogLogger(log) })
	srv, err := server.Start(context.Background(), s.Config, log)
	if err != nil {
		s.t.Fatalf("start server: %v", err)
	}
	s.srv = srv
}

// Stop stops the server; it is safe to call twice.
func (s *Server) Stop() {
	if s.srv != nil {
		s.srv.Stop()
		s.srv = nil
	}
}

// Restart stops and starts the server on the same data dir and port.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.Start()
}

// Kubeconfig returns the path of the admin kubeconfig.
func (s *Server) Kubeconfig() string { return s.Config.KubeconfigPath() }

// RESTConfig returns an admin rest.Config.
func (s *Server) RESTConfig() *rest.Config {
	s.t.Helper()
	rc, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig())
	if err != nil {
		s.t.Fatalf("load kubeconfig: %v", err)
	}
	rc.QPS, rc.Burst = 1000, 1000
	return rc
}

// Client returns an admin clientset.
func (s *Server) Client() kubernetes.Interface {
	s.t.Helper()
	c, err := kubernetes.NewForConfig(s.RESTConfig())
	if err != nil {
		s.t.Fatalf("client: %v", err)
	}
	return c
}
