package nodesim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Upstream's restart back-off: the first restart is immediate, later ones
// wait 10s doubling up to 5 minutes.
const (
	backoffInitial = 10 * time.Second
	backoffMax     = 5 * time.Minute
	// stopExitCode is what a container stopped by pod deletion exits with
	// (SIGKILL, as a process that ignores SIGTERM would).
	stopExitCode = 137
	// maxTransitions bounds the replay of one container's life in one
	// sync, in case the clock jumped far ahead.
	maxTransitions = 10000
)

// statusInput is everything computeStatus needs besides the pod.
type statusInput struct {
	now time.Time
	// hostIP is the node's InternalIP; podIP the address the node gave
	// the pod (hostIP for hostNetwork pods).
	hostIP, podIP string
	// startDelay is how long the pod stays in ContainerCreating.
	startDelay time.Duration
	// ready, if set, overrides probes (Simulator.SetReady).
	ready *bool
}

// computeStatus returns the status the node reports for pod at in.now,
// and how long until that status next changes by itself (0: never). It is
// pure: the same pod and input give the same answer, and a status it
// returned, written and read back, yields itself again (all times are
// whole seconds, as the API stores them).
func computeStatus(pod *corev1.Pod, in statusInput) (corev1.PodStatus, time.Duration) {
	st := *pod.Status.DeepCopy()
	if st.Phase == corev1.PodSucceeded || st.Phase == corev1.PodFailed {
		return st, 0
	}
	now := in.now.Truncate(time.Second)
	if st.StartTime == nil {
		t := metav1.NewTime(now)
		st.StartTime = &t
	}
	if in.hostIP != "" {
		st.HostIP = in.hostIP
		st.HostIPs = []corev1.HostIP{{IP: in.hostIP}}
	}
	if pod.Generation > 0 {
		st.ObservedGeneration = pod.Generation
	}
	delay := in.startDelay
	if d, err := time.ParseDuration(pod.Annotations[AnnotationStartDelay]); err == nil && d >= 0 {
		delay = d
	}
	begin := st.StartTime.Add(delay)
	w := wake{now: now}
	if now.Before(begin) {
		pending(pod, &st, now)
		w.at(begin)
		return st, w.after()
	}
	st.PodIP = in.podIP
	st.PodIPs = nil
	if in.podIP != "" {
		st.PodIPs = []corev1.PodIP{{IP: in.podIP}}
	}

	st.InitContainerStatuses = initStatuses(pod, begin)
	old := map[string]*corev1.ContainerStatus{}
	for i := range pod.Status.ContainerStatuses {
		old[pod.Status.ContainerStatuses[i].Name] = &pod.Status.ContainerStatuses[i]
	}
	ready := readyOverride(pod, in.ready)
	statuses := make([]corev1.ContainerStatus, 0, len(pod.Spec.Containers))
	var unready []string
	allDone, anyFailed := true, false
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		cs := advance(pod, c, old[c.Name], begin, now, &w)
		readiness(c, &cs, ready, now, &w)
		if !cs.Ready {
			unready = append(unready, c.Name)
		}
		if t := cs.State.Terminated; t != nil {
			anyFailed = anyFailed || t.ExitCode != 0
		} else {
			allDone = false
		}
		statuses = append(statuses, cs)
	}
	slices.SortFunc(statuses, func(a, b corev1.ContainerStatus) int { return strings.Compare(a.Name, b.Name) })
	st.ContainerStatuses = statuses

	terminal := allDone && len(statuses) > 0
	switch {
	case terminal && anyFailed:
		st.Phase = corev1.PodFailed
	case terminal:
		st.Phase = corev1.PodSucceeded
	default:
		st.Phase = corev1.PodRunning
	}
	st.Conditions = podConditions(pod, st.Conditions, now, terminal, unready)
	return st, w.after()
}

