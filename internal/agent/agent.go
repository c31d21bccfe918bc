package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/skiff/skiff/internal/config"
	"github.com/skiff/skiff/internal/containerd"
	"github.com/skiff/skiff/internal/cri"
	"github.com/skiff/skiff/internal/kubelet"
	"github.com/skiff/skiff/internal/kubelet/cgroups"
)

// Config configures an agent.
type Config struct {
	// NodeName names the node (required).
	NodeName string
	// NodeIP is the node's InternalIP ("" detects the default route's
	// source address).
	NodeIP string
	// Dir is the agent's data dir (<data-dir>/agent): containerd's root,
	// pod logs, and images/ whose tarballs are imported at start.
	Dir string
	// RunDir holds runtime state (default /run/skiff/<node>).
	RunDir string
	// ImageDirs are more directories whose *.tar are imported at start;
	// missing ones are skipped.
	ImageDirs []string
	// REST reaches the API server (required).
	REST *rest.Config
	// ClientCA is the PEM of the CA whose client certificates the node's
	// API accepts (the API server's kube-apiserver-kubelet-client). Without
	// it the node's API is not served, and kubectl logs, exec, attach and
	// port-forward cannot reach this node.
	ClientCA []byte
	// Kubelet tunes the node (reservations, max pods, status frequency);
	// zero fields take upstream's defaults.
	Kubelet config.Kubelet
	// ContainerRuntimeEndpoint, when set, is an existing CRI socket
	// (unix:///path or /path) used instead of starting containerd; the
	// pod network is then left to that runtime's CNI configuration.
	ContainerRuntimeEndpoint string
	// NodeLabels and NodeTaints are set on the Node when it registers.
	NodeLabels map[string]string
	NodeTaints []corev1.Taint
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Agent is a running node agent.
type Agent struct {
	cfg    Config
	log    *slog.Logger
	d      *containerd.Daemon
	rt     *cri.Client
	cancel context.CancelFunc
	done   chan struct{}
}

// Start starts containerd and returns once it answers; the kubelet then
// starts in the background (after the images are imported) and runs
// until Stop.
func Start(ctx context.Context, cfg Config) (*Agent, error) {
	if cfg.NodeName == "" || cfg.Dir == "" || cfg.REST == nil {
		return nil, errors.New("agent: NodeName, Dir and REST are required")
	}
	if cfg.RunDir == "" {
		cfg.RunDir = filepath.Join("/run/skiff", cfg.NodeName)
	}
	if cfg.NodeIP == "" {
		cfg.NodeIP = kubelet.DefaultNodeIP()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	for _, d := range []string{cfg.Dir, filepath.Join(cfg.Dir, "images"), filepath.Join(cfg.Dir, "pod-manifests"), cfg.RunDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("agent: %w", err)
		}
	}
	d, rt, err := startRuntime(ctx, cfg)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a := &Agent{cfg: cfg, log: cfg.Logger.With("component", "agent"), d: d, rt: rt, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(a.done)
		if err := a.run(runCtx); err != nil {
			a.log.Error("Node agent stopped", "err", err)
		}
	}()
	return a, nil
}

// ContainerdAddress returns the socket of the agent's containerd (or of
// the runtime at ContainerRuntimeEndpoint).
func (a *Agent) ContainerdAddress() string { return a.runtimeAddress() }

func (a *Agent) run(ctx context.Context) error {
	if err := a.importImages(ctx); err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(a.cfg.REST)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	// The pod network waits for the node's pod CIDR, so it is set up
	// beside the kubelet, which registers the node.
	var network sync.WaitGroup
	netCtx, stopNetwork := context.WithCancel(ctx)
	defer network.Wait()
	defer stopNetwork()
	if a.d != nil {
		network.Go(func() { a.setupNetwork(netCtx, client, a.d.Config().CNIConfDir) })
	}
	network.Go(func() { a.watchImages(netCtx) })
	host, err := kubelet.ReadHostInfo(a.cfg.Dir)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	kubeletPort, waitNodeAPI, err := a.serveNodeAPI(ctx)
	if err != nil {
		return err
	}
	defer waitNodeAPI()
	cg, err := cgroups.New(a.cfg.NodeName)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	k, err := kubelet.New(kubelet.Config{
		Client: client, Runtime: a.rt, Images: a.rt,
		NodeName: a.cfg.NodeName, NodeIP: a.cfg.NodeIP, Host: host, KubeletPort: kubeletPort,
		LogDir: filepath.Join(a.cfg.Dir, "pods"), Logger: a.cfg.Logger,
		SystemReserved: a.cfg.Kubelet.SystemReserved, KubeReserved: a.cfg.Kubelet.KubeReserved,
		MaxPods: int64(a.cfg.Kubelet.MaxPods), NodeStatusUpdateFrequency: a.cfg.Kubelet.NodeStatusUpdateFrequency,
		Cgroups: cg, NodeLabels: a.cfg.NodeLabels, NodeTaints: a.cfg.NodeTaints,
		StaticPodPath: filepath.Join(a.cfg.Dir, "pod-manifests"),
	})
	if err != nil {
		return err
	}
	// The API server may be briefly unreachable: retry registration.
	for {
		err := k.Run(ctx)
		if err == nil || ctx.Err() != nil {
			return nil
		}
		a.log.Warn("Kubelet failed, retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}
}

// importImages imports every *.tar of the agent's images/ directory and
// of cfg.ImageDirs.
func (a *Agent) importImages(ctx context.Context) error {
	var files []string
	for _, dir := range append([]string{filepath.Join(a.cfg.Dir, "images")}, a.cfg.ImageDirs...) {
		m, err := filepath.Glob(filepath.Join(dir, "*.tar"))
		if err != nil {
			return err
		}
		files = append(files, m...)
	}
	slices.Sort(files)
	if len(files) == 0 {
		return nil
	}
	start := time.Now()
	if err := containerd.ImportImages(ctx, a.runtimeAddress(), files...); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	a.log.Info("Imported images", "files", len(files), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// Stop stops the kubelet, then containerd; running containers keep
// running under their shims.
func (a *Agent) Stop(ctx context.Context) error {
	a.cancel()
	<-a.done
	a.rt.Close()
	if a.d == nil {
		return nil
	}
	return a.d.Stop(ctx)
}
