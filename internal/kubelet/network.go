package kubelet

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Pod networking. A pod with spec.hostNetwork=false gets its own network
// namespace from the runtime: containerd's CRI calls CNI ADD when it
// creates the sandbox and CNI DEL when it removes it, with the network the
// agent configured (a bridge on the node's pod CIDR). The kubelet only
// asks for the namespace, passes the hostname, DNS settings and hostPort
// mappings, and reads the sandbox's IPs back for status.podIP(s).

// Upstream's limits on a pod's resolv.conf.
const (
	maxDNSNameservers = 3
	maxDNSSearches    = 32
)

// Host resolver configuration files: the one upstream's --resolv-conf
// defaults to, and systemd-resolved's upstream list, used when the first
// only names its local stub (unreachable from a pod's namespace).
const (
	hostResolvConf     = "/etc/resolv.conf"
	resolvedResolvConf = "/run/systemd/resolve/resolv.conf"
)

// podNamespaces returns the namespace modes of pod's sandbox and
// containers: the node's network, PID and IPC namespaces only when the
// pod asks for them, otherwise the pod's own (PID per container unless
// shareProcessNamespace).
func podNamespaces(pod *corev1.Pod) *runtimeapi.NamespaceOption {
	ns := &runtimeapi.NamespaceOption{
		Network: runtimeapi.NamespaceMode_POD,
		Pid:     runtimeapi.NamespaceMode_CONTAINER,
		Ipc:     runtimeapi.NamespaceMode_POD,
	}
	if pod.Spec.HostNetwork {
		ns.Network = runtimeapi.NamespaceMode_NODE
	}
	if pod.Spec.ShareProcessNamespace != nil && *pod.Spec.ShareProcessNamespace {
		ns.Pid = runtimeapi.NamespaceMode_POD
	}
	if pod.Spec.HostPID {
		ns.Pid = runtimeapi.NamespaceMode_NODE
	}
	if pod.Spec.HostIPC {
		ns.Ipc = runtimeapi.NamespaceMode_NODE
	}
	return ns
}

// podHostname returns the hostname of a pod with its own network (and
// UTS) namespace: spec.hostname, or the pod name cut to a DNS label's 63
// bytes without a trailing '-' or '.', as upstream does.
func podHostname(pod *corev1.Pod) string {
	if pod.Spec.Hostname != "" {
		return pod.Spec.Hostname
	}
	name := pod.Name
	if len(name) > 63 {
		name = strings.TrimRight(name[:63], "-.")
	}
	return name
}

// portMappings returns the hostPort mappings of pod's containers, which
// the runtime hands to CNI's portmap plugin.
func portMappings(pod *corev1.Pod) []*runtimeapi.PortMapping {
	var out []*runtimeapi.PortMapping
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.HostPort <= 0 {
				continue
			}
			proto := runtimeapi.Protocol_TCP
			switch p.Protocol {
			case corev1.ProtocolUDP:
				proto = runtimeapi.Protocol_UDP
			case corev1.ProtocolSCTP:
				proto = runtimeapi.Protocol_SCTP
			}
			out = append(out, &runtimeapi.PortMapping{
				Protocol: proto, ContainerPort: p.ContainerPort, HostPort: p.HostPort, HostIp: p.HostIP,
			})
		}
	}
	return out
}

// resolvConf is the part of a resolv.conf a pod's DNS config is made of.
type resolvConf struct {
	servers, searches, options []string
}

// parseResolvConf reads the nameserver, search (and domain) and options
// lines of a resolv.conf. It is pure.
func parseResolvConf(b []byte) resolvConf {
	var rc resolvConf
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			rc.servers = append(rc.servers, f[1])
		case "search", "domain":
			// The last search or domain line wins, as in the resolver.
			rc.searches = append([]string(nil), f[1:]...)
		case "options":
			rc.options = append(rc.options, f[1:]...)
		}
	}
	return rc
}

// onlyLoopback reports whether every server is a loopback address.
func (rc resolvConf) onlyLoopback() bool {
	for _, s := range rc.servers {
		if a, err := netip.ParseAddr(s); err != nil || !a.IsLoopback() {
			return false
		}
	}
	return len(rc.servers) > 0
}

