package nodesim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// LeaseNamespace holds node heartbeat Leases.
const LeaseNamespace = "kube-node-lease"

// node is one simulated node's state. Name, ip and cidr never change;
// the rest is guarded as noted.
type node struct {
	spec NodeSpec
	ip   netip.Addr
	cidr netip.Prefix
	// stopped is set while heartbeats and pod handling are paused.
	stopped atomic.Bool

	// mu serializes the node's heartbeats and guards lease and uid.
	mu    sync.Mutex
	lease *coordinationv1.Lease
	uid   types.UID

	// ipMu guards podIPs, the pod addresses in use: address → pod key.
	ipMu   sync.Mutex
	podIPs map[netip.Addr]string
	nextIP netip.Addr

	// lease and status heartbeat tasks in the schedule.
	tasks [2]*task
}

// name returns the Node's name.
func (n *node) name() string { return n.spec.Name }

// nodeObject returns the Node that node registers, conditions and all, as
// the kubelet would at time now.
func nodeObject(n *node, version string, now time.Time) *corev1.Node {
	s := n.spec
	labels := map[string]string{
		"beta.kubernetes.io/arch": "amd64",
		"beta.kubernetes.io/os":   "linux",
		"kubernetes.io/arch":      "amd64",
		"kubernetes.io/hostname":  s.Name,
		"kubernetes.io/os":        "linux",
	}
	for _, r := range s.Roles {
		labels["node-role.kubernetes.io/"+r] = ""
	}
	if s.Zone != "" {
		labels[corev1.LabelTopologyZone] = s.Zone
	}
	if s.Region != "" {
		labels[corev1.LabelTopologyRegion] = s.Region
	}
	maps.Copy(labels, s.Labels)
	annotations := map[string]string{
		"node.alpha.kubernetes.io/ttl":                           "0",
		"volumes.kubernetes.io/controller-managed-attach-detach": "true",
		AnnotationSimulated:                                      "true",
	}
	maps.Copy(annotations, s.Annotations)
	capacity := s.Capacity
	if capacity == nil {
		capacity = defaultCapacity()
	}
	allocatable := s.Allocatable
	if allocatable == nil {
		allocatable = capacity
	}
	id := sha256.Sum256([]byte(s.Name))
	machineID := hex.EncodeToString(id[:16])
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Labels: labels, Annotations: annotations},
		Spec: corev1.NodeSpec{
			PodCIDR:       n.cidr.String(),
			PodCIDRs:      []string{n.cidr.String()},
			ProviderID:    "sim://" + s.Name,
			Taints:        append([]corev1.Taint(nil), s.Taints...),
			Unschedulable: s.Unschedulable,
		},
		Status: corev1.NodeStatus{
			Capacity:    capacity.DeepCopy(),
			Allocatable: allocatable.DeepCopy(),
			Phase:       "",
			Conditions:  nodeConditions(nil, now),
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: n.ip.String()},
				{Type: corev1.NodeHostName, Address: s.Name},
			},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
			NodeInfo: corev1.NodeSystemInfo{
				MachineID:               machineID,
				SystemUUID:              fmt.Sprintf("%s-%s-%s-%s-%s", machineID[:8], machineID[8:12], machineID[12:16], machineID[16:20], machineID[20:]),
				BootID:                  hex.EncodeToString(id[16:]),
				KernelVersion:           "6.12.0-sim",
				OSImage:                 "Skiff simulated node",
				ContainerRuntimeVersion: "sim://1.0.0",
				KubeletVersion:          version,
				OperatingSystem:         "linux",
				Architecture:            "amd64",
			},
		},
	}
}