// stoppedStatus returns the status of pod once its node has stopped it
// for deletion: every running container terminated with exit code 137,
// the pod terminal. ok is false when the pod never started containers (or
// is already terminal) and can be deleted as it is.
func stoppedStatus(pod *corev1.Pod, now time.Time) (st corev1.PodStatus, ok bool) {
	st = *pod.Status.DeepCopy()
	if st.Phase != corev1.PodRunning {
		return st, false
	}
	now = now.Truncate(time.Second)
	anyFailed := false
	for i := range st.ContainerStatuses {
		cs := &st.ContainerStatuses[i]
		switch {
		case cs.State.Running != nil:
			cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: stopExitCode, Reason: "Error", StartedAt: cs.State.Running.StartedAt,
				FinishedAt: metav1.NewTime(now), ContainerID: cs.ContainerID,
			}}
			anyFailed = true
		case cs.State.Terminated != nil:
			anyFailed = anyFailed || cs.State.Terminated.ExitCode != 0
		default:
			// Waiting in back-off: the last run's end stands for this one.
			cs.State = corev1.ContainerState{Terminated: cs.LastTerminationState.Terminated}
			if cs.State.Terminated == nil {
				cs.State.Terminated = &corev1.ContainerStateTerminated{ExitCode: stopExitCode, Reason: "Error", FinishedAt: metav1.NewTime(now)}
			}
			anyFailed = anyFailed || cs.State.Terminated.ExitCode != 0
		}
		cs.Ready = false
		cs.Started = ptr(false)
	}
	st.Phase = corev1.PodSucceeded
	if anyFailed {
		st.Phase = corev1.PodFailed
	}
	st.Conditions = podConditions(pod, st.Conditions, now, true, nil)
	return st, true
}

// pending fills st for a pod whose containers are still being created.
func pending(pod *corev1.Pod, st *corev1.PodStatus, now time.Time) {
	st.Phase = corev1.PodPending
	waiting := func(cs []corev1.Container, reason string) []corev1.ContainerStatus {
		out := make([]corev1.ContainerStatus, 0, len(cs))
		for i := range cs {
			out = append(out, corev1.ContainerStatus{
				Name:    cs[i].Name,
				Image:   normalizeImage(cs[i].Image),
				State:   corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}},
				Started: ptr(false),
			})
		}
		return out
	}
	st.InitContainerStatuses = nil
	appReason := "ContainerCreating"
	if len(pod.Spec.InitContainers) > 0 {
		st.InitContainerStatuses = waiting(pod.Spec.InitContainers, "PodInitializing")
		appReason = "PodInitializing"
	}
	st.ContainerStatuses = waiting(pod.Spec.Containers, appReason)
	slices.SortFunc(st.ContainerStatuses, func(a, b corev1.ContainerStatus) int { return strings.Compare(a.Name, b.Name) })
	var names []string
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	var initNames []string
	for _, c := range pod.Spec.InitContainers {
		initNames = append(initNames, c.Name)
	}
	conds := st.Conditions
	conds = setCondition(conds, corev1.PodReadyToStartContainers, corev1.ConditionFalse, "", "", now)
	if len(initNames) > 0 {
		conds = setCondition(conds, corev1.PodInitialized, corev1.ConditionFalse, "ContainersNotInitialized",
			fmt.Sprintf("containers with incomplete status: [%s]", strings.Join(initNames, " ")), now)
	} else {
		conds = setCondition(conds, corev1.PodInitialized, corev1.ConditionTrue, "", "", now)
	}
	msg := fmt.Sprintf("containers with unready status: [%s]", strings.Join(names, " "))
	conds = setCondition(conds, corev1.PodReady, corev1.ConditionFalse, "ContainersNotReady", msg, now)
	conds = setCondition(conds, corev1.ContainersReady, corev1.ConditionFalse, "ContainersNotReady", msg, now)
	st.Conditions = orderConditions(ensureScheduled(conds, now), pod.Generation)
}

// initStatuses reports every init container as having completed at
// begin: the simulator runs init containers instantly and successfully.
func initStatuses(pod *corev1.Pod, begin time.Time) []corev1.ContainerStatus {
	if len(pod.Spec.InitContainers) == 0 {
		return nil
	}
	t := metav1.NewTime(begin)
	out := make([]corev1.ContainerStatus, 0, len(pod.Spec.InitContainers))
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		id := containerID(pod, c.Name, 0)
		out = append(out, corev1.ContainerStatus{
			Name:        c.Name,
			Image:       normalizeImage(c.Image),
			ImageID:     imageID(c.Image),
			ContainerID: id,
			Started:     ptr(false),
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 0, Reason: "Completed", StartedAt: t, FinishedAt: t, ContainerID: id,
			}},
		})
	}
	return out
}

