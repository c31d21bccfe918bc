package kubelet

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// containerObservation is what one sync saw of a container of the spec.
type containerObservation struct {
	// current is the runtime's newest container of that name (nil when
	// none exists yet); previous the one before it, for lastState.
	current, previous *runtimeapi.ContainerStatus
	// restarts is the container's restart count.
	restarts int32
	// waitingReason and waitingMessage, when set, say why the container
	// is not running (ErrImageNeverPull, CrashLoopBackOff, ...).
	waitingReason, waitingMessage string
	// started and ready are the probes' verdicts on the current container
	// (both false unless it runs).
	started, ready bool
}

// podObservation is what one sync saw of a pod on the node.
type podObservation struct {
	// runtimeName prefixes container IDs ("containerd://...").
	runtimeName string
	// nodeIP is the host IP; podIPs the pod's (the node IP for a
	// host-network pod), empty while unknown.
	nodeIP string
	podIPs []string
	// sandboxReady reports whether the pod's sandbox runs.
	sandboxReady bool
	// containers and initContainers are by container name.
	containers, initContainers map[string]containerObservation
	// deadlineExceeded reports that the pod outlived its
	// activeDeadlineSeconds: it has failed.
	deadlineExceeded bool
}

// computePodStatus returns the status pod should have given what the
// sync observed, at time now. It keeps the transition times of
// conditions whose status does not change, the start time and the QoS
// class, and never moves a terminal phase back. It is pure.
func computePodStatus(pod *corev1.Pod, obs podObservation, now time.Time) corev1.PodStatus {
	old := pod.Status
	st := corev1.PodStatus{
		QOSClass:  old.QOSClass,
		StartTime: old.StartTime,
	}
	if st.StartTime == nil {
		t := metav1.NewTime(now.Truncate(time.Second))
		st.StartTime = &t
	}
	if obs.nodeIP != "" {
		st.HostIP = obs.nodeIP
		st.HostIPs = []corev1.HostIP{{IP: obs.nodeIP}}
	}
	if len(obs.podIPs) > 0 {
		st.PodIP = obs.podIPs[0]
		for _, ip := range obs.podIPs {
			st.PodIPs = append(st.PodIPs, corev1.PodIP{IP: ip})
		}
	} else {
		// Not known this sync (the runtime did not answer): keep the
		// last ones rather than flap.
		st.PodIP, st.PodIPs = old.PodIP, old.PodIPs
	}
	// Containers not created yet wait for the pod's init containers, if
	// it has any, or for their own creation.
	defaultReason := reasonContainerCreating
	if len(pod.Spec.InitContainers) > 0 {
		defaultReason = reasonPodInitializing
	}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cs := containerStatus(c, obs.initContainers[c.Name], obs.runtimeName, defaultReason)
		if !isSidecar(c) {
			// A regular init container is ready once it has succeeded.
			cs.Ready = cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0
		}
		st.InitContainerStatuses = append(st.InitContainerStatuses, cs)
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		st.ContainerStatuses = append(st.ContainerStatuses, containerStatus(c, obs.containers[c.Name], obs.runtimeName, defaultReason))
	}
	slices.SortFunc(st.ContainerStatuses, func(a, b corev1.ContainerStatus) int { return strings.Compare(a.Name, b.Name) })

	st.Phase = podPhase(&pod.Spec, st.InitContainerStatuses, st.ContainerStatuses)
	if obs.deadlineExceeded {
		st.Phase = corev1.PodFailed
	}
	if old.Phase == corev1.PodSucceeded || old.Phase == corev1.PodFailed {
		st.Phase = old.Phase
	}
	if st.Phase == old.Phase {
		// The reason and message belong to the phase.
		st.Reason, st.Message = old.Reason, old.Message
	}
	if obs.deadlineExceeded && old.Phase != corev1.PodSucceeded && old.Phase != corev1.PodFailed {
		st.Reason, st.Message = eventDeadlineExceeded, deadlineMessage
	}
	st.Conditions = podConditions(pod, old.Conditions, st, obs.sandboxReady, now)
	return st
}

// Waiting reasons of containers that were not created yet.
const (
	reasonContainerCreating = "ContainerCreating"
	reasonPodInitializing   = "PodInitializing"
)

// containerStatus returns the API status of container c; a container
// not created yet waits with defaultReason.
func containerStatus(c *corev1.Container, o containerObservation, runtimeName, defaultReason string) corev1.ContainerStatus {
	cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, RestartCount: o.restarts, Started: new(bool)}
	if o.previous != nil {
		cs.LastTerminationState = terminatedState(o.previous, runtimeName)
	}
	waiting := func() {
		reason := o.waitingReason
		if reason == "" {
			reason = defaultReason
		}
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: reason, Message: o.waitingMessage}
	}
	cur := o.current
	if cur == nil {
		waiting()
		return cs
	}
	cs.ContainerID = runtimeName + "://" + cur.Id
	cs.ImageID = cur.ImageRef
	if img := cur.GetImage().GetImage(); img != "" && !strings.HasPrefix(img, "sha256:") {
		cs.Image = img
	}
	switch cur.State {
	case runtimeapi.ContainerState_CONTAINER_RUNNING:
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: nanoTime(cur.StartedAt)}
		cs.Ready, *cs.Started = o.ready && o.started, o.started
	case runtimeapi.ContainerState_CONTAINER_EXITED:
		term := terminatedState(cur, runtimeName)
		if o.waitingReason != "" {
			// Exited and waiting to restart: the exit is the last state.
			cs.LastTerminationState = term
			waiting()
		} else {
			cs.State = term
		}
	default:
		waiting()
	}
	return cs
}

