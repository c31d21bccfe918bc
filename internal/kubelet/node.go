package kubelet

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// LeaseNamespace holds the nodes' heartbeat Leases.
const LeaseNamespace = "kube-node-lease"

// leaseDuration is the Lease's leaseDurationSeconds (upstream's 40 s).
const leaseDuration = 40

// nodeObservation is what a heartbeat saw of the runtime and the machine.
type nodeObservation struct {
	runtimeName, runtimeVersion string
	// runtimeReady, with notReadyMsg when false, is the runtime's
	// RuntimeReady condition.
	runtimeReady bool
	notReadyMsg  string
	// pressure is the machine's free memory, disk and PIDs.
	pressure machinePressure
	// images are the runtime's images (nil: unknown, keep the old list).
	images []corev1.ContainerImage
}

// nodeStatus returns the node's status at now given what the heartbeat
// observed. Conditions keep the transition times of old ones with the
// same status. It is pure.
func nodeStatus(cfg Config, obs nodeObservation, old []corev1.NodeCondition, now time.Time) corev1.NodeStatus {
	h := cfg.Host
	capacity := capacityOf(cfg)
	t := metav1.NewTime(now.Truncate(time.Second))
	ready := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status"}
	if !obs.runtimeReady {
		ready = corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionFalse, Reason: "KubeletNotReady", Message: obs.notReadyMsg}
	}
	conds := append(pressureConditions(obs.pressure), ready)
	for i := range conds {
		conds[i].LastHeartbeatTime, conds[i].LastTransitionTime = t, t
		for _, o := range old {
			if o.Type == conds[i].Type && o.Status == conds[i].Status && !o.LastTransitionTime.IsZero() {
				conds[i].LastTransitionTime = o.LastTransitionTime
			}
		}
	}
	addrs := []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: cfg.NodeName}}
	if cfg.NodeIP != "" {
		addrs = append([]corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: cfg.NodeIP}}, addrs...)
	}
	return corev1.NodeStatus{
		Capacity:    capacity,
		Allocatable: allocatable(capacity, cfg.SystemReserved, cfg.KubeReserved),
		Conditions:  conds,
		Addresses:   addrs,
		Images:      obs.images,
		// The API server reaches the node's API (logs, exec…) here.
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: cfg.KubeletPort}},
		NodeInfo: corev1.NodeSystemInfo{
			MachineID:               h.MachineID,
			SystemUUID:              h.SystemUUID,
			BootID:                  h.BootID,
			KernelVersion:           h.KernelVersion,
			OSImage:                 h.OSImage,
			ContainerRuntimeVersion: obs.runtimeName + "://" + obs.runtimeVersion,
			KubeletVersion:          Version,
			// KubeProxyVersion stays empty: upstream's kubelets stopped
			// reporting it (the field is deprecated).
			OperatingSystem: runtime.GOOS,
			Architecture:    h.Architecture,
		},
	}
}

// sameNodeStatus reports whether a and b differ only in heartbeat times.
func sameNodeStatus(a, b *corev1.NodeStatus) bool {
	if a == nil || b == nil {
		return false
	}
	strip := func(s *corev1.NodeStatus) corev1.NodeStatus {
		c := *s.DeepCopy()
		for i := range c.Conditions {
			c.Conditions[i].LastHeartbeatTime = metav1.Time{}
		}
		return c
	}
	return equality.Semantic.DeepEqual(strip(a), strip(b))
}

// runtimeReady asks the runtime whether it and its network are ready, as
// upstream's node Ready condition does: containerd reports its network
// not ready until the agent has written the CNI config (which waits for
// the node's pod CIDR).
func (k *Kubelet) runtimeReady(ctx context.Context) (bool, string) {
	st, err := k.runtime.Status(ctx, false)
	if err != nil {
		return false, fmt.Sprintf("container runtime status check failed: %v", err)
	}
	conds := map[string]*runtimeapi.RuntimeCondition{}
	for _, c := range st.GetStatus().GetConditions() {
		conds[c.Type] = c
	}
	switch c := conds[runtimeapi.RuntimeReady]; {
	case c == nil:
		return false, "container runtime did not report RuntimeReady"
	case !c.Status:
		return false, fmt.Sprintf("container runtime is down: %s: %s", c.Reason, c.Message)
	}
	if c := conds[runtimeapi.NetworkReady]; c == nil || !c.Status {
		return false, fmt.Sprintf("container runtime network not ready: NetworkReady=false reason:%s message:%s", c.GetReason(), c.GetMessage())
	}
	return true, ""
}