// advance replays container c's life from its last reported status (or
// its first start at begin) up to now: runs, exits per the convention,
// restarts per the pod's restartPolicy with upstream's back-off.
func advance(pod *corev1.Pod, c *corev1.Container, prev *corev1.ContainerStatus, begin, now time.Time, w *wake) corev1.ContainerStatus {
	cs := corev1.ContainerStatus{
		Name:      c.Name,
		Image:     normalizeImage(c.Image),
		ImageID:   imageID(c.Image),
		Resources: resources(c),
	}
	for _, m := range c.VolumeMounts {
		vm := corev1.VolumeMountStatus{Name: m.Name, MountPath: m.MountPath, ReadOnly: m.ReadOnly}
		if m.ReadOnly {
			vm.RecursiveReadOnly = ptr(corev1.RecursiveReadOnlyDisabled)
		}
		cs.VolumeMounts = append(cs.VolumeMounts, vm)
	}
	// Start from what was reported, unless it was the Pending placeholder.
	if prev != nil && (prev.State.Running != nil || prev.State.Terminated != nil || prev.LastTerminationState.Terminated != nil) {
		cs.State = *prev.State.DeepCopy()
		cs.LastTerminationState = *prev.LastTerminationState.DeepCopy()
		cs.RestartCount = prev.RestartCount
	} else {
		cs.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(begin)}}
	}
	ex := containerExit(pod, c)
	for range maxTransitions {
		switch {
		case cs.State.Running != nil:
			if !ex.exits {
				goto done
			}
			end := cs.State.Running.StartedAt.Add(ex.after)
			if end.After(now) {
				w.at(end)
				goto done
			}
			reason := "Completed"
			if ex.code != 0 {
				reason = "Error"
			}
			term := &corev1.ContainerStateTerminated{
				ExitCode: ex.code, Reason: reason, StartedAt: cs.State.Running.StartedAt,
				FinishedAt: metav1.NewTime(end), ContainerID: containerID(pod, c.Name, cs.RestartCount),
			}
			if !restarts(pod.Spec.RestartPolicy, c, ex.code) {
				cs.State = corev1.ContainerState{Terminated: term}
				goto done
			}
			cs.LastTerminationState = corev1.ContainerState{Terminated: term}
			cs.RestartCount++
			cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}
		case cs.State.Waiting != nil:
			last := cs.LastTerminationState.Terminated
			if last == nil {
				cs.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(begin)}}
				continue
			}
			back := backoff(cs.RestartCount)
			next := last.FinishedAt.Add(back)
			if next.After(now) {
				cs.State.Waiting.Message = fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)",
					back, c.Name, pod.Name, pod.Namespace, pod.UID)
				w.at(next)
				goto done
			}
			cs.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(next)}}
		default: // terminated for good
			goto done
		}
	}
done:
	if cs.State.Running != nil || cs.State.Terminated != nil {
		cs.ContainerID = containerID(pod, c.Name, cs.RestartCount)
	} else if last := cs.LastTerminationState.Terminated; last != nil {
		cs.ContainerID = last.ContainerID
	}
	return cs
}

// readiness sets Started and Ready of a container whose state advance
// computed, and notes when they will change.
func readiness(c *corev1.Container, cs *corev1.ContainerStatus, override *bool, now time.Time, w *wake) {
	run := cs.State.Running
	if run == nil {
		cs.Started, cs.Ready = ptr(false), false
		return
	}
	started := !probeFails(c.StartupProbe)
	if started && c.StartupProbe != nil {
		at := run.StartedAt.Add(probeDelay(c.StartupProbe))
		if at.After(now) {
			started = false
			w.at(at)
		}
	}
	cs.Started = ptr(started)
	if !started {
		cs.Ready = false
		return
	}
	if override != nil {
		cs.Ready = *override
		return
	}
	if probeFails(c.ReadinessProbe) {
		cs.Ready = false
		return
	}
	at := run.StartedAt.Add(probeDelay(c.ReadinessProbe))
	if c.StartupProbe != nil {
		// Readiness probes start once the startup probe has succeeded.
		at = run.StartedAt.Add(probeDelay(c.StartupProbe) + probeDelay(c.ReadinessProbe))
	}
	cs.Ready = !at.After(now)
	if !cs.Ready {
		w.at(at)
	}
}

