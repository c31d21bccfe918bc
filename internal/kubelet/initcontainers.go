package kubelet

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// isSidecar reports whether init container c is a restartable one (a
// sidecar: restartPolicy Always), which keeps running beside the app
// containers.
func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// initPolicy is when a failed regular init container is run again: never
// under the pod's Never, else until it succeeds (Always counts as
// OnFailure for init containers).
func initPolicy(pod *corev1.Pod) corev1.RestartPolicy {
	if pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
		return corev1.RestartPolicyNever
	}
	return corev1.RestartPolicyOnFailure
}

// syncInitContainers runs pod's init containers in order, each to
// completion (a sidecar: until it has started) before the next, and
// records what it saw in obs. It reports whether the pod is initialized,
// so that its app containers may run, and how soon to look again.
// Once an app container of the sandbox has run, the pod stays
// initialized and only its sidecars are kept running, until every app
// container has stopped for good: then the sidecars are stopped, last
// first, so that the pod can complete.
func (k *Kubelet) syncInitContainers(ctx context.Context, pod *corev1.Pod, sandboxID string, sbCfg *runtimeapi.PodSandboxConfig, byName map[string][]*runtimeapi.ContainerStatus, obs *podObservation) (bool, time.Duration) {
	appStarted := false
	for i := range pod.Spec.Containers {
		if len(byName[pod.Spec.Containers[i].Name]) > 0 {
			appStarted = true
		}
	}
	finished := appsFinished(pod, byName)
	if finished {
		for i := len(pod.Spec.InitContainers) - 1; i >= 0; i-- {
			c := &pod.Spec.InitContainers[i]
			if cur := newest(byName[c.Name]); isSidecar(c) && cur != nil && cur.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
				if err := k.killContainer(ctx, pod, c.Name, cur.Id, podGrace(pod), ""); err != nil {
					k.log.Warn("Stopping a sidecar failed", "pod", pod.Namespace+"/"+pod.Name, "container", c.Name, "err", err)
				}
				if resp, err := k.runtime.ContainerStatus(ctx, cur.Id, false); err == nil {
					byName[c.Name][0] = withTerminationMessage(resp.Status)
				}
			}
		}
	}
	var requeue time.Duration
	blocked := false
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		existing := byName[c.Name]
		sidecar := isSidecar(c)
		if blocked || appStarted && !sidecar || sidecar && finished {
			obs.initContainers[c.Name] = k.observe(pod, c, existing)
			continue
		}
		if sidecar {
			o, after := k.syncContainer(ctx, pod, c, corev1.RestartPolicyAlways, sandboxID, sbCfg, existing)
			obs.initContainers[c.Name] = o
			if after > 0 && (requeue == 0 || after < requeue) {
				requeue = after
			}
			// The next one waits for this one's startup probe (or start).
			blocked = !o.started && !appStarted
			continue
		}
		if cur := newest(existing); cur != nil && cur.State == runtimeapi.ContainerState_CONTAINER_EXITED && cur.ExitCode == 0 {
			obs.initContainers[c.Name] = k.observe(pod, c, existing)
			continue
		}
		o, after := k.syncContainer(ctx, pod, c, initPolicy(pod), sandboxID, sbCfg, existing)
		obs.initContainers[c.Name] = o
		if after > 0 && (requeue == 0 || after < requeue) {
			requeue = after
		}
		done := o.current != nil && o.current.State == runtimeapi.ContainerState_CONTAINER_EXITED && o.current.ExitCode == 0 && o.waitingReason == ""
		blocked = !done
	}
	return !blocked || appStarted, requeue
}

// appsFinished reports whether every app container of pod has run and
// stopped for good under its restart policy (never under Always).
func appsFinished(pod *corev1.Pod, byName map[string][]*runtimeapi.ContainerStatus) bool {
	if pod.Spec.RestartPolicy == corev1.RestartPolicyAlways || pod.Spec.RestartPolicy == "" {
		return false
	}
	for i := range pod.Spec.Containers {
		cur := newest(byName[pod.Spec.Containers[i].Name])
		if cur == nil || cur.State != runtimeapi.ContainerState_CONTAINER_EXITED || shouldRestart(pod.Spec.RestartPolicy, cur.ExitCode) {
			return false
		}
	}
	return true
}

func newest(existing []*runtimeapi.ContainerStatus) *runtimeapi.ContainerStatus {
	if len(existing) == 0 {
		return nil
	}
	return existing[0]
}

// observeAll records every container of pod as the runtime has it,
// without acting.
func (k *Kubelet) observeAll(pod *corev1.Pod, byName map[string][]*runtimeapi.ContainerStatus, obs *podObservation) {
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		obs.initContainers[c.Name] = k.observe(pod, c, byName[c.Name])
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		obs.containers[c.Name] = k.observe(pod, c, byName[c.Name])
	}
}

// deadlineMessage is upstream's message for a pod past its
// activeDeadlineSeconds.
const deadlineMessage = "Pod was active on the node longer than the specified deadline"

// deadlineRemaining returns how long pod may still run under its
// activeDeadlineSeconds (0: no deadline, or already past it).
func (k *Kubelet) deadlineRemaining(pod *corev1.Pod) time.Duration {
	if pod.Spec.ActiveDeadlineSeconds == nil {
		return 0
	}
	start := k.clock.Now() // the status about to be posted starts now
	if pod.Status.StartTime != nil {
		start = pod.Status.StartTime.Time
	}
	left := time.Duration(*pod.Spec.ActiveDeadlineSeconds)*time.Second - k.clock.Since(start)
	return max(left, 0)
}

// deadlineExceeded reports whether pod has been active on the node for
// its activeDeadlineSeconds.
func (k *Kubelet) deadlineExceeded(pod *corev1.Pod) bool {
	return pod.Spec.ActiveDeadlineSeconds != nil && pod.Status.StartTime != nil && k.deadlineRemaining(pod) == 0
}

// killForDeadline records the DeadlineExceeded event, once, and stops
// the pod's running containers in the background. It reports whether it
// started stopping some (the pod is synced again once they have stopped).
func (k *Kubelet) killForDeadline(ctx context.Context, pod *corev1.Pod, sandboxID string, byName map[string][]*runtimeapi.ContainerStatus) bool {
	if k.tasks.once(pod.UID, eventDeadlineExceeded) {
		k.recorder.Eventf(podRef(pod), corev1.EventTypeNormal, eventDeadlineExceeded, deadlineMessage)
	}
	k.probes.RemovePod(pod.Namespace + "/" + pod.Name)
	running := false
	for _, l := range byName {
		if cur := newest(l); cur != nil && cur.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
			running = true
		}
	}
	if !running {
		return false
	}
	return k.tasks.start(pod.UID, func() {
		if err := k.killRunning(ctx, pod, sandboxID, podGrace(pod)); err != nil {
			k.log.Warn("Stopping a pod past its deadline failed", "pod", pod.Namespace+"/"+pod.Name, "err", err)
		}
		k.requeue(pod)
	})
}
