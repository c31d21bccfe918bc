package kubelet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/cri"
	"github.com/skiff/skiff/internal/kubelet/prober"
	"github.com/skiff/skiff/internal/kubelet/staticpod"
)

// Waiting reasons upstream's kubelet reports.
const (
	reasonCrashLoopBackOff  = "CrashLoopBackOff"
	reasonErrImageNeverPull = "ErrImageNeverPull"
	reasonErrImagePull      = "ErrImagePull"
	reasonCreateError       = "CreateContainerError"
	reasonRunError          = "RunContainerError"
	// reasonPostStartHookError is upstream's waiting reason after a
	// failed postStart hook.
	reasonPostStartHookError = "PostStartHookError"
)

// probeKilled prefixes the container IDs that podTasks.once remembers as
// killed for failing their liveness or startup probe.
const probeKilled = "probe-killed:"

// specChanged prefixes the container IDs killed because their spec
// changed.
const specChanged = "spec-changed:"

// imageRetry is how soon a pod whose image could not be had is synced
// again.
const imageRetry = 5 * time.Second

// syncPod moves pod one step toward its spec and posts its status. It
// returns how soon the pod should be synced again (0: at the next resync
// or change).
func (k *Kubelet) syncPod(ctx context.Context, pod *corev1.Pod) (time.Duration, error) {
	if k.tasks.busy(pod.UID) {
		return 0, nil // stopping containers; the task syncs the pod again when done
	}
	if pod.DeletionTimestamp != nil {
		return 0, k.terminatePod(ctx, pod)
	}
	sandboxes, err := k.podSandboxes(ctx, pod.UID)
	if err != nil {
		return 0, err
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		// Done for good: stop the sandbox, keep its containers for logs.
		k.probes.RemovePod(pod.Namespace + "/" + pod.Name)
		for _, sb := range sandboxes {
			if sb.State == runtimeapi.PodSandboxState_SANDBOX_READY {
				if err := k.runtime.StopPodSandbox(ctx, sb.Id); err != nil {
					return 0, err
				}
			}
		}
		return 0, nil
	}

	var sb *runtimeapi.PodSandbox
	for _, s := range sandboxes {
		if s.State == runtimeapi.PodSandboxState_SANDBOX_READY {
			sb = s
			break
		}
	}
	if !k.setUpVolumes(ctx, pod) && sb == nil {
		// As upstream, a pod's sandbox waits for all of its volumes.
		return imageRetry, k.waitForVolumes(ctx, pod)
	}
	sbCfg := sandboxConfig(pod, k.cfg.LogDir, uint32(len(sandboxes)))
	k.setPodCgroup(sbCfg, pod)
	k.setSandboxNetwork(sbCfg, pod)
	if sb == nil {
		if msg := k.networkNotReady(ctx, pod); msg != "" {
			k.recorder.Eventf(pod, corev1.EventTypeWarning, reasonNetworkNotReady, "network is not ready: %s", msg)
			return 0, nil // the next resync looks again
		}
		if err := k.ensurePodCgroup(pod); err != nil {
			return 0, fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		if err := os.MkdirAll(sbCfg.LogDirectory, 0o755); err != nil {
			return 0, fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		id, err := k.runtime.RunPodSandbox(ctx, sbCfg, "")
		if err != nil {
			return 0, fmt.Errorf("pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		sb = &runtimeapi.PodSandbox{Id: id, Metadata: sbCfg.Metadata, State: runtimeapi.PodSandboxState_SANDBOX_READY}
		k.log.Info("Started pod sandbox", "pod", pod.Namespace+"/"+pod.Name, "sandbox", id)
	} else {
		sbCfg.Metadata.Attempt = sb.Metadata.GetAttempt()
	}

	byName, err := k.sandboxContainers(ctx, sb.Id)
	if err != nil {
		return 0, err
	}
	obs := podObservation{
		runtimeName:  k.runtimeName,
		nodeIP:       k.cfg.NodeIP,
		podIPs:       k.podIPs(ctx, pod, sb.Id),
		sandboxReady: true,
		containers:   map[string]containerObservation{},
	}
	var requeue time.Duration
	soon := func(d time.Duration) {
		if d > 0 && (requeue == 0 || d < requeue) {
			requeue = d
		}
	}
	obs.initContainers = map[string]containerObservation{}
	if k.deadlineExceeded(pod) {
		if k.killForDeadline(ctx, pod, sb.Id, byName) {
			return 0, nil
		}
		obs.deadlineExceeded = true
		k.observeAll(pod, byName, &obs)
		return 0, k.updatePodStatus(ctx, pod, computePodStatus(pod, obs, k.clock.Now()))
	}
	soon(k.deadlineRemaining(pod))
	initialized, after := k.syncInitContainers(ctx, pod, sb.Id, sbCfg, byName, &obs)
	soon(after)
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		if !initialized {
			obs.containers[c.Name] = k.observe(pod, c, byName[c.Name])
			continue
		}
		o, after := k.syncContainer(ctx, pod, c, pod.Spec.RestartPolicy, sb.Id, sbCfg, byName[c.Name])
		obs.containers[c.Name] = o
		soon(after)
	}
	return requeue, k.updatePodStatus(ctx, pod, computePodStatus(pod, obs, k.clock.Now()))
}

// syncContainer starts, restarts or leaves alone container c, given the
// runtime's containers of that name (newest first), and returns what it
// saw and how soon to look again. policy says when an exited container
// is started again; a container that failed its liveness or startup probe
// is killed first.
func (k *Kubelet) syncContainer(ctx context.Context, pod *corev1.Pod, c *corev1.Container, policy corev1.RestartPolicy, sandboxID string, sbCfg *runtimeapi.PodSandboxConfig, existing []*runtimeapi.ContainerStatus) (containerObservation, time.Duration) {
	// Keep the newest two containers of a name (current and last state).
	for _, old := range existing[min(2, len(existing)):] {
		if err := k.runtime.RemoveContainer(ctx, old.Id); err != nil {
			k.log.Warn("Removing an old container failed", "container", old.Id, "err", err)
		}
	}
	o := k.observe(pod, c, existing)
	if o.current != nil && o.current.State == runtimeapi.ContainerState_CONTAINER_RUNNING {
		if h := o.current.GetAnnotations()[annotationHash]; h != "" && h != containerHash(c) {
			// The spec changed (a new image): replace the container.
			id := o.current.Id
			k.tasks.once(pod.UID, specChanged+id)
			k.tasks.start(pod.UID, func() {
				msg := fmt.Sprintf("Container %s definition changed, will be restarted", c.Name)
				if err := k.killContainer(ctx, pod, c.Name, id, podGrace(pod), msg); err != nil {
					k.log.Warn("Killing a changed container failed", "pod", pod.Namespace+"/"+pod.Name, "container", c.Name, "err", err)
				}
				k.requeue(pod)
			})
			return o, 0
		}
		if kind, probe, failed := k.probes.Failed(pod.Namespace+"/"+pod.Name, c.Name, o.current.Id); failed {
			msg := fmt.Sprintf("Container %s failed %s probe", c.Name, strings.ToLower(string(kind)))
			if policy != corev1.RestartPolicyNever {
				msg += ", will be restarted"
			}
			id := o.current.Id
			k.tasks.once(pod.UID, probeKilled+id)
			k.tasks.start(pod.UID, func() {
				if err := k.killContainer(ctx, pod, c.Name, id, probeGrace(pod, probe), msg); err != nil {
					k.log.Warn("Killing a container that failed its probe failed", "pod", pod.Namespace+"/"+pod.Name, "container", c.Name, "err", err)
				}
				k.requeue(pod)
			})
			return o, 0 // restarted once it has stopped
		}
	}
	key := string(pod.UID) + "/" + c.Name
	attempt := int32(0)
	switch {
	case o.current == nil:
	case o.current.State == runtimeapi.ContainerState_CONTAINER_RUNNING:
		return o, 0
	case o.current.State == runtimeapi.ContainerState_CONTAINER_CREATED:
		if err := k.runtime.StartContainer(ctx, o.current.Id); err != nil {
			o.waitingReason, o.waitingMessage = reasonRunError, err.Error()
			k.containerEvent(pod, c.Name, corev1.EventTypeWarning, eventFailed, "Error: %v", err)
			return o, imageRetry
		}
		k.containerEvent(pod, c.Name, corev1.EventTypeNormal, eventStarted, "Started container %s", c.Name)
		return k.refresh(ctx, pod, c, o), 0
	default: // exited
		// A container killed for failing a probe restarts unless the
		// policy is Never, one replaced for a new spec in any case,
		// whatever it exited with.
		killed := policy != corev1.RestartPolicyNever && k.tasks.has(pod.UID, probeKilled+o.current.Id) ||
			k.tasks.has(pod.UID, specChanged+o.current.Id)
		if !shouldRestart(policy, o.current.ExitCode) && !killed {
			return o, 0
		}
		if wait := k.backoff.wait(key, time.Unix(0, o.current.FinishedAt)); wait > 0 {
			o.waitingReason = reasonCrashLoopBackOff
			o.waitingMessage = fmt.Sprintf("back-off %s restarting failed container=%s pod=%s",
				k.backoff.current(key), c.Name, formatPod(pod))
			if k.backoff.notice(key, o.current.Id) {
				k.containerEvent(pod, c.Name, corev1.EventTypeWarning, eventBackOff, "Back-off restarting failed container %s in pod %s", c.Name, formatPod(pod))
			}
			return o, wait
		}
		attempt = o.restarts + 1
	}

	image, reason, msg := k.ensureImage(ctx, pod, c)
	if reason != "" {
		o.waitingReason, o.waitingMessage = reason, msg
		return o, imageRetry
	}
	base, err := k.resolveContainerConfig(ctx, pod, c, sandboxID, image, attempt)
	if err != nil {
		o.waitingReason, o.waitingMessage = reasonCreateConfigError, err.Error()
		return o, imageRetry
	}
	ccfg := k.withResources(pod, c, base)
	if ccfg.Annotations == nil {
		ccfg.Annotations = map[string]string{}
	}
	ccfg.Annotations[annotationHash] = containerHash(c)
	if err := k.addTerminationMessage(pod, c, ccfg); err != nil {
		o.waitingReason, o.waitingMessage = reasonCreateError, err.Error()
		return o, imageRetry
	}
	id, err := k.runtime.CreateContainer(ctx, sandboxID, ccfg, sbCfg)
	if err != nil {
		o.waitingReason, o.waitingMessage = reasonCreateError, err.Error()
		k.containerEvent(pod, c.Name, corev1.EventTypeWarning, eventFailed, "Error: %v", err)
		return o, imageRetry
	}
	k.containerEvent(pod, c.Name, corev1.EventTypeNormal, eventCreated, "Created container: %s", c.Name)
	if attempt > 0 {
		k.backoff.next(key, time.Unix(0, o.current.FinishedAt))
	}
	if o.current != nil {
		o.previous = o.current
	}
	o.current = &runtimeapi.ContainerStatus{Id: id}
	o.restarts = attempt
	if err := k.runtime.StartContainer(ctx, id); err != nil {
		o.waitingReason, o.waitingMessage = reasonRunError, err.Error()
		k.containerEvent(pod, c.Name, corev1.EventTypeWarning, eventFailed, "Error: %v", err)
		return k.refresh(ctx, pod, c, o), imageRetry
	}
	k.containerEvent(pod, c.Name, corev1.EventTypeNormal, eventStarted, "Started container %s", c.Name)
	if c.Lifecycle != nil && c.Lifecycle.PostStart != nil {
		if msg, err := k.runHook(ctx, pod, c, id, c.Lifecycle.PostStart, 0); err != nil {
			k.containerEvent(pod, c.Name, corev1.EventTypeWarning, eventFailedPostStartHook, "%s", msg)
			if err := k.killContainer(ctx, pod, c.Name, id, podGrace(pod), "FailedPostStartHook"); err != nil {
				k.log.Warn("Killing a container whose postStart hook failed failed", "pod", pod.Namespace+"/"+pod.Name, "container", c.Name, "err", err)
			}
			o.waitingReason, o.waitingMessage = reasonPostStartHookError, msg
		}
	}
	return k.refresh(ctx, pod, c, o), 0
}

// refresh rereads the status of o's current container.
func (k *Kubelet) refresh(ctx context.Context, pod *corev1.Pod, c *corev1.Container, o containerObservation) containerObservation {
	if resp, err := k.runtime.ContainerStatus(ctx, o.current.Id, false); err == nil {
		o.current = withTerminationMessage(resp.Status)
	}
	k.probeStatus(pod, c, &o)
	return o
}

// observe returns what the runtime's containers of c (newest first) say,
// with the probes' verdicts.
func (k *Kubelet) observe(pod *corev1.Pod, c *corev1.Container, existing []*runtimeapi.ContainerStatus) containerObservation {
	var o containerObservation
	if len(existing) > 0 {
		o.current = existing[0]
		o.restarts = int32(existing[0].GetMetadata().GetAttempt())
	}
	if len(existing) > 1 {
		o.previous = existing[1]
	}
	k.probeStatus(pod, c, &o)
	return o
}

// probeStatus sets o.started and o.ready from c's probes (and tells the
// probes about the container).
func (k *Kubelet) probeStatus(pod *corev1.Pod, c *corev1.Container, o *containerObservation) {
	st := prober.ContainerState{PodIP: k.podIPOf(pod), Terminating: pod.DeletionTimestamp != nil}
	if cur := o.current; cur != nil {
		st.ID = cur.Id
		st.Running = cur.State == runtimeapi.ContainerState_CONTAINER_RUNNING
		st.Exited = cur.State == runtimeapi.ContainerState_CONTAINER_EXITED
		st.StartedAt = time.Unix(0, cur.StartedAt)
	}
	o.started, o.ready = k.probes.ContainerStatus(pod.Namespace+"/"+pod.Name, c.Name, st)
}

// shouldRestart reports whether a container that exited with code is
// started again under policy.
func shouldRestart(policy corev1.RestartPolicy, code int32) bool {
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return code != 0
	default:
		return true
	}
}

// ensureImage makes c's image present as its imagePullPolicy says and
// returns the reference to create the container with, or a waiting reason
// and message when it cannot.
func (k *Kubelet) ensureImage(ctx context.Context, pod *corev1.Pod, c *corev1.Container) (ref, reason, msg string) {
	spec := &runtimeapi.ImageSpec{Image: c.Image, UserSpecifiedImage: c.Image}
	st, err := k.images.ImageStatus(ctx, spec, false)
	if err != nil {
		return "", reasonErrImagePull, err.Error()
	}
	present := st.GetImage() != nil
	alreadyPresent := func() (string, string, string) {
		k.containerEvent(pod, c.Name, corev1.EventTypeNormal, eventPulled, "Container image %q already present on machine", c.Image)
		return c.Image, "", ""
	}
	switch c.ImagePullPolicy {
	case corev1.PullNever:
		if !present {
			msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", c.Image)
			k.containerEvent(pod, c.Name, corev1.EventTypeWarning, eventErrImageNeverPull, "%s", msg)
			return "", reasonErrImageNeverPull, msg
		}
		return alreadyPresent()
	case corev1.PullIfNotPresent:
		if present {
			return alreadyPresent()
		}
	}
	start := k.clock.Now()
	if !present {
		k.containerEvent(pod, c.Name, corev1.EventTypeNormal, eventPulling, "Pulling image %q", c.Image)
	}
	if _, err := k.images.PullImage(ctx, spec, nil, nil); err != nil {
		if present {
			// Always, but the registry is unreachable: nodes here mostly
			// run imported images (tagged :latest, which defaults to
			// Always), so run the local copy rather than fail the pod.
			k.log.Debug("Pulling image failed, using the local copy", "image", c.Image, "err", err)
			return alreadyPresent()
		}
		k.containerEvent(pod, c.Name, corev1.EventTypeWarning, eventFailed, "Failed to pull image %q: %v", c.Image, err)
		return "", reasonErrImagePull, err.Error()
	}
	took := k.clock.Since(start)
	k.containerEvent(pod, c.Name, corev1.EventTypeNormal, eventPulled, "Successfully pulled image %q in %v (%v including waiting)", c.Image, took, took)
	return c.Image, "", ""
}

// podSandboxes returns the runtime's sandboxes of the pod, newest first.
func (k *Kubelet) podSandboxes(ctx context.Context, uid types.UID) ([]*runtimeapi.PodSandbox, error) {
	list, err := k.runtime.ListPodSandbox(ctx, &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{labelPodUID: string(uid)}})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(list, func(a, b *runtimeapi.PodSandbox) int { return cmpInt(b.CreatedAt, a.CreatedAt) })
	return list, nil
}

// sandboxContainers returns the statuses of the sandbox's containers by
// container name, newest attempt first.
func (k *Kubelet) sandboxContainers(ctx context.Context, sandboxID string) (map[string][]*runtimeapi.ContainerStatus, error) {
	list, err := k.runtime.ListContainers(ctx, &runtimeapi.ContainerFilter{PodSandboxId: sandboxID})
	if err != nil {
		return nil, err
	}
	out := map[string][]*runtimeapi.ContainerStatus{}
	for _, c := range list {
		resp, err := k.runtime.ContainerStatus(ctx, c.Id, false)
		if err != nil {
			if cri.IsNotFound(err) {
				continue // removed meanwhile
			}
			return nil, err
		}
		name := c.Labels[labelContainerName]
		out[name] = append(out[name], withTerminationMessage(resp.Status))
	}
	for _, l := range out {
		slices.SortFunc(l, func(a, b *runtimeapi.ContainerStatus) int {
			return cmpInt(int64(b.GetMetadata().GetAttempt()), int64(a.GetMetadata().GetAttempt()))
		})
	}
	return out, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// updatePodStatus posts status when it differs from the pod's.
func (k *Kubelet) updatePodStatus(ctx context.Context, pod *corev1.Pod, status corev1.PodStatus) error {
	if equality.Semantic.DeepEqual(pod.Status, status) {
		return nil
	}
	pod.Status = status
	if staticpod.IsStatic(pod) {
		return k.updateMirrorStatus(ctx, pod)
	}
	pods := k.client.CoreV1().Pods(pod.Namespace)
	_, err := pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		// The pod changed meanwhile (labels, a condition of another
		// component): the status comes from the runtime, so post it on
		// the newest version, keeping conditions the kubelet does not own.
		var fresh *corev1.Pod
		if fresh, err = pods.Get(ctx, pod.Name, metav1.GetOptions{}); err == nil && fresh.UID == pod.UID {
			status.Conditions = mergeForeignConditions(status.Conditions, fresh.Status.Conditions)
			fresh.Status = status
			_, err = pods.UpdateStatus(ctx, fresh, metav1.UpdateOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("update status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// mergeForeignConditions returns conds with the conditions of latest
// that the kubelet does not own put in place of the ones conds has.
func mergeForeignConditions(conds, latest []corev1.PodCondition) []corev1.PodCondition {
	var out []corev1.PodCondition
	for _, c := range latest {
		if !slices.Contains(kubeletConditions, c.Type) {
			out = append(out, c)
		}
	}
	for _, c := range conds {
		if slices.Contains(kubeletConditions, c.Type) {
			out = append(out, c)
		}
	}
	return out
}

// terminatePod stops a pod being deleted (its containers get the deletion
// grace period to exit), removes its sandboxes and then deletes the pod
// with grace 0, as upstream's kubelet does once the pod is gone from the
// node.
func (k *Kubelet) terminatePod(ctx context.Context, pod *corev1.Pod) error {
	k.tasks.start(pod.UID, func() {
		if err := k.stopAndDelete(ctx, pod); err != nil {
			k.log.Warn("Terminating pod failed", "pod", pod.Namespace+"/"+pod.Name, "err", err)
			k.requeue(pod)
		}
	})
	return nil
}

// requeue syncs pod again soon (when the kubelet runs its queue).
func (k *Kubelet) requeue(pod *corev1.Pod) {
	if k.queue != nil {
		k.queue.Add(pod.Namespace + "/" + pod.Name)
	}
}

// stopAndDelete is terminatePod's background task.
func (k *Kubelet) stopAndDelete(ctx context.Context, pod *corev1.Pod) error {
	if err := k.killPod(ctx, pod, pod.UID, podGrace(pod)); err != nil {
		return err
	}
	k.probes.RemovePod(pod.Namespace + "/" + pod.Name)
	err := k.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: new(int64),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	k.log.Info("Pod terminated and deleted", "pod", pod.Namespace+"/"+pod.Name)
	return nil
}

// killPod stops every running container of the pod (in parallel, each
// given grace to exit) and removes the pod's sandboxes.
func (k *Kubelet) killPod(ctx context.Context, pod *corev1.Pod, uid types.UID, grace time.Duration) error {
	sandboxes, err := k.podSandboxes(ctx, uid)
	if err != nil {
		return err
	}
	for _, sb := range sandboxes {
		if err := k.killRunning(ctx, pod, sb.Id, grace); err != nil {
			return err
		}
		if err := k.runtime.StopPodSandbox(ctx, sb.Id); err != nil {
			return err
		}
		if err := k.runtime.RemovePodSandbox(ctx, sb.Id); err != nil {
			return err
		}
		k.net.forget(sb.Id)
	}
	if err := k.removePodCgroup(uid); err != nil {
		return err
	}
	if err := k.volumes.TearDown(uid); err != nil {
		return err
	}
	k.backoff.forget(string(uid) + "/")
	k.tasks.forget(uid)
	return nil
}

// orphanGrace is how long the containers of a pod already gone from the
// API get to exit.
const orphanGrace = 2 * time.Second

// orphanKillers bounds how many deleted pods are killed at once.
const orphanKillers = 16

// removeOrphans kills and removes the sandboxes of pods not in uids (pods
// deleted from the API at once, or while the agent was away).
func (k *Kubelet) removeOrphans(ctx context.Context, uids map[types.UID]bool) error {
	list, err := k.runtime.ListPodSandbox(ctx, nil)
	if err != nil {
		return err
	}
	done := map[types.UID]bool{}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	// In parallel: containers that ignore SIGTERM take the whole grace
	// period each, and many pods may go at once (a namespace deleted).
	sem := make(chan struct{}, orphanKillers)
	for _, sb := range list {
		uid := types.UID(sb.Labels[labelPodUID])
		if uid == "" || uids[uid] || done[uid] {
			continue
		}
		done[uid] = true
		k.log.Info("Removing the sandbox of a deleted pod", "pod", sb.GetMetadata().GetNamespace()+"/"+sb.GetMetadata().GetName(), "uid", uid)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			err := k.killPod(ctx, nil, uid, orphanGrace)
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