// readyOverride returns the forced readiness of pod's containers, if any:
// Simulator.SetReady first, then AnnotationReady.
func readyOverride(pod *corev1.Pod, set *bool) *bool {
	if set != nil {
		return set
	}
	switch pod.Annotations[AnnotationReady] {
	case "true":
		return ptr(true)
	case "false":
		return ptr(false)
	}
	return nil
}

// restarts reports whether a container that exited with code is started
// again under policy (a container's own restartPolicy wins).
func restarts(policy corev1.RestartPolicy, c *corev1.Container, code int32) bool {
	if c.RestartPolicy != nil {
		policy = corev1.RestartPolicy(*c.RestartPolicy)
	}
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return code != 0
	default:
		return true
	}
}

// backoff is how long a container that has restarted n times waits after
// its last exit before the next start.
func backoff(n int32) time.Duration {
	if n <= 1 {
		return 0
	}
	d := backoffInitial
	for i := int32(2); i < n && d < backoffMax; i++ {
		d *= 2
	}
	return min(d, backoffMax)
}

// podConditions returns the kubelet-owned conditions for a started pod,
// keeping transition times where the status did not change.
func podConditions(pod *corev1.Pod, conds []corev1.PodCondition, now time.Time, terminal bool, unready []string) []corev1.PodCondition {
	if terminal {
		conds = setCondition(conds, corev1.PodReadyToStartContainers, corev1.ConditionFalse, "", "", now)
		conds = setCondition(conds, corev1.PodInitialized, corev1.ConditionTrue, "PodCompleted", "", now)
		conds = setCondition(conds, corev1.PodReady, corev1.ConditionFalse, "PodCompleted", "", now)
		conds = setCondition(conds, corev1.ContainersReady, corev1.ConditionFalse, "PodCompleted", "", now)
		return orderConditions(ensureScheduled(conds, now), pod.Generation)
	}
	conds = setCondition(conds, corev1.PodReadyToStartContainers, corev1.ConditionTrue, "", "", now)
	conds = setCondition(conds, corev1.PodInitialized, corev1.ConditionTrue, "", "", now)
	if len(unready) > 0 {
		msg := fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " "))
		conds = setCondition(conds, corev1.PodReady, corev1.ConditionFalse, "ContainersNotReady", msg, now)
		conds = setCondition(conds, corev1.ContainersReady, corev1.ConditionFalse, "ContainersNotReady", msg, now)
		return orderConditions(ensureScheduled(conds, now), pod.Generation)
	}
	conds = setCondition(conds, corev1.ContainersReady, corev1.ConditionTrue, "", "", now)
	if gate := unmetGate(pod, conds); gate != "" {
		conds = setCondition(conds, corev1.PodReady, corev1.ConditionFalse, "ReadinessGatesNotReady", gate, now)
	} else {
		conds = setCondition(conds, corev1.PodReady, corev1.ConditionTrue, "", "", now)
	}
	return orderConditions(ensureScheduled(conds, now), pod.Generation)
}

// unmetGate returns upstream's message for the first readiness gate whose
// condition is missing or not True, or "".
func unmetGate(pod *corev1.Pod, conds []corev1.PodCondition) string {
	for _, g := range pod.Spec.ReadinessGates {
		i := slices.IndexFunc(conds, func(c corev1.PodCondition) bool { return c.Type == g.ConditionType })
		if i < 0 {
			return fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", g.ConditionType)
		}
		if conds[i].Status != corev1.ConditionTrue {
			return fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %s", g.ConditionType, conds[i].Status)
		}
	}
	return ""
}