// nodeConditions returns the four kubelet conditions with heartbeat now,
// keeping the transition time of each that old already reports with the
// same status.
func nodeConditions(old []corev1.NodeCondition, now time.Time) []corev1.NodeCondition {
	t := metav1.NewTime(now.Truncate(time.Second))
	want := []corev1.NodeCondition{
		{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientMemory", Message: "kubelet has sufficient memory available"},
		{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", Message: "kubelet has no disk pressure"},
		{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasSufficientPID", Message: "kubelet has sufficient PID available"},
		{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status"},
	}
	for i := range want {
		want[i].LastHeartbeatTime = t
		want[i].LastTransitionTime = t
		for _, o := range old {
			if o.Type == want[i].Type && o.Status == want[i].Status && !o.LastTransitionTime.IsZero() {
				want[i].LastTransitionTime = o.LastTransitionTime
			}
		}
	}
	return want
}

// register creates the Node (or adopts an existing one of that name) and
// its Lease, and posts the first status.
func (s *Simulator) register(ctx context.Context, n *node) error {
	now := s.cfg.Clock.Now()
	obj := nodeObject(n, s.cfg.KubeletVersion, now)
	created, err := s.cfg.Client.CoreV1().Nodes().Create(ctx, obj, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		// A node of that name is back: adopt it and refresh its status.
		created, err = s.cfg.Client.CoreV1().Nodes().Get(ctx, n.name(), metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("get node %s: %w", n.name(), err)
		}
		if err := s.postStatus(ctx, n, created); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("create node %s: %w", n.name(), err)
	case len(created.Status.Conditions) == 0:
		// A server that drops status on create (the kubelet's registration
		// relies on it being kept).
		if err := s.postStatus(ctx, n, created); err != nil {
			return err
		}
	}
	n.mu.Lock()
	n.uid = created.UID
	n.mu.Unlock()
	return s.renewLease(ctx, n)
}

// postStatus refreshes the node's conditions, as the kubelet does every
// StatusInterval: heartbeat now, transition times kept. cur is the Node
// as last read, or nil to read it.
func (s *Simulator) postStatus(ctx context.Context, n *node, cur *corev1.Node) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	nodes := s.cfg.Client.CoreV1().Nodes()
	if cur == nil {
		var err error
		cur, err = nodes.Get(ctx, n.name(), metav1.GetOptions{ResourceVersion: "0"})
		if err != nil {
			return fmt.Errorf("get node %s: %w", n.name(), err)
		}
	}
	patch, err := json.Marshal(map[string]any{"status": map[string]any{
		"conditions": nodeConditions(cur.Status.Conditions, s.cfg.Clock.Now()),
	}})
	if err != nil {
		return fmt.Errorf("encode status of node %s: %w", n.name(), err)
	}
	if _, err := nodes.Patch(ctx, n.name(), types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
		return fmt.Errorf("patch status of node %s: %w", n.name(), err)
	}
	return nil
}

// renewLease renews (or creates) the node's Lease.
func (s *Simulator) renewLease(ctx context.Context, n *node) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	leases := s.cfg.Client.CoordinationV1().Leases(LeaseNamespace)
	now := metav1.NewMicroTime(s.cfg.Clock.Now())
	if n.lease == nil {
		// Create first: on registration the Lease is almost always new.
		l := &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: n.name(), Namespace: LeaseNamespace},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr(n.name()),
				LeaseDurationSeconds: ptr(int32(s.cfg.LeaseDuration / time.Second)),
				RenewTime:            &now,
			},
		}
		if n.uid != "" {
			l.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: n.name(), UID: n.uid}}
		}
		created, err := leases.Create(ctx, l, metav1.CreateOptions{})
		if err == nil {
			n.lease = created
			return nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create lease %s: %w", n.name(), err)
		}
		if n.lease, err = leases.Get(ctx, n.name(), metav1.GetOptions{}); err != nil {
			return fmt.Errorf("get lease %s: %w", n.name(), err)
		}
	}
	l := n.lease.DeepCopy()
	l.Spec.RenewTime = &now
	l.Spec.HolderIdentity = ptr(n.name())
	updated, err := leases.Update(ctx, l, metav1.UpdateOptions{})
	if err != nil {
		// Read it again next time (conflict, or deleted: then recreate).
		n.lease = nil
		return fmt.Errorf("renew lease %s: %w", n.name(), err)
	}
	n.lease = updated
	return nil
}

// podIP returns the address of pod key on this node, allocating the next
// free one of the node's CIDR (the first address is the bridge's).
func (n *node) podIP(key string) (netip.Addr, error) {
	n.ipMu.Lock()
	defer n.ipMu.Unlock()
	for ip, k := range n.podIPs {
		if k == key {
			return ip, nil
		}
	}
	if n.podIPs == nil {
		n.podIPs = map[netip.Addr]string{}
	}
	size := 1 << (32 - n.cidr.Bits())
	first := n.cidr.Masked().Addr().Next().Next() // .0 network, .1 bridge
	if !n.nextIP.IsValid() || !n.cidr.Contains(n.nextIP) {
		n.nextIP = first
	}
	for range size {
		ip := n.nextIP
		n.nextIP = ip.Next()
		if !n.cidr.Contains(n.nextIP) || isBroadcast(n.cidr, n.nextIP) {
			n.nextIP = first
		}
		if isBroadcast(n.cidr, ip) || !n.cidr.Contains(ip) {
			continue
		}
		if _, taken := n.podIPs[ip]; !taken {
			n.podIPs[ip] = key
			return ip, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("pod CIDR %s of node %s: %w", n.cidr, n.name(), errExhausted)
}

// keepPodIP records that pod key already holds ip (seen in its status).
func (n *node) keepPodIP(key string, ip netip.Addr) {
	if !n.cidr.Contains(ip) {
		return
	}
	n.ipMu.Lock()
	defer n.ipMu.Unlock()
	if n.podIPs == nil {
		n.podIPs = map[netip.Addr]string{}
	}
	n.podIPs[ip] = key
}

// releasePodIP frees the address of pod key, if it has one.
func (n *node) releasePodIP(key string) {
	n.ipMu.Lock()
	defer n.ipMu.Unlock()
	for ip, k := range n.podIPs {
		if k == key {
			delete(n.podIPs, ip)
		}
	}
}

func isBroadcast(p netip.Prefix, ip netip.Addr) bool {
	if p.Bits() >= 31 {
		return false
	}
	b := ip.As4()
	mask := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	return v&mask == mask
}