// dnsConfig returns the sandbox DNS config of pod given the node's own
// resolver settings. There is no cluster DNS yet, so ClusterFirst falls
// back to the node's settings (upstream does the same, with a
// MissingClusterDNS event, when the kubelet has no --cluster-dns); None
// uses spec.dnsConfig alone, and spec.dnsConfig is appended to the
// others. It is pure.
func dnsConfig(pod *corev1.Pod, host resolvConf) *runtimeapi.DNSConfig {
	var rc resolvConf
	if pod.Spec.DNSPolicy != corev1.DNSNone {
		rc = resolvConf{
			servers:  slices.Clone(host.servers),
			searches: slices.Clone(host.searches),
			options:  slices.Clone(host.options),
		}
	}
	if pc := pod.Spec.DNSConfig; pc != nil {
		rc.servers = appendNew(rc.servers, pc.Nameservers...)
		rc.searches = appendNew(rc.searches, pc.Searches...)
		for _, o := range pc.Options {
			opt := o.Name
			if o.Value != nil {
				opt += ":" + *o.Value
			}
			// A pod option replaces the node's option of the same name.
			rc.options = slices.DeleteFunc(rc.options, func(s string) bool {
				name, _, _ := strings.Cut(s, ":")
				return name == o.Name
			})
			rc.options = append(rc.options, opt)
		}
	}
	if len(rc.servers) > maxDNSNameservers {
		rc.servers = rc.servers[:maxDNSNameservers]
	}
	if len(rc.searches) > maxDNSSearches {
		rc.searches = rc.searches[:maxDNSSearches]
	}
	return &runtimeapi.DNSConfig{Servers: rc.servers, Searches: rc.searches, Options: rc.options}
}

// appendNew appends the values not already in list.
func appendNew(list []string, values ...string) []string {
	for _, v := range values {
		if !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}

// networkState is the kubelet's small amount of networking state: the
// node's resolver settings (reread when the file changes) and the IPs of
// sandboxes it has asked about (a sandbox's IPs never change). It is safe
// for concurrent use; the zero value is ready.
type networkState struct {
	// ready is set once the runtime has reported its network ready.
	ready    atomic.Bool
	mu       sync.Mutex
	dnsPath  string
	dnsMtime time.Time
	dns      resolvConf
	ips      map[string][]string // by sandbox ID
}

// hostDNS returns the node's resolver settings, rereading the file when
// it changed. A missing or unreadable file gives an empty config.
func (n *networkState) hostDNS() resolvConf {
	n.mu.Lock()
	defer n.mu.Unlock()
	path := hostResolvConf
	st, err := os.Stat(path)
	if err != nil {
		return resolvConf{}
	}
	if path == n.dnsPath && st.ModTime().Equal(n.dnsMtime) {
		return n.dns
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return resolvConf{}
	}
	rc := parseResolvConf(b)
	if rc.onlyLoopback() {
		if b, err := os.ReadFile(resolvedResolvConf); err == nil {
			rc = parseResolvConf(b)
		}
	}
	n.dnsPath, n.dnsMtime, n.dns = path, st.ModTime(), rc
	return rc
}

// forget drops the cached IPs of a removed sandbox.
func (n *networkState) forget(sandboxID string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.ips, sandboxID)
}

// setSandboxNetwork fills the network settings of pod's sandbox config:
// hostname (pods with their own network namespace get a UTS namespace
// too), DNS and hostPort mappings.
func (k *Kubelet) setSandboxNetwork(cfg *runtimeapi.PodSandboxConfig, pod *corev1.Pod) {
	if !pod.Spec.HostNetwork {
		cfg.Hostname = podHostname(pod)
	}
	cfg.DnsConfig = dnsConfig(pod, k.net.hostDNS())
	cfg.PortMappings = portMappings(pod)
}

// podIPs returns the IPs status.podIPs reports for pod, whose ready
// sandbox is sandboxID: the node IP for a host-network pod, else the
// sandbox's primary and additional IPs (none while the runtime cannot
// tell, which a later sync retries).
func (k *Kubelet) podIPs(ctx context.Context, pod *corev1.Pod, sandboxID string) []string {
	if pod.Spec.HostNetwork {
		if k.cfg.NodeIP == "" {
			return nil
		}
		return []string{k.cfg.NodeIP}
	}
	k.net.mu.Lock()
	ips, ok := k.net.ips[sandboxID]
	k.net.mu.Unlock()
	if ok {
		return ips
	}
	resp, err := k.runtime.PodSandboxStatus(ctx, sandboxID, false)
	if err != nil {
		k.log.Warn("Reading the pod sandbox's IPs failed", "pod", pod.Namespace+"/"+pod.Name, "sandbox", sandboxID, "err", err)
		return nil
	}
	nw := resp.GetStatus().GetNetwork()
	if nw.GetIp() != "" {
		ips = append(ips, nw.GetIp())
	}
	for _, ip := range nw.GetAdditionalIps() {
		if ip.GetIp() != "" {
			ips = append(ips, ip.GetIp())
		}
	}
	if len(ips) > 0 {
		k.net.mu.Lock()
		if k.net.ips == nil {
			k.net.ips = map[string][]string{}
		}
		k.net.ips[sandboxID] = ips
		k.net.mu.Unlock()
	}
	return ips
}