// setCondition sets condition t, moving its transition time only when
// its status changes.
func setCondition(conds []corev1.PodCondition, t corev1.PodConditionType, s corev1.ConditionStatus, reason, msg string, now time.Time) []corev1.PodCondition {
	c := corev1.PodCondition{Type: t, Status: s, Reason: reason, Message: msg, LastTransitionTime: metav1.NewTime(now)}
	for i := range conds {
		if conds[i].Type == t {
			if conds[i].Status == s {
				c.LastTransitionTime = conds[i].LastTransitionTime
			}
			conds[i] = c
			return conds
		}
	}
	return append(conds, c)
}

// ensureScheduled adds PodScheduled=True when whoever bound the pod did
// not.
func ensureScheduled(conds []corev1.PodCondition, now time.Time) []corev1.PodCondition {
	for _, c := range conds {
		if c.Type == corev1.PodScheduled {
			return conds
		}
	}
	return append(conds, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now)})
}

// kubeletConditions are the conditions the kubelet writes, in the order
// it lists them; others (PodScheduled, DisruptionTarget, readiness
// gates') follow in their existing order.
var kubeletConditions = []corev1.PodConditionType{
	corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.PodReady, corev1.ContainersReady,
}

func orderConditions(conds []corev1.PodCondition, generation int64) []corev1.PodCondition {
	out := make([]corev1.PodCondition, 0, len(conds))
	for _, t := range kubeletConditions {
		for _, c := range conds {
			if c.Type == t {
				if generation > 0 {
					c.ObservedGeneration = generation
				}
				out = append(out, c)
			}
		}
	}
	for _, c := range conds {
		if !slices.Contains(kubeletConditions, c.Type) {
			out = append(out, c)
		}
	}
	return out
}

// resources reports a container's requests and limits as the kubelet
// does with in-place resize enabled; nil when it has none.
func resources(c *corev1.Container) *corev1.ResourceRequirements {
	if len(c.Resources.Requests) == 0 && len(c.Resources.Limits) == 0 {
		return nil
	}
	return &corev1.ResourceRequirements{Requests: c.Resources.Requests.DeepCopy(), Limits: c.Resources.Limits.DeepCopy()}
}

// normalizeImage returns image as containerd reports it: with a registry
// (docker.io), a library/ prefix for official images, and a tag.
func normalizeImage(image string) string {
	if image == "" {
		return ""
	}
	name, digest, hasDigest := strings.Cut(image, "@")
	first, _, hasSlash := strings.Cut(name, "/")
	if !hasSlash || !strings.ContainsAny(first, ".:") && first != "localhost" {
		if !hasSlash {
			name = "library/" + name
		}
		name = "docker.io/" + name
	}
	if hasDigest {
		return name + "@" + digest
	}
	if i := strings.LastIndex(name, ":"); i < 0 || strings.Contains(name[i:], "/") {
		name += ":latest"
	}
	return name
}

// imageID is a stable, digest-shaped id for image.
func imageID(image string) string {
	if image == "" {
		return ""
	}
	n := normalizeImage(image)
	repo, _, _ := strings.Cut(n, "@")
	if i := strings.LastIndex(repo, ":"); i >= 0 && !strings.Contains(repo[i:], "/") {
		repo = repo[:i]
	}
	sum := sha256.Sum256([]byte(n))
	return repo + "@sha256:" + hex.EncodeToString(sum[:])
}

// containerID is a stable id for the n-th run of container name in pod.
func containerID(pod *corev1.Pod, name string, n int32) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%s/%d", pod.UID, name, n))
	return "sim://" + hex.EncodeToString(sum[:])
}

// wake tracks the earliest future instant at which a status changes.
type wake struct {
	now, next time.Time
}

func (w *wake) at(t time.Time) {
	if t.After(w.now) && (w.next.IsZero() || t.Before(w.next)) {
		w.next = t
	}
}

// after returns the delay until the next change, 0 for none.
func (w *wake) after() time.Duration {
	if w.next.IsZero() {
		return 0
	}
	return w.next.Sub(w.now)
}

func ptr[T any](v T) *T { return &v }
