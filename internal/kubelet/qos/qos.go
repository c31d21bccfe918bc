// Package qos computes what a pod's quality of service class means on the
// node: the class itself (as the API server stores it in status.qosClass),
// the OOM score adjustment of each container, and the cgroup settings that
// requests and limits translate to (cpu shares, CFS quota, memory limit),
// with the constants and rounding of upstream's kubelet.
//
// Everything here is pure and safe for concurrent use. It is imported by
// internal/kubelet and its subpackages only.
package qos

import (
	corev1 "k8s.io/api/core/v1"
)

// OOM score adjustments upstream's kubelet gives containers by class.
const (
	// GuaranteedOOMScoreAdj is for Guaranteed pods and node-critical pods.
	GuaranteedOOMScoreAdj = -997
	// BestEffortOOMScoreAdj is for BestEffort pods: killed first.
	BestEffortOOMScoreAdj = 1000
)

// CPU cgroup constants of the kubelet's cgroupfs conversions.
const (
	MinShares     = 2
	MaxShares     = 262144
	SharesPerCPU  = 1024
	milliPerCPU   = 1000
	QuotaPeriod   = 100000 // µs: the CFS period the kubelet sets
	minQuota      = 1000   // µs: the kernel's lower bound for a quota
	systemCritPri = 2000000000
)

// PodClass returns pod's QoS class: status.qosClass when the API server
// set it, else computed from the containers' requests and limits as
// upstream does (see ComputeClass).
func PodClass(pod *corev1.Pod) corev1.PodQOSClass {
	if pod.Status.QOSClass != "" {
		return pod.Status.QOSClass
	}
	return ComputeClass(pod)
}

// ComputeClass computes a pod's QoS class: BestEffort when no container
// requests or limits a positive cpu or memory, Guaranteed when every
// container (init containers included) limits both and the summed
// requests equal the summed limits, Burstable otherwise. Pod-level
// resources, when set, decide alone.
func ComputeClass(pod *corev1.Pod) corev1.PodQOSClass {
	requests, limits := corev1.ResourceList{}, corev1.ResourceList{}
	guaranteed := true
	// add sums the positive cpu and memory quantities of rl into sum and
	// reports whether both were limited.
	add := func(sum, rl corev1.ResourceList) bool {
		n := 0
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			q, ok := rl[name]
			if !ok || q.Sign() <= 0 {
				continue
			}
			n++
			cur := sum[name]
			cur.Add(q)
			sum[name] = cur
		}
		return n == 2
	}
	if r := pod.Spec.Resources; r != nil && (len(r.Requests) > 0 || len(r.Limits) > 0) {
		add(requests, r.Requests)
		guaranteed = add(limits, r.Limits)
	} else {
		for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
			for _, c := range cs {
				add(requests, c.Resources.Requests)
				if !add(limits, c.Resources.Limits) {
					guaranteed = false
				}
			}
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return corev1.PodQOSBestEffort
	}
	if guaranteed {
		for name, req := range requests {
			if lim, ok := limits[name]; !ok || lim.Cmp(req) != 0 {
				guaranteed = false
			}
		}
	}
	if guaranteed && len(requests) == len(limits) {
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

// IsStatic reports whether pod came from a node's manifest directory or
// is the mirror of such a pod (upstream's config.source and config.mirror
// annotations).
func IsStatic(pod *corev1.Pod) bool {
	if _, ok := pod.Annotations[corev1.MirrorPodAnnotationKey]; ok {
		return true
	}
	src := pod.Annotations["kubernetes.io/config.source"]
	return src != "" && src != "api"
}

// isNodeCritical reports whether pod is critical (static, mirror, or of
// system-critical priority) and of the system-node-critical class.
func isNodeCritical(pod *corev1.Pod) bool {
	critical := IsStatic(pod) || (pod.Spec.Priority != nil && *pod.Spec.Priority >= systemCritPri)
	return critical && pod.Spec.PriorityClassName == "system-node-critical"
}

// ContainerOOMScoreAdj returns the oom_score_adj for container c of pod on
// a node with memoryCapacity bytes: -997 for Guaranteed and node-critical
// pods, 1000 for BestEffort, and for Burstable 1000 minus the container's
// share of the node's memory in thousandths, kept within [3, 999] so that
// Burstable containers always rank between the other two classes.
func ContainerOOMScoreAdj(pod *corev1.Pod, c *corev1.Container, memoryCapacity int64) int64 {
	if isNodeCritical(pod) {
		return GuaranteedOOMScoreAdj
	}
	switch PodClass(pod) {
	case corev1.PodQOSGuaranteed:
		return GuaranteedOOMScoreAdj
	case corev1.PodQOSBestEffort:
		return BestEffortOOMScoreAdj
	}
	if memoryCapacity <= 0 {
		return BestEffortOOMScoreAdj - 1
	}
	req := c.Resources.Requests.Memory().Value()
	adj := int64(1000) - (1000*req)/memoryCapacity
	if adj < 1000+GuaranteedOOMScoreAdj {
		return 1000 + GuaranteedOOMScoreAdj
	}
	if adj == BestEffortOOMScoreAdj {
		return adj - 1
	}
	return adj
}

// MilliCPUToShares converts a cpu request in millicores to cpu.shares,
// at least MinShares and at most MaxShares.
func MilliCPUToShares(milli int64) int64 {
	if milli == 0 {
		return MinShares
	}
	shares := milli * SharesPerCPU / milliPerCPU
	return min(max(shares, MinShares), MaxShares)
}

// MilliCPUToQuota converts a cpu limit in millicores to a CFS quota in µs
// per period µs; 0 means no limit.
func MilliCPUToQuota(milli, period int64) int64 {
	if milli == 0 {
		return 0
	}
	return max(milli*period/milliPerCPU, minQuota)
}

// SharesToWeight converts cpu.shares ([2, 262144]) to cgroup v2's
// cpu.weight ([1, 10000]) the way runc and the kubelet do.
func SharesToWeight(shares int64) int64 {
	if shares == 0 {
		return 0
	}
	return 1 + ((shares-2)*9999)/262142
}
