package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/utils/clock"
)

// Server configures `skiff server`.
type Server struct {
	// DataDir holds certificates, etcd data and the kubeconfig.
	DataDir string
	// BindAddress is the IP the API server listens on ("" means all).
	BindAddress string
	// HTTPSPort is the API server's port (default 6443).
	HTTPSPort int
	// WriteKubeconfig is where the admin kubeconfig goes (mode 0600);
	// "" means DataDir/kubeconfig.yaml.
	WriteKubeconfig string
	// TLSSANs are extra names and IPs of the serving certificate.
	TLSSANs []string
	// DisableAgent runs the control plane without a node agent.
	DisableAgent bool
	// DatastoreEndpoint, when set, is a comma-separated list of external
	// etcd URLs used instead of the embedded etcd; the three files
	// secure the connection.
	DatastoreEndpoint                                    string
	DatastoreCAFile, DatastoreCertFile, DatastoreKeyFile string
	ClusterCIDR, ServiceCIDR, ClusterDNS, ClusterDomain  string
	// Token is the join token agents present; "" generates one.
	Token string
	// NodeName is the name of this node's agent ("" means the host name).
	NodeName string
	// Disable lists components not to run (e.g. "scheduler").
	Disable []string
	// SchedulerConfig is a KubeSchedulerConfiguration file ("" means the
	// default profile).
	SchedulerConfig string
	// DisableControllers lists controllers not to run.
	DisableControllers []string
	// NodeMonitorGracePeriod is how long a node may go without a
	// heartbeat before the node lifecycle controller marks it Unknown
	// (0 means upstream's 40s).
	NodeMonitorGracePeriod time.Duration
	// Debug turns on debug logging.
	Debug bool
	// Kubelet configures this node's agent.
	Kubelet Kubelet

	// ControllerClock, when set, is the clock of the controllers that act
	// on schedules and TTLs (cronjob, ttl-after-finished), so that tests
	// can step a fake clock through minutes. No flag sets it.
	ControllerClock clock.WithDelayedExecution
	// JobBackoff, when positive, replaces the job controller's 10s base
	// back-off between pod re-creations (its cap keeps upstream's 6m/10s
	// ratio); tests shorten it. No flag sets it.
	JobBackoff time.Duration
}

// DefaultServer returns the defaults of the CLI contract. euid and home
// decide the data directory: /var/lib/skiff as root, else ~/.skiff.
func DefaultServer(euid int, home string) Server {
	dir := "/var/lib/skiff"
	if euid != 0 {
		dir = filepath.Join(home, ".skiff")
	}
	return Server{
		DataDir:       dir,
		HTTPSPort:     6443,
		ClusterCIDR:   "10.42.0.0/16",
		ServiceCIDR:   "10.43.0.0/16",
		ClusterDNS:    "10.43.0.10",
		ClusterDomain: "cluster.local",
		Kubelet:       DefaultKubelet(),
	}
}

// KubeconfigPath returns where the admin kubeconfig is written.
func (s Server) KubeconfigPath() string {
	if s.WriteKubeconfig != "" {
		return s.WriteKubeconfig
	}
	return filepath.Join(s.DataDir, "kubeconfig.yaml")
}

// Validate reports the first invalid setting.
func (s Server) Validate() error {
	var errs []error
	if s.DataDir == "" {
		errs = append(errs, errors.New("--data-dir must not be empty"))
	}
	if s.HTTPSPort < 1 || s.HTTPSPort > 65535 {
		errs = append(errs, fmt.Errorf("--https-listen-port %d is not a valid port", s.HTTPSPort))
	}
	if s.BindAddress != "" && net.ParseIP(s.BindAddress) == nil {
		errs = append(errs, fmt.Errorf("--bind-address %q is not an IP address", s.BindAddress))
	}
	for name, v := range map[string]string{"--cluster-cidr": s.ClusterCIDR, "--service-cidr": s.ServiceCIDR} {
		if _, err := netip.ParsePrefix(v); err != nil {
			errs = append(errs, fmt.Errorf("%s %q is not a CIDR", name, v))
		}
	}
	// Each node gets a /24 (IPv4) or /64 (IPv6) of the cluster CIDR.
	if p, err := netip.ParsePrefix(s.ClusterCIDR); err == nil && (p.Addr().Is4() && p.Bits() > 24 || p.Addr().Is6() && p.Bits() > 64) {
		errs = append(errs, fmt.Errorf("--cluster-cidr %q is smaller than one node's pod CIDR (/24 for IPv4, /64 for IPv6)", s.ClusterCIDR))
	}
	if _, err := netip.ParseAddr(s.ClusterDNS); err != nil {
		errs = append(errs, fmt.Errorf("--cluster-dns %q is not an IP address", s.ClusterDNS))
	}
	if s.NodeName != "" {
		errs = append(errs, validNodeName(s.NodeName))
	}
	if s.NodeMonitorGracePeriod < 0 {
		errs = append(errs, fmt.Errorf("--node-monitor-grace-period %v must not be negative", s.NodeMonitorGracePeriod))
	}
	if !s.DisableAgent {
		errs = append(errs, s.Kubelet.Validate())
	}
	if s.DatastoreEndpoint == "" && (s.DatastoreCAFile != "" || s.DatastoreCertFile != "" || s.DatastoreKeyFile != "") {
		errs = append(errs, errors.New("--datastore-cafile, --datastore-certfile and --datastore-keyfile need --datastore-endpoint"))
	}
	if (s.DatastoreCertFile == "") != (s.DatastoreKeyFile == "") {
		errs = append(errs, errors.New("--datastore-certfile and --datastore-keyfile go together"))
	}
	for _, f := range []string{s.DatastoreCAFile, s.DatastoreCertFile, s.DatastoreKeyFile} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			errs = append(errs, fmt.Errorf("datastore TLS file: %w", err))
		}
	}
	return errors.Join(errs...)
}

// DatastoreEndpoints splits DatastoreEndpoint.
func (s Server) DatastoreEndpoints() []string {
	var out []string
	for _, e := range strings.Split(s.DatastoreEndpoint, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// FirstServiceIP returns the first usable address of the service CIDR,
// which the kubernetes Service takes (10.43.0.1 by default).
func (s Server) FirstServiceIP() netip.Addr {
	p, err := netip.ParsePrefix(s.ServiceCIDR)
	if err != nil {
		return netip.Addr{}
	}
	return p.Masked().Addr().Next()
}