func terminatedState(s *runtimeapi.ContainerStatus, runtimeName string) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode:    s.ExitCode,
		Reason:      s.Reason,
		Message:     s.Message,
		StartedAt:   nanoTime(s.StartedAt),
		FinishedAt:  nanoTime(s.FinishedAt),
		ContainerID: runtimeName + "://" + s.Id,
	}}
}

func nanoTime(ns int64) metav1.Time {
	if ns == 0 {
		return metav1.Time{}
	}
	return metav1.NewTime(time.Unix(0, ns).Truncate(time.Second))
}

// podPhase returns the phase the container statuses imply, as upstream
// computes it: Failed once a regular init container failed under
// restartPolicy Never; Pending while initializing or while a container
// has never started; Running while one runs or will be restarted; and
// Succeeded or Failed once all have stopped for good. Sidecars (restartable
// init containers) count only while they run.
func podPhase(spec *corev1.PodSpec, initStatuses, statuses []corev1.ContainerStatus) corev1.PodPhase {
	find := func(list []corev1.ContainerStatus, name string) (corev1.ContainerStatus, bool) {
		for _, cs := range list {
			if cs.Name == name {
				return cs, true
			}
		}
		return corev1.ContainerStatus{}, false
	}
	var pendingInit, failedInit, unknown, running, waiting, stopped, succeeded int
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		cs, ok := find(initStatuses, c.Name)
		sidecar := isSidecar(c)
		switch {
		case !ok:
			pendingInit++
			if sidecar {
				unknown++
			}
		case sidecar && cs.State.Running != nil:
			if cs.Started == nil || !*cs.Started {
				pendingInit++
			}
			running++
		case sidecar && (cs.State.Terminated != nil || cs.LastTerminationState.Terminated != nil):
			// A stopped sidecar does not decide the phase.
		case sidecar:
			pendingInit++
			waiting++
		case cs.State.Running != nil:
			pendingInit++
		case cs.State.Terminated != nil:
			if cs.State.Terminated.ExitCode != 0 {
				failedInit++
			}
		case cs.LastTerminationState.Terminated != nil:
			if cs.LastTerminationState.Terminated.ExitCode != 0 {
				failedInit++
			}
		default:
			pendingInit++
		}
	}
	appStarted := false
	for i := range spec.Containers {
		cs, ok := find(statuses, spec.Containers[i].Name)
		if !ok {
			unknown++
			continue
		}
		if cs.State.Running != nil || cs.State.Terminated != nil || cs.LastTerminationState.Terminated != nil {
			appStarted = true
		}
		switch {
		case cs.State.Running != nil:
			running++
		case cs.State.Terminated != nil:
			stopped++
			if cs.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case cs.LastTerminationState.Terminated != nil:
			stopped++ // waiting to restart
		default:
			waiting++
		}
	}
	if failedInit > 0 && spec.RestartPolicy == corev1.RestartPolicyNever {
		return corev1.PodFailed
	}
	switch {
	case pendingInit > 0 && !appStarted, waiting > 0:
		return corev1.PodPending
	case running > 0 && unknown == 0:
		return corev1.PodRunning
	case running == 0 && stopped > 0 && unknown == 0:
		switch {
		case spec.RestartPolicy == corev1.RestartPolicyAlways:
			return corev1.PodRunning
		case stopped == succeeded:
			return corev1.PodSucceeded
		case spec.RestartPolicy == corev1.RestartPolicyNever:
			return corev1.PodFailed
		}
		return corev1.PodRunning
	}
	return corev1.PodPending
}

// Condition reasons of upstream's kubelet.
const (
	reasonPodCompleted             = "PodCompleted"
	reasonPodFailed                = "PodFailed"
	reasonContainersNotReady       = "ContainersNotReady"
	reasonContainersNotInitialized = "ContainersNotInitialized"
	reasonReadinessGatesNotReady   = "ReadinessGatesNotReady"
)

// kubeletConditions are the condition types the kubelet owns; others (a
// DisruptionTarget, readiness gates' conditions) are kept as they are.
var kubeletConditions = []corev1.PodConditionType{
	corev1.PodScheduled, corev1.PodReady, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReadyToStartContainers,
}

