package etcd

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// ClientConfig describes an external etcd cluster.
type ClientConfig struct {
	// Endpoints are client URLs such as https://10.0.0.1:2379. Required.
	Endpoints []string
	// CAFile, CertFile and KeyFile are PEM files for TLS. CAFile alone
	// verifies the server; CertFile and KeyFile add a client certificate.
	// All empty means no TLS (plain http:// or unix:// endpoints).
	CAFile, CertFile, KeyFile string
	// DialTimeout bounds connecting. Zero means 5 seconds.
	DialTimeout time.Duration
	// Logger receives client log entries at error level. Nil discards them.
	Logger *slog.Logger
}

// NewClient returns a client for an external etcd cluster. The caller must
// close it.
func NewClient(cfg ClientConfig) (*clientv3.Client, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("connect to etcd: no endpoints")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cc := clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: cfg.DialTimeout,
		Logger:      newZapLogger(logger, slog.LevelError),
	}
	if cc.DialTimeout == 0 {
		cc.DialTimeout = 5 * time.Second
	}
	if cfg.CAFile != "" || cfg.CertFile != "" || cfg.KeyFile != "" {
		if (cfg.CertFile == "") != (cfg.KeyFile == "") {
			return nil, errors.New("connect to etcd: certificate and key files must be given together")
		}
		info := transport.TLSInfo{TrustedCAFile: cfg.CAFile, CertFile: cfg.CertFile, KeyFile: cfg.KeyFile}
		tc, err := info.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("connect to etcd %v: %w", cfg.Endpoints, err)
		}
		cc.TLS = tc
	}
	cli, err := clientv3.New(cc)
	if err != nil {
		return nil, fmt.Errorf("connect to etcd %v: %w", cfg.Endpoints, err)
	}
	return cli, nil
}
