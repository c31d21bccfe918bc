package qos

import (
	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Limits are cgroup settings. Zero means "not set" for every field but
// CPUShares, which is always set.
type Limits struct {
	// CPUShares is cpu.shares (cgroup v1) or its cpu.weight equivalent.
	CPUShares int64
	// CPUQuota and CPUPeriod are the CFS bandwidth limit in µs.
	CPUQuota, CPUPeriod int64
	// MemoryBytes is the memory limit.
	MemoryBytes int64
}

// ContainerResources returns the CRI resources of container c of pod on
// a node with memoryCapacity bytes: cpu shares from the cpu request (the
// limit when only that is set), CFS quota and period from the cpu limit,
// the memory limit (swap kept to none), and the OOM score adjustment of
// the pod's class.
func ContainerResources(pod *corev1.Pod, c *corev1.Container, memoryCapacity int64) *runtimeapi.LinuxContainerResources {
	r := &runtimeapi.LinuxContainerResources{OomScoreAdj: ContainerOOMScoreAdj(pod, c, memoryCapacity)}
	cpuReq, hasReq := c.Resources.Requests[corev1.ResourceCPU]
	cpuLim, hasLim := c.Resources.Limits[corev1.ResourceCPU]
	if !hasReq && hasLim {
		cpuReq = cpuLim
	}
	r.CpuShares = MilliCPUToShares(cpuReq.MilliValue())
	if hasLim {
		r.CpuPeriod = QuotaPeriod
		r.CpuQuota = MilliCPUToQuota(cpuLim.MilliValue(), QuotaPeriod)
	}
	if mem := c.Resources.Limits.Memory().Value(); mem > 0 {
		r.MemoryLimitInBytes = mem
		// No swap beyond the limit, as upstream's NoSwap behaviour.
		r.MemorySwapLimitInBytes = mem
	}
	return r
}

// PodRequests returns the pod's effective cpu (millicores) and memory
// (bytes) requests: the sum over its containers, or the largest init
// container's when that is more, plus the pod overhead.
func PodRequests(pod *corev1.Pod) (milliCPU, memory int64) {
	return podEffective(pod, func(c *corev1.Container) corev1.ResourceList { return c.Resources.Requests })
}

// PodLimits is PodRequests for limits.
func PodLimits(pod *corev1.Pod) (milliCPU, memory int64) {
	return podEffective(pod, func(c *corev1.Container) corev1.ResourceList { return c.Resources.Limits })
}

func podEffective(pod *corev1.Pod, of func(*corev1.Container) corev1.ResourceList) (milliCPU, memory int64) {
	for i := range pod.Spec.Containers {
		rl := of(&pod.Spec.Containers[i])
		milliCPU += rl.Cpu().MilliValue()
		memory += rl.Memory().Value()
	}
	// Restartable init containers (sidecars) run beside the app
	// containers; the others run alone, before them.
	var sideCPU, sideMem int64
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		rl := of(c)
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sideCPU += rl.Cpu().MilliValue()
			sideMem += rl.Memory().Value()
			continue
		}
		milliCPU = max(milliCPU, sideCPU+rl.Cpu().MilliValue())
		memory = max(memory, sideMem+rl.Memory().Value())
	}
	milliCPU += sideCPU
	memory += sideMem
	if ov := pod.Spec.Overhead; ov != nil {
		milliCPU += ov.Cpu().MilliValue()
		memory += ov.Memory().Value()
	}
	return milliCPU, memory
}

// PodCgroupLimits returns the limits of pod's own cgroup, as upstream
// sets them: Guaranteed pods get shares, quota and memory limit from the
// pod's requests and limits; Burstable pods shares always, and quota or
// memory limit only when every container limits that resource;
// BestEffort pods the minimum shares only.
func PodCgroupLimits(pod *corev1.Pod) Limits {
	reqCPU, _ := PodRequests(pod)
	limCPU, limMem := PodLimits(pod)
	cpuLimited, memLimited := true, true
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			if c.Resources.Limits.Cpu().IsZero() {
				cpuLimited = false
			}
			if c.Resources.Limits.Memory().IsZero() {
				memLimited = false
			}
		}
	}
	l := Limits{CPUShares: MilliCPUToShares(reqCPU)}
	quota := Limits{CPUQuota: MilliCPUToQuota(limCPU, QuotaPeriod), CPUPeriod: QuotaPeriod}
	switch PodClass(pod) {
	case corev1.PodQOSGuaranteed:
		l.CPUQuota, l.CPUPeriod, l.MemoryBytes = quota.CPUQuota, quota.CPUPeriod, limMem
	case corev1.PodQOSBurstable:
		if cpuLimited {
			l.CPUQuota, l.CPUPeriod = quota.CPUQuota, quota.CPUPeriod
		}
		if memLimited {
			l.MemoryBytes = limMem
		}
	default:
		l = Limits{CPUShares: MinShares}
	}
	return l
}