// registerNode creates the Node, or adopts an existing one of that name,
// posts its status and takes its Lease.
func (k *Kubelet) registerNode(ctx context.Context) error {
	name := k.cfg.NodeName
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"beta.kubernetes.io/arch": k.cfg.Host.Architecture,
			"beta.kubernetes.io/os":   runtime.GOOS,
			"kubernetes.io/arch":      k.cfg.Host.Architecture,
			"kubernetes.io/hostname":  name,
			"kubernetes.io/os":        runtime.GOOS,
		}},
		Spec: corev1.NodeSpec{Taints: slices.Clone(k.cfg.NodeTaints)},
	}
	for key, v := range k.cfg.NodeLabels {
		node.Labels[key] = v
	}
	if _, err := k.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("register node %s: %w", name, err)
	}
	k.log.Info("Node registered")
	k.heartbeat(ctx)
	return nil
}

// heartbeat renews the Lease and posts the node status when it changed or
// was last posted NodeStatusReportFrequency ago. Failures are logged: the
// next heartbeat tries again.
func (k *Kubelet) heartbeat(ctx context.Context) {
	if err := k.renewLease(ctx); err != nil {
		k.log.Warn("Renewing the node lease failed", "err", err)
	}
	if err := k.postNodeStatus(ctx); err != nil {
		k.log.Warn("Posting node status failed", "err", err)
	}
}

// nodeStatusRetries is how many times a status post that conflicted with
// another writer (nodeipam's podCIDR patch, the node lifecycle
// controller's taints) is tried again on the newest Node, as upstream's
// kubelet does, so that Ready is not held back a whole heartbeat.
const nodeStatusRetries = 5

func (k *Kubelet) postNodeStatus(ctx context.Context) error {
	var err error
	for range nodeStatusRetries {
		if err = k.tryPostNodeStatus(ctx); !apierrors.IsConflict(err) {
			return err
		}
	}
	return err
}

func (k *Kubelet) tryPostNodeStatus(ctx context.Context) error {
	nodes := k.client.CoreV1().Nodes()
	node, err := nodes.Get(ctx, k.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get node %s: %w", k.cfg.NodeName, err)
	}
	obs := nodeObservation{runtimeName: k.runtimeName, runtimeVersion: k.runtimeVersion}
	obs.runtimeReady, obs.notReadyMsg = k.runtimeReady(ctx)
	obs.pressure = k.readPressure()
	if imgs, err := k.images.ListImages(ctx, nil); err == nil {
		obs.images = nodeImages(imgs)
	} else {
		k.log.Warn("Listing images failed", "err", err)
	}
	now := k.clock.Now()
	st := nodeStatus(k.cfg, obs, node.Status.Conditions, now)
	if obs.images == nil {
		st.Images = node.Status.Images
	}
	k.nodeMu.Lock()
	skip := sameNodeStatus(k.lastStatus, &st) && now.Sub(k.lastReport) < k.cfg.NodeStatusReportFrequency
	k.nodeMu.Unlock()
	if skip {
		return nil
	}
	st.VolumesInUse, st.VolumesAttached = node.Status.VolumesInUse, node.Status.VolumesAttached
	node.Status = st
	if _, err := nodes.UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update status of node %s: %w", k.cfg.NodeName, err) // %w keeps IsConflict working
	}
	k.nodeMu.Lock()
	k.lastStatus, k.lastReport = &st, now
	k.nodeMu.Unlock()
	return nil
}

// renewLease creates or renews the node's Lease in kube-node-lease.
func (k *Kubelet) renewLease(ctx context.Context) error {
	leases := k.client.CoordinationV1().Leases(LeaseNamespace)
	now := metav1.NewMicroTime(k.clock.Now())
	name := k.cfg.NodeName
	lease, err := leases.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		node, err := k.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("get node %s: %w", name, err)
		}
		lease = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: LeaseNamespace, OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "Node", Name: name, UID: node.UID,
			}}},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &name, LeaseDurationSeconds: new(int32(leaseDuration)), RenewTime: &now},
		}
		if _, err := leases.Create(ctx, lease, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create lease %s/%s: %w", LeaseNamespace, name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("get lease %s/%s: %w", LeaseNamespace, name, err)
	}
	lease.Spec.HolderIdentity = &name
	lease.Spec.LeaseDurationSeconds = new(int32(leaseDuration))
	lease.Spec.RenewTime = &now
	if _, err := leases.Update(ctx, lease, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("renew lease %s/%s: %w", LeaseNamespace, name, err)
	}
	return nil
}
