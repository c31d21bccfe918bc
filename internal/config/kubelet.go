package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Kubelet holds the node agent settings that `skiff server` (for its own
// node) and `skiff agent` share, under upstream's kubelet flag names.
type Kubelet struct {
	// SystemReserved and KubeReserved are left out of the node's
	// allocatable (--system-reserved, --kube-reserved:
	// cpu=,memory=,ephemeral-storage=,pid=).
	SystemReserved, KubeReserved corev1.ResourceList
	// MaxPods is the node's pods capacity (--max-pods, default 110).
	MaxPods int
	// NodeStatusUpdateFrequency is how often the agent checks the node's
	// status and renews its Lease (--node-status-update-frequency,
	// default 10s).
	NodeStatusUpdateFrequency time.Duration
	// Port is where the node's API (logs, exec, attach, port-forward)
	// listens (--kubelet-port, default 10250); 0 picks a free port, which
	// the node status advertises.
	Port int
}

// DefaultKubelet returns upstream's kubelet defaults.
func DefaultKubelet() Kubelet {
	return Kubelet{MaxPods: 110, NodeStatusUpdateFrequency: 10 * time.Second, Port: 10250}
}

// Validate reports the first invalid setting.
func (k Kubelet) Validate() error {
	var errs []error
	if k.MaxPods < 1 {
		errs = append(errs, fmt.Errorf("--max-pods %d must be positive", k.MaxPods))
	}
	if k.NodeStatusUpdateFrequency <= 0 {
		errs = append(errs, fmt.Errorf("--node-status-update-frequency %v must be positive", k.NodeStatusUpdateFrequency))
	}
	if k.Port < 0 || k.Port > 65535 {
		errs = append(errs, fmt.Errorf("--kubelet-port %d is not a valid port", k.Port))
	}
	return errors.Join(errs...)
}

// reservable are the resources --system-reserved and --kube-reserved
// accept.
var reservable = map[corev1.ResourceName]bool{
	corev1.ResourceCPU: true, corev1.ResourceMemory: true, corev1.ResourceEphemeralStorage: true, "pid": true,
}

// ParseResourceList parses a "cpu=500m,memory=1Gi" list of reservable
// resources.
func ParseResourceList(s string) (corev1.ResourceList, error) {
	out := corev1.ResourceList{}
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not name=quantity", kv)
		}
		rn := corev1.ResourceName(strings.TrimSpace(name))
		if !reservable[rn] {
			return nil, fmt.Errorf("cannot reserve %q resource", rn)
		}
		q, err := resource.ParseQuantity(strings.TrimSpace(value))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rn, err)
		}
		if q.Sign() < 0 {
			return nil, fmt.Errorf("%s: resource quantity %s must not be negative", rn, q.String())
		}
		out[rn] = q
	}
	return out, nil
}

// FormatResourceList is the inverse of ParseResourceList, sorted by name.
func FormatResourceList(l corev1.ResourceList) string {
	parts := make([]string, 0, len(l))
	for name, q := range l {
		parts = append(parts, string(name)+"="+q.String())
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
