package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// cniConfFile is the name of the node's network config in containerd's
// CNI conf dir (its only file: max_conf_num is 1).
const cniConfFile = "10-skiff.conflist"

// podNetwork is the node's pod network: a Linux bridge with the first
// address of the node's pod CIDR as the pods' gateway, host-local IPAM
// handing out the rest, masquerading of traffic leaving the cluster CIDR,
// and portmap for hostPorts. Names derive from the node name, so several
// agents on one machine each get their own bridge, iptables chains and
// IPAM state.
type podNetwork struct {
	// Name is the CNI network name; the plugins' iptables comments carry
	// it, which is how teardown finds their rules.
	Name string
	// Bridge is the bridge's interface name (at most 15 bytes).
	Bridge string
	// IPAMDir is host-local's data dir (under the agent's run dir).
	IPAMDir string
}

// newPodNetwork returns the pod network names of node, whose runtime
// state lives under runDir (/run/skiff/<node>).
func newPodNetwork(node, runDir string) podNetwork {
	sum := sha256.Sum256([]byte(node))
	h := hex.EncodeToString(sum[:4])
	return podNetwork{
		Name:    "skiff-" + h,
		Bridge:  "skiff" + h,
		IPAMDir: filepath.Join(runDir, "cni", "ipam"),
	}
}

// confList returns the CNI network config list for the pod CIDR.
// Loopback is not in the list: containerd's CRI sets up each sandbox's lo
// with the loopback plugin itself.
func (n podNetwork) confList(podCIDR netip.Prefix) ([]byte, error) {
	if !podCIDR.IsValid() {
		return nil, fmt.Errorf("invalid pod CIDR %v", podCIDR)
	}
	defaultRoute := "0.0.0.0/0"
	if podCIDR.Addr().Is6() {
		defaultRoute = "::/0"
	}
	type obj = map[string]any
	conf := obj{
		"cniVersion": "1.0.0",
		"name":       n.Name,
		"plugins": []obj{
			{
				"type":        "bridge",
				"bridge":      n.Bridge,
				"isGateway":   true,
				"ipMasq":      true,
				"hairpinMode": true,
				"ipam": obj{
					"type":    "host-local",
					"ranges":  [][]obj{{{"subnet": podCIDR.Masked().String()}}},
					"routes":  []obj{{"dst": defaultRoute}},
					"dataDir": n.IPAMDir,
				},
			},
			{"type": "portmap", "capabilities": obj{"portMappings": true}},
		},
	}
	return json.MarshalIndent(conf, "", "  ")
}

// writeConfList writes the config list into confDir atomically, so that
// containerd, which watches the directory, never reads half a file.
func (n podNetwork) writeConfList(confDir string, podCIDR netip.Prefix) error {
	b, err := n.confList(podCIDR)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(confDir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(confDir, cniConfFile)
	if old, err := os.ReadFile(path); err == nil && string(old) == string(b) {
		return nil
	}
	tmp := filepath.Join(confDir, "."+cniConfFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// enableForwarding turns on IP forwarding for the pod CIDR's family, as
// a Kubernetes node needs (pods reach beyond the node through it).
func enableForwarding(podCIDR netip.Prefix) error {
	path := "/proc/sys/net/ipv4/ip_forward"
	if podCIDR.Addr().Is6() {
		path = "/proc/sys/net/ipv6/conf/all/forwarding"
	}
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 && b[0] == '1' {
		return nil
	}
	if err := os.WriteFile(path, []byte("1"), 0o644); err != nil {
		return fmt.Errorf("enable IP forwarding: %w", err)
	}
	return nil
}

// waitPodCIDR watches the node until it has a pod CIDR (given by the
// server's node IPAM controller) and returns it. The node may not be
// registered yet.
func waitPodCIDR(ctx context.Context, client kubernetes.Interface, node string) (netip.Prefix, error) {
	nodes := client.CoreV1().Nodes()
	sel := fields.OneTermEqualSelector("metadata.name", node).String()
	for {
		rv := ""
		n, err := nodes.Get(ctx, node, metav1.GetOptions{})
		switch {
		case err == nil:
			if p, ok := nodePodCIDR(n); ok {
				return p, nil
			}
			rv = n.ResourceVersion
		case !apierrors.IsNotFound(err):
			return netip.Prefix{}, fmt.Errorf("get node %s: %w", node, err)
		}
		timeout := int64(300)
		w, err := nodes.Watch(ctx, metav1.ListOptions{FieldSelector: sel, ResourceVersion: rv, TimeoutSeconds: &timeout})
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("watch node %s: %w", node, err)
		}
		for ev := range w.ResultChan() {
			n, ok := ev.Object.(*corev1.Node)
			if !ok || ev.Type == watch.Deleted || n.Name != node {
				continue
			}
			if p, ok := nodePodCIDR(n); ok {
				w.Stop()
				return p, nil
			}
		}
		w.Stop()
		if err := ctx.Err(); err != nil {
			return netip.Prefix{}, err
		}
		// The watch ended (timeout, or an expired resourceVersion): look
		// again.
	}
}

// nodePodCIDR returns n's pod CIDR, if it has a valid one.
func nodePodCIDR(n *corev1.Node) (netip.Prefix, bool) {
	for _, s := range append([]string{n.Spec.PodCIDR}, n.Spec.PodCIDRs...) {
		if p, err := netip.ParsePrefix(s); err == nil {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// setupNetwork waits for the node's pod CIDR, then enables forwarding
// and writes the CNI config; containerd's CRI loads it when it appears,
// and from then on reports NetworkReady. It retries until ctx ends.
func (a *Agent) setupNetwork(ctx context.Context, client kubernetes.Interface, confDir string) {
	net := newPodNetwork(a.cfg.NodeName, a.cfg.RunDir)
	for {
		err := a.trySetupNetwork(ctx, client, net, confDir)
		if err == nil || ctx.Err() != nil {
			return
		}
		a.log.Warn("Setting up the pod network failed, retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
}

func (a *Agent) trySetupNetwork(ctx context.Context, client kubernetes.Interface, net podNetwork, confDir string) error {
	cidr, err := waitPodCIDR(ctx, client, a.cfg.NodeName)
	if err != nil {
		if apierrors.IsForbidden(err) {
			return fmt.Errorf("%w (the node cannot read its Node object)", err)
		}
		return err
	}
	if err := enableForwarding(cidr); err != nil {
		return err
	}
	if err := net.writeConfList(confDir, cidr); err != nil {
		return fmt.Errorf("write CNI config: %w", err)
	}
	a.log.Info("Pod network configured", "podCIDR", cidr, "bridge", net.Bridge, "network", net.Name)
	return nil
}