// etcHosts is where containers see the pod's hosts file.
const etcHosts = "/etc/hosts"

// clusterDomain is the DNS domain of Services in the FQDN of a pod with a
// subdomain. TODO(helper A): take --cluster-domain once the agent learns
// it with cluster DNS.
const clusterDomain = "cluster.local"

// hostsFile returns the kubelet-managed /etc/hosts of pod, as upstream
// writes it: for a pod with its own network, localhost entries, then the
// pod's IPs with its hostname (and FQDN when spec.subdomain is set); for
// a host-network pod, the node's own hosts file. Both end with
// spec.hostAliases. It is pure.
func hostsFile(pod *corev1.Pod, podIPs []string, nodeHosts []byte) []byte {
	var b bytes.Buffer
	if pod.Spec.HostNetwork {
		b.WriteString("# Kubernetes-managed hosts file (host network).\n")
		b.Write(nodeHosts)
		if len(nodeHosts) > 0 && nodeHosts[len(nodeHosts)-1] != '\n' {
			b.WriteByte('\n')
		}
	} else {
		b.WriteString("# Kubernetes-managed hosts file.\n")
		b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
		b.WriteString("fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n")
		host := podHostname(pod)
		names := host
		if pod.Spec.Subdomain != "" {
			names = host + "." + pod.Spec.Subdomain + "." + pod.Namespace + ".svc." + clusterDomain + "\t" + host
		}
		for _, ip := range podIPs {
			b.WriteString(ip + "\t" + names + "\n")
		}
	}
	if len(pod.Spec.HostAliases) > 0 {
		b.WriteString("\n# Entries added by HostAliases.\n")
		for _, a := range pod.Spec.HostAliases {
			b.WriteString(a.IP + "\t" + strings.Join(a.Hostnames, "\t") + "\n")
		}
	}
	return b.Bytes()
}

// mountsPath reports whether c mounts something at path itself.
func mountsPath(c *corev1.Container, path string) bool {
	for _, m := range c.VolumeMounts {
		if m.MountPath == path {
			return true
		}
	}
	return false
}

// etcHostsMount writes pod's hosts file into its pod directory (dir) and
// returns the mount of it at /etc/hosts for container c, or nil when c
// mounts /etc/hosts itself or the pod's IPs are not known yet.
func (k *Kubelet) etcHostsMount(pod *corev1.Pod, c *corev1.Container, podIPs []string, dir string) (*runtimeapi.Mount, error) {
	if mountsPath(c, etcHosts) || len(podIPs) == 0 {
		return nil, nil
	}
	var node []byte
	if pod.Spec.HostNetwork {
		b, err := os.ReadFile(etcHosts)
		if err != nil && !os.IsNotExist(err) {
			return nil, err
		}
		node = b
	}
	content := hostsFile(pod, podIPs, node)
	path := filepath.Join(dir, "etc-hosts")
	if old, err := os.ReadFile(path); err != nil || !bytes.Equal(old, content) {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, err
		}
		// Written aside and renamed: a container starting meanwhile never
		// sees half a file.
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, content, 0o644); err != nil {
			return nil, err
		}
		if err := os.Rename(tmp, path); err != nil {
			return nil, err
		}
	}
	return &runtimeapi.Mount{ContainerPath: etcHosts, HostPath: path}, nil
}

// reasonNetworkNotReady is the event upstream's kubelet records on a pod
// that waits for the node's network.
const reasonNetworkNotReady = "NetworkNotReady"

// networkNotReady returns why pod cannot get a sandbox yet (the runtime's
// network is not ready, as before the agent has written its CNI config),
// or "" when it can. Host-network pods never wait. Once the network has
// been ready it is not asked again.
func (k *Kubelet) networkNotReady(ctx context.Context, pod *corev1.Pod) string {
	if pod.Spec.HostNetwork || k.net.ready.Load() {
		return ""
	}
	st, err := k.runtime.Status(ctx, false)
	if err != nil {
		return fmt.Sprintf("container runtime status check failed: %v", err)
	}
	for _, c := range st.GetStatus().GetConditions() {
		if c.Type != runtimeapi.NetworkReady {
			continue
		}
		if c.Status {
			k.net.ready.Store(true)
			return ""
		}
		return fmt.Sprintf("container runtime network not ready: NetworkReady=false reason:%s message:%s", c.Reason, c.Message)
	}
	return "container runtime did not report NetworkReady"
}