// podConditions returns the pod's conditions for st: the ones the
// kubelet does not own as they were, then PodReadyToStartContainers,
// Initialized, Ready, ContainersReady and PodScheduled (kept as the
// scheduler set it), each keeping its transition time while its status
// does not change.
func podConditions(pod *corev1.Pod, old []corev1.PodCondition, st corev1.PodStatus, sandboxReady bool, now time.Time) []corev1.PodCondition {
	var conds []corev1.PodCondition
	for _, c := range old {
		if !slices.Contains(kubeletConditions, c.Type) {
			conds = append(conds, c)
		}
	}
	sandbox := corev1.ConditionTrue
	if !sandboxReady {
		sandbox = corev1.ConditionFalse
	}
	containersReady := containersReadyCondition(pod, st)
	ready := containersReady
	ready.Type = corev1.PodReady
	if ready.Status == corev1.ConditionTrue {
		ready = readinessGates(pod, old)
	}
	conds = append(conds,
		corev1.PodCondition{Type: corev1.PodReadyToStartContainers, Status: sandbox},
		initializedCondition(pod, st),
		ready,
		containersReady,
		corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
	)
	t := metav1.NewTime(now.Truncate(time.Second))
	for i := range conds {
		if !slices.Contains(kubeletConditions, conds[i].Type) {
			continue
		}
		conds[i].LastTransitionTime = t
		for _, o := range old {
			if o.Type != conds[i].Type {
				continue
			}
			if o.Type == corev1.PodScheduled {
				conds[i] = o
			} else if o.Status == conds[i].Status {
				conds[i].LastTransitionTime = o.LastTransitionTime
			}
		}
	}
	return conds
}

// containersReadyCondition is True when every app container and sidecar
// is ready.
func containersReadyCondition(pod *corev1.Pod, st corev1.PodStatus) corev1.PodCondition {
	cond := corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionFalse}
	switch st.Phase {
	case corev1.PodSucceeded:
		cond.Reason = reasonPodCompleted
		return cond
	case corev1.PodFailed:
		cond.Reason = reasonPodFailed
		return cond
	}
	var unready []string
	for i, c := range pod.Spec.InitContainers {
		if isSidecar(&pod.Spec.InitContainers[i]) && !statusReady(st.InitContainerStatuses, c.Name) {
			unready = append(unready, c.Name)
		}
	}
	for _, c := range pod.Spec.Containers {
		if !statusReady(st.ContainerStatuses, c.Name) {
			unready = append(unready, c.Name)
		}
	}
	if len(unready) > 0 {
		cond.Reason = reasonContainersNotReady
		cond.Message = fmt.Sprintf("containers with unready status: %s", unready)
		return cond
	}
	cond.Status = corev1.ConditionTrue
	return cond
}

func statusReady(list []corev1.ContainerStatus, name string) bool {
	for _, cs := range list {
		if cs.Name == name {
			return cs.Ready
		}
	}
	return false
}

// readinessGates returns the Ready condition of a pod whose containers
// are all ready: True unless one of its readiness gates is not.
func readinessGates(pod *corev1.Pod, conds []corev1.PodCondition) corev1.PodCondition {
	var msgs []string
	for _, g := range pod.Spec.ReadinessGates {
		i := slices.IndexFunc(conds, func(c corev1.PodCondition) bool { return c.Type == g.ConditionType })
		switch {
		case i < 0:
			msgs = append(msgs, fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", g.ConditionType))
		case conds[i].Status != corev1.ConditionTrue:
			msgs = append(msgs, fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %v", g.ConditionType, conds[i].Status))
		}
	}
	if len(msgs) > 0 {
		return corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: reasonReadinessGatesNotReady, Message: strings.Join(msgs, ", ")}
	}
	return corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue}
}

// initializedCondition is True once every regular init container has
// succeeded and every sidecar started (or an app container has run).
func initializedCondition(pod *corev1.Pod, st corev1.PodStatus) corev1.PodCondition {
	cond := corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}
	if st.Phase == corev1.PodSucceeded {
		cond.Reason = reasonPodCompleted
		return cond
	}
	for _, cs := range st.ContainerStatuses {
		if cs.State.Running != nil || cs.State.Terminated != nil || cs.LastTerminationState.Terminated != nil {
			return cond // initialized before
		}
	}
	var incomplete []string
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		var cs *corev1.ContainerStatus
		for j := range st.InitContainerStatuses {
			if st.InitContainerStatuses[j].Name == c.Name {
				cs = &st.InitContainerStatuses[j]
			}
		}
		switch {
		case cs == nil:
			incomplete = append(incomplete, c.Name)
		case isSidecar(c) && (cs.Started == nil || !*cs.Started):
			incomplete = append(incomplete, c.Name)
		case !isSidecar(c) && !cs.Ready:
			incomplete = append(incomplete, c.Name)
		}
	}
	if len(incomplete) > 0 {
		cond.Status = corev1.ConditionFalse
		cond.Reason = reasonContainersNotInitialized
		cond.Message = fmt.Sprintf("containers with incomplete status: %s", incomplete)
	}
	return cond
}
