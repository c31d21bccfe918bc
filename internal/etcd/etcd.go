package etcd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3rpc"
	"go.etcd.io/etcd/server/v3/proxy/grpcproxy/adapter"
	"go.uber.org/zap"
)

// maxSocketPath is the longest unix socket path we use. Linux allows 107
// bytes plus the terminating NUL in sun_path; keep a margin.
const maxSocketPath = 100

// Config configures an embedded etcd server.
type Config struct {
	// DataDir holds etcd's data, its client socket and its persisted
	// ports. It is created (mode 0700) if missing. Required.
	DataDir string
	// Logger receives etcd's log entries. Nil discards them.
	Logger *slog.Logger
	// LogLevel is the lowest level of etcd entries passed to Logger.
	// Nil means slog.LevelError.
	LogLevel slog.Leveler
	// ReadyTimeout bounds how long Start waits for etcd to serve.
	// Zero means 30 seconds.
	ReadyTimeout time.Duration
	// QuotaBackendBytes is etcd's backend size limit. Zero means etcd's
	// default (2 GiB).
	QuotaBackendBytes int64
	// UnsafeNoFsync turns off fsync. Only for tests: a crash loses data.
	UnsafeNoFsync bool
}

// Server is a running embedded etcd.
type Server struct {
	etcd      *embed.Etcd
	endpoints []string
	zlog      *zap.Logger
	stopOnce  sync.Once
}

// Start starts etcd and returns once it serves clients, ctx is done or
// Config.ReadyTimeout passes. The caller must call Stop.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("start etcd: empty data dir")
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("start etcd in %s: %w", cfg.DataDir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("start etcd in %s: %w", dir, err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	min := slog.LevelError
	if cfg.LogLevel != nil {
		min = cfg.LogLevel.Level()
	}
	zlog := newZapLogger(logger, min)

	clientURL, peerURL, err := listenURLs(dir)
	if err != nil {
		return nil, fmt.Errorf("start etcd in %s: %w", dir, err)
	}

	ec := embed.NewConfig()
	ec.Name = "skiff"
	ec.Dir = dir
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zlog)
	ec.LogLevel = "error"
	ec.ListenClientUrls = []url.URL{*clientURL}
	ec.AdvertiseClientUrls = []url.URL{*clientURL}
	ec.ListenPeerUrls = []url.URL{*peerURL}
	ec.AdvertisePeerUrls = []url.URL{*peerURL}
	ec.InitialCluster = ec.Name + "=" + peerURL.String()
	ec.InitialClusterToken = "skiff"
	ec.EnableGRPCGateway = false
	// A lone member never loses an election, but its first one waits a
	// randomized election timeout: short ticks make startup fast.
	ec.TickMs = 10
	ec.ElectionMs = 100
	ec.Metrics = "basic"
	ec.UnsafeNoFsync = cfg.UnsafeNoFsync
	if cfg.QuotaBackendBytes > 0 {
		ec.QuotaBackendBytes = cfg.QuotaBackendBytes
	}

	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("start etcd in %s: %w", dir, err)
	}
	timeout := cfg.ReadyTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("start etcd in %s: %w", dir, err)
	case <-timer.C:
		e.Close()
		return nil, fmt.Errorf("start etcd in %s: not ready after %v", dir, timeout)
	case <-ctx.Done():
		e.Close()
		return nil, fmt.Errorf("start etcd in %s: %w", dir, ctx.Err())
	}
	logger.Debug("Started etcd", "dataDir", dir, "endpoint", clientURL.String())
	return &Server{etcd: e, endpoints: []string{clientURL.String()}, zlog: zlog}, nil
}

// Endpoints returns the client URLs of the server, for
// clientv3.Config.Endpoints. The slice is the caller's.
func (s *Server) Endpoints() []string {
	return append([]string(nil), s.endpoints...)
}

// NewClient returns a client connected to the server. The caller must
// close it, before calling Stop. Reads, writes and watches call the server
// in process: that skips gRPC's marshalling, HTTP/2 and the socket, which
// cost about a fifth of the API server's CPU per write when they were in
// the path. Leases and maintenance stay on gRPC.
func (s *Server) NewClient() (*clientv3.Client, error) {
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   s.Endpoints(),
		DialTimeout: 5 * time.Second,
		Logger:      s.zlog,
	})
	if err != nil {
		return nil, fmt.Errorf("connect to embedded etcd: %w", err)
	}
	cli.KV = clientv3.NewKVFromKVClient(adapter.KvServerToKvClient(v3rpc.NewQuotaKVServer(s.etcd.Server)), cli)
	_ = cli.Watcher.Close() // the gRPC watcher has no stream yet
	cli.Watcher = clientv3.NewWatchFromWatchClient(pipeWatchClient{srv: v3rpc.NewWatchServer(s.etcd.Server)}, cli)
	return cli, nil
}

// Err returns a channel that receives fatal errors of the running server.
func (s *Server) Err() <-chan error {
	return s.etcd.Err()
}

// Stop shuts the server down and waits until it has stopped. It is safe
// to call more than once.
func (s *Server) Stop() {
	s.stopOnce.Do(s.etcd.Close)
}

// listenURLs returns the client and peer URLs for an etcd with data in dir.
// Clients get a unix socket in dir when its path fits in a socket address;
// otherwise, like peers, a 127.0.0.1 port chosen once and kept in dir.
func listenURLs(dir string) (client, peer *url.URL, err error) {
	ports, err := loadPorts(dir)
	if err != nil {
		return nil, nil, err
	}
	sock := filepath.Join(dir, "etcd.sock")
	useSocket := len(sock) <= maxSocketPath
	changed := false
	if ports.Peer, err = ensurePort(ports.Peer, &changed); err != nil {
		return nil, nil, err
	}
	if !useSocket {
		if ports.Client, err = ensurePort(ports.Client, &changed); err != nil {
			return nil, nil, err
		}
	}
	if changed {
		if err := savePorts(dir, ports); err != nil {
			return nil, nil, err
		}
	}
	peer = &url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports.Peer))}
	if useSocket {
		client = &url.URL{Scheme: "unix", Path: sock}
	} else {
		client = &url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports.Client))}
	}
	return client, peer, nil
}

// ports are the TCP ports persisted in portsFile; zero means unused.
type ports struct {
	Client int `json:"client,omitempty"`
	Peer   int `json:"peer,omitempty"`
}

const portsFile = "ports.json"

func loadPorts(dir string) (ports, error) {
	var p ports
	b, err := os.ReadFile(filepath.Join(dir, portsFile))
	if errors.Is(err, os.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("read %s: %w", portsFile, err)
	}
	return p, nil
}

func savePorts(dir string, p ports) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, portsFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, portsFile))
}

// ensurePort returns port if it is set and free on 127.0.0.1, or else a
// new free port, setting *changed.
func ensurePort(port int, changed *bool) (int, error) {
	if port > 0 {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			_ = l.Close() // only probing
			return port, nil
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	*changed = true
	return l.Addr().(*net.TCPAddr).Port, nil
}
