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
}

// podObservation is what one sync saw of a pod on the node.
type podObservation struct {
	// runtimeName prefixes container IDs ("containerd://...").
	runtimeName string
	// nodeIP is the host IP and, in this host-network slice, the pod IP.
	nodeIP string
	// sandboxReady reports whether the pod's sandbox runs.
	sandboxReady bool
	containers   map[string]containerObservation
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
		st.HostIP, st.PodIP = obs.nodeIP, obs.nodeIP
		st.HostIPs = []corev1.HostIP{{IP: obs.nodeIP}}
		st.PodIPs = []corev1.PodIP{{IP: obs.nodeIP}}
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		st.ContainerStatuses = append(st.ContainerStatuses, containerStatus(c, obs.containers[c.Name], obs.runtimeName))
	}
	slices.SortFunc(st.ContainerStatuses, func(a, b corev1.ContainerStatus) int { return strings.Compare(a.Name, b.Name) })

	st.Phase = podPhase(pod.Spec.RestartPolicy, st.ContainerStatuses)
	if old.Phase == corev1.PodSucceeded || old.Phase == corev1.PodFailed {
		st.Phase = old.Phase
	}
	st.Conditions = podConditions(old.Conditions, st, obs.sandboxReady, now)
	return st
}

// containerStatus returns the API status of container c.
func containerStatus(c *corev1.Container, o containerObservation, runtimeName string) corev1.ContainerStatus {
	cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, RestartCount: o.restarts, Started: new(bool)}
	if o.previous != nil {
		cs.LastTerminationState = terminatedState(o.previous, runtimeName)
	}
	cur := o.current
	if cur == nil {
		reason := o.waitingReason
		if reason == "" {
			reason = "ContainerCreating"
		}
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: reason, Message: o.waitingMessage}
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
		cs.Ready, *cs.Started = true, true
	case runtimeapi.ContainerState_CONTAINER_EXITED:
		term := terminatedState(cur, runtimeName)
		if o.waitingReason != "" {
			// Exited and waiting to restart: the exit is the last state.
			cs.LastTerminationState = term
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: o.waitingReason, Message: o.waitingMessage}
		} else {
			cs.State = term
		}
	default:
		reason := o.waitingReason
		if reason == "" {
			reason = "ContainerCreating"
		}
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: reason, Message: o.waitingMessage}
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

// podPhase returns the phase the container statuses imply under policy:
// Pending while a container has never started, Running while one runs or
// will be restarted, and Succeeded or Failed once all have stopped for
// good.
func podPhase(policy corev1.RestartPolicy, statuses []corev1.ContainerStatus) corev1.PodPhase {
	var waiting, running, stopped, succeeded int
	for _, cs := range statuses {
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
	switch {
	case waiting > 0:
		return corev1.PodPending
	case running > 0:
		return corev1.PodRunning
	case stopped == 0:
		return corev1.PodPending
	}
	switch policy {
	case corev1.RestartPolicyAlways:
		return corev1.PodRunning
	case corev1.RestartPolicyOnFailure:
		if succeeded == stopped {
			return corev1.PodSucceeded
		}
		return corev1.PodRunning
	default:
		if succeeded == stopped {
			return corev1.PodSucceeded
		}
		return corev1.PodFailed
	}
}

// podConditions returns the kubelet's conditions for st, keeping the
// PodScheduled condition the scheduler set and the transition times of
// conditions whose status is unchanged.
func podConditions(old []corev1.PodCondition, st corev1.PodStatus, sandboxReady bool, now time.Time) []corev1.PodCondition {
	var unready []string
	for _, cs := range st.ContainerStatuses {
		if !cs.Ready {
			unready = append(unready, cs.Name)
		}
	}
	ready := corev1.PodCondition{Status: corev1.ConditionTrue}
	terminal := st.Phase == corev1.PodSucceeded || st.Phase == corev1.PodFailed
	switch {
	case terminal:
		ready = corev1.PodCondition{Status: corev1.ConditionFalse, Reason: "PodCompleted"}
	case len(unready) > 0:
		ready = corev1.PodCondition{Status: corev1.ConditionFalse, Reason: "ContainersNotReady",
			Message: fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " "))}
	}
	sandbox := corev1.ConditionTrue
	if !sandboxReady {
		sandbox = corev1.ConditionFalse
	}
	initialized := corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}
	if terminal {
		initialized.Reason = "PodCompleted"
	}
	conds := []corev1.PodCondition{
		{Type: corev1.PodReadyToStartContainers, Status: sandbox},
		initialized,
		{Type: corev1.PodReady, Status: ready.Status, Reason: ready.Reason, Message: ready.Message},
		{Type: corev1.ContainersReady, Status: ready.Status, Reason: ready.Reason, Message: ready.Message},
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
	}
	t := metav1.NewTime(now.Truncate(time.Second))
	for i := range conds {
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
