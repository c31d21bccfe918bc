package pod

import (
	corev1 "k8s.io/api/core/v1"
)

// QOSClass computes a pod's quality of service class: BestEffort when no
// container requests or limits cpu or memory, Guaranteed when every
// container limits both and requests equal limits, Burstable otherwise.
// Pod-level resources, when set, decide alone.
func QOSClass(pod *corev1.Pod) corev1.PodQOSClass {
	requests, limits := corev1.ResourceList{}, corev1.ResourceList{}
	guaranteed := true
	add := func(sum corev1.ResourceList, rl corev1.ResourceList) {
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			q, ok := rl[name]
			if !ok || q.Sign() == 0 {
				continue
			}
			cur := sum[name]
			cur.Add(q)
			sum[name] = cur
		}
	}
	hasBoth := func(rl corev1.ResourceList) bool {
		_, cpu := rl[corev1.ResourceCPU]
		_, mem := rl[corev1.ResourceMemory]
		return cpu && mem
	}
	if r := pod.Spec.Resources; r != nil && (len(r.Requests) > 0 || len(r.Limits) > 0) {
		add(requests, r.Requests)
		add(limits, r.Limits)
		guaranteed = hasBoth(r.Limits)
	} else {
		containers := append(append([]corev1.Container{}, pod.Spec.Containers...), pod.Spec.InitContainers...)
		for _, c := range containers {
			add(requests, c.Resources.Requests)
			add(limits, c.Resources.Limits)
			if !hasBoth(c.Resources.Limits) {
				guaranteed = false
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
				break
			}
		}
	}
	if guaranteed && len(requests) == len(limits) {
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}
