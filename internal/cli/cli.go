package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"k8s.io/klog/v2"

	"github.com/skiff/skiff/internal/config"
	"github.com/skiff/skiff/internal/gctune"
	"github.com/skiff/skiff/internal/server"
)

const usage = `skiff: a Kubernetes-compatible cluster in one binary

Usage:
  skiff server [flags]    run the control plane and, unless --disable-agent, a node agent
  skiff agent [flags]     join a node to a cluster (--server URL --token TOKEN)
  skiff token create      print a new join token for agents
  skiff images import F…  import image tarballs into this node's containerd
  skiff version           print the version

Run "skiff server --help" or "skiff agent --help" for their flags.
`

// Main runs skiff with args (without the program name) and returns the
// process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "server":
		return runServer(args[1:], stderr)
	case "agent":
		return runAgent(args[1:], stderr)
	case "token":
		return runToken(args[1:], stdout, stderr)
	case "images":
		return runImages(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "skiff version %s (go %s)\n", server.Version.GitVersion, goVersion())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "skiff: unknown command %q\n%s", args[0], usage)
	return 2
}

// listFlag collects a repeatable or comma-separated flag.
type listFlag struct{ v *[]string }

func (l listFlag) String() string {
	if l.v == nil {
		return ""
	}
	return strings.Join(*l.v, ",")
}

func (l listFlag) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l.v = append(*l.v, p)
		}
	}
	return nil
}

func serverFlags(fs *flag.FlagSet, c *config.Server) {
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for certificates, etcd data and the kubeconfig")
	fs.StringVar(&c.BindAddress, "bind-address", c.BindAddress, "IP address the API server listens on (default all)")
	fs.IntVar(&c.HTTPSPort, "https-listen-port", c.HTTPSPort, "port of the API server")
	fs.StringVar(&c.WriteKubeconfig, "write-kubeconfig", c.WriteKubeconfig, "where to write the admin kubeconfig (default DATA-DIR/kubeconfig.yaml)")
	fs.Var(listFlag{&c.TLSSANs}, "tls-san", "extra name or IP of the serving certificate (repeatable)")
	fs.BoolVar(&c.DisableAgent, "disable-agent", c.DisableAgent, "run the control plane without a node agent")
	fs.StringVar(&c.DatastoreEndpoint, "datastore-endpoint", c.DatastoreEndpoint, "comma-separated URLs of an external etcd cluster")
	fs.StringVar(&c.DatastoreCAFile, "datastore-cafile", c.DatastoreCAFile, "CA file of the external etcd")
	fs.StringVar(&c.DatastoreCertFile, "datastore-certfile", c.DatastoreCertFile, "client certificate for the external etcd")
	fs.StringVar(&c.DatastoreKeyFile, "datastore-keyfile", c.DatastoreKeyFile, "client key for the external etcd")
	fs.StringVar(&c.ClusterCIDR, "cluster-cidr", c.ClusterCIDR, "pod network")
	fs.StringVar(&c.ServiceCIDR, "service-cidr", c.ServiceCIDR, "service network")
	fs.StringVar(&c.ClusterDNS, "cluster-dns", c.ClusterDNS, "cluster DNS service IP")
	fs.StringVar(&c.ClusterDomain, "cluster-domain", c.ClusterDomain, "cluster domain")
	fs.StringVar(&c.Token, "token", c.Token, "join token for agents (generated when empty)")
	fs.StringVar(&c.NodeName, "node-name", c.NodeName, "name of this node")
	fs.Var(listFlag{&c.Disable}, "disable", "components not to run (repeatable)")
	fs.Var(listFlag{&c.DisableControllers}, "disable-controllers", "controllers not to run (repeatable)")
	fs.DurationVar(&c.NodeMonitorGracePeriod, "node-monitor-grace-period", c.NodeMonitorGracePeriod, "how long a node may go without a heartbeat before it is marked Unknown (default 40s)")
	fs.StringVar(&c.SchedulerConfig, "scheduler-config", c.SchedulerConfig, "KubeSchedulerConfiguration file of the scheduler")
	fs.BoolVar(&c.Debug, "debug", c.Debug, "log at debug level")
	kubeletFlags(fs, &c.Kubelet)
}

func runServer(args []string, stderr io.Writer) int {
	home, _ := os.UserHomeDir()
	cfg := config.DefaultServer(os.Geteuid(), home)
	fs := flag.NewFlagSet("skiff server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	serverFlags(fs, &cfg)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "skiff server: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "skiff server: %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
		return 2
	}
	log := newLogger(stderr, cfg.Debug)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if addr := os.Getenv(pprofEnv); addr != "" {
		wait, err := servePprof(ctx, addr, log)
		if err != nil {
			fmt.Fprintf(stderr, "skiff server: %v\n", err)
			return 2
		}
		defer wait()
		defer stop() // the pprof server ends with ctx, before wait
	}
	go gctune.Run(ctx, gctune.DefaultPolicy(), log)
	if err := server.Run(ctx, cfg, log, nil); err != nil {
		fmt.Fprintf(stderr, "skiff server: %v\n", err)
		return 1
	}
	return 0
}

// newLogger logs structured text to w; quiet (info) unless debug. klog,
// which client-go uses, is routed to the same logger.
func newLogger(w io.Writer, debug bool) *slog.Logger {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
	klog.SetSlogLogger(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: max(level, slog.LevelWarn)})))
	return log
}
