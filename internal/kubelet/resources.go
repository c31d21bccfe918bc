package kubelet

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/kubelet/qos"
)

// withResources sets cfg's Linux resources from container c's requests
// and limits and the pod's QoS class, and returns cfg.
func (k *Kubelet) withResources(pod *corev1.Pod, c *corev1.Container, cfg *runtimeapi.ContainerConfig) *runtimeapi.ContainerConfig {
	if cfg.Linux == nil {
		cfg.Linux = &runtimeapi.LinuxContainerConfig{}
	}
	cfg.Linux.Resources = qos.ContainerResources(pod, c, k.cfg.Host.MemoryBytes)
	return cfg
}

// setPodCgroup makes the pod's cgroup the sandbox's cgroup parent (the
// runtime puts the sandbox and every container of the pod below it).
func (k *Kubelet) setPodCgroup(sbCfg *runtimeapi.PodSandboxConfig, pod *corev1.Pod) {
	if k.cfg.Cgroups == nil {
		return
	}
	if sbCfg.Linux == nil {
		sbCfg.Linux = &runtimeapi.LinuxPodSandboxConfig{}
	}
	sbCfg.Linux.CgroupParent = k.cfg.Cgroups.PodName(string(qos.PodClass(pod)), pod.UID)
}

// ensurePodCgroup creates the pod's cgroup with the limits of its class,
// before its sandbox is created.
func (k *Kubelet) ensurePodCgroup(pod *corev1.Pod) error {
	if k.cfg.Cgroups == nil {
		return nil
	}
	_, err := k.cfg.Cgroups.EnsurePod(string(qos.PodClass(pod)), pod.UID, qos.PodCgroupLimits(pod))
	return err
}

// removePodCgroup removes the cgroup of a pod whose sandboxes are gone.
func (k *Kubelet) removePodCgroup(uid types.UID) error {
	if k.cfg.Cgroups == nil {
		return nil
	}
	if err := k.cfg.Cgroups.RemovePod(uid); err != nil {
		return fmt.Errorf("pod %s: %w", uid, err)
	}
	return nil
}

// syncCgroups removes the cgroups of pods not in uids whose sandboxes are
// gone, and sets the burstable tier's cpu shares from the Burstable pods'
// requests.
func (k *Kubelet) syncCgroups(pods []*corev1.Pod, uids map[types.UID]bool) {
	cg := k.cfg.Cgroups
	if cg == nil {
		return
	}
	for _, uid := range cg.Pods() {
		if uids[uid] {
			continue
		}
		// A pod being killed still has a sandbox; removal fails until
		// its processes are gone, and the next resync tries again.
		if err := cg.RemovePod(uid); err != nil {
			k.log.Debug("Removing a pod cgroup failed", "uid", uid, "err", err)
		}
	}
	var milli int64
	for _, p := range pods {
		if qos.PodClass(p) == corev1.PodQOSBurstable && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			cpu, _ := qos.PodRequests(p)
			milli += cpu
		}
	}
	k.nodeMu.Lock()
	changed := milli != k.burstableMilliCPU || !k.burstableSet
	k.burstableMilliCPU, k.burstableSet = milli, true
	k.nodeMu.Unlock()
	if changed {
		if err := cg.SetBurstableShares(milli); err != nil {
			k.log.Warn("Setting the burstable cgroup's cpu shares failed", "err", err)
		}
	}
}

// initCgroups creates the node's kubepods hierarchy limited to capacity
// minus the reservations (upstream's enforce-node-allocatable=pods).
func (k *Kubelet) initCgroups() error {
	if k.cfg.Cgroups == nil {
		return nil
	}
	capacity := k.capacity()
	reserved := sumResources(k.cfg.SystemReserved, k.cfg.KubeReserved)
	cpu := capacity.Cpu().MilliValue() - reserved.Cpu().MilliValue()
	mem := capacity.Memory().Value() - reserved.Memory().Value()
	l := qos.Limits{CPUShares: qos.MilliCPUToShares(max(cpu, 0))}
	if reserved.Memory().Value() > 0 {
		l.MemoryBytes = max(mem, 0)
	}
	if err := k.cfg.Cgroups.Init(l); err != nil {
		return fmt.Errorf("kubelet: %w", err)
	}
	return nil
}
