package agent

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/skiff/skiff/internal/containerd"
	"github.com/skiff/skiff/internal/cri"
)

// startRuntime starts the agent's own containerd, or, with
// cfg.ContainerRuntimeEndpoint, connects to that runtime instead (d is
// then nil).
func startRuntime(ctx context.Context, cfg Config) (*containerd.Daemon, *cri.Client, error) {
	if ep := cfg.ContainerRuntimeEndpoint; ep != "" {
		rt, err := cri.Dial(EndpointURL(ep))
		if err != nil {
			return nil, nil, fmt.Errorf("agent: container runtime %s: %w", ep, err)
		}
		return nil, rt, nil
	}
	d, err := containerd.Start(ctx, containerd.Config{
		Root:   filepath.Join(cfg.Dir, "containerd"),
		State:  filepath.Join(cfg.RunDir, "containerd"),
		Logger: cfg.Logger,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("agent: %w", err)
	}
	rt, err := cri.Dial(d.Endpoint())
	if err != nil {
		_ = d.Stop(context.WithoutCancel(ctx)) // the dial error is the one to report
		return nil, nil, err
	}
	return d, rt, nil
}

// EndpointURL returns a CRI endpoint as a unix:// URL; a bare path is
// taken as a unix socket.
func EndpointURL(ep string) string {
	if strings.Contains(ep, "://") {
		return ep
	}
	return "unix://" + ep
}

// SocketPath returns the socket path of a unix:// endpoint (or a path).
func SocketPath(ep string) string { return strings.TrimPrefix(ep, "unix://") }

// ContainerdSocket returns where the agent of node keeps its own
// containerd's socket (under runDir, default /run/skiff/<node>).
func ContainerdSocket(runDir, node string) string {
	if runDir == "" {
		runDir = filepath.Join("/run/skiff", node)
	}
	return filepath.Join(runDir, "containerd", "containerd.sock")
}

// runtimeAddress is the containerd socket images are imported into.
func (a *Agent) runtimeAddress() string {
	if a.d != nil {
		return a.d.Address()
	}
	return SocketPath(a.cfg.ContainerRuntimeEndpoint)
}

// ImportImages imports OCI or docker-archive tarballs into the containerd
// at address (a socket path), as the agent does with images/ (`skiff
// images import`).
func ImportImages(ctx context.Context, address string, files ...string) error {
	return containerd.ImportImages(ctx, address, files...)
}
