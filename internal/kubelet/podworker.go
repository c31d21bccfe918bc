package kubelet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/cri"
)

// Waiting reasons upstream's kubelet reports.
const (
	reasonCrashLoopBackOff  = "CrashLoopBackOff"
	reasonErrImageNeverPull = "ErrImageNeverPull"
	reasonErrImagePull      = "ErrImagePull"
	reasonCreateError       = "CreateContainerError"
	reasonRunError          = "RunContainerError"
)

// imageRetry is how soon a pod whose image could not be had is synced
// again.
const imageRetry = 5 * time.Second

// syncPod moves pod one step toward its spec and posts its status. It
// returns how soon the pod should be synced again (0: at the next resync
// or change).
func (k *Kubelet) syncPod(ctx context.Context, pod *corev1.Pod) (time.Duration, error) {
	if pod.DeletionTimestamp != nil {
		return 0, k.terminatePod(ctx, pod)
	}
	sandboxes, err := k.podSandboxes(ctx, pod.UID)
	if err != nil {
		return 0, err
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		// Done for good: stop the sandbox, keep its containers for logs.
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
	sbCfg := sandboxConfig(pod, k.cfg.LogDir, uint32(len(sandboxes)))
	if sb == nil {
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
		sandboxReady: true,
		containers:   map[string]containerObservation{},
	}
	var requeue time.Duration
	soon := func(d time.Duration) {
		if d > 0 && (requeue == 0 || d < requeue) {
			requeue = d
		}
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		o, after := k.syncContainer(ctx, pod, c, sb.Id, sbCfg, byName[c.Name])
		obs.containers[c.Name] = o
		soon(after)
	}
	return requeue, k.updatePodStatus(ctx, pod, computePodStatus(pod, obs, k.clock.Now()))
}

// syncContainer starts, restarts or leaves alone container c, given the
// runtime's containers of that name (newest first), and returns what it
// saw and how soon to look again.
func (k *Kubelet) syncContainer(ctx context.Context, pod *corev1.Pod, c *corev1.Container, sandboxID string, sbCfg *runtimeapi.PodSandboxConfig, existing []*runtimeapi.ContainerStatus) (containerObservation, time.Duration) {
	var o containerObservation
	if len(existing) > 0 {
		o.current = existing[0]
		o.restarts = int32(existing[0].GetMetadata().GetAttempt())
	}
	if len(existing) > 1 {
		o.previous = existing[1]
	}
	// Keep the newest two containers of a name (current and last state).
	for _, old := range existing[min(2, len(existing)):] {
		if err := k.runtime.RemoveContainer(ctx, old.Id); err != nil {
			k.log.Warn("Removing an old container failed", "container", old.Id, "err", err)
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
			return o, imageRetry
		}
		return k.refresh(ctx, o), 0
	default: // exited
		if !shouldRestart(pod.Spec.RestartPolicy, o.current.ExitCode) {
			return o, 0
		}
		if wait := k.backoff.wait(key, time.Unix(0, o.current.FinishedAt)); wait > 0 {
			o.waitingReason = reasonCrashLoopBackOff
			o.waitingMessage = fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)",
				k.backoff.current(key), c.Name, pod.Name, pod.Namespace, pod.UID)
			return o, wait
		}
		attempt = o.restarts + 1
	}

	image, reason, msg := k.ensureImage(ctx, c)
	if reason != "" {
		o.waitingReason, o.waitingMessage = reason, msg
		return o, imageRetry
	}
	id, err := k.runtime.CreateContainer(ctx, sandboxID, containerConfig(pod, c, image, attempt), sbCfg)
	if err != nil {
		o.waitingReason, o.waitingMessage = reasonCreateError, err.Error()
		return o, imageRetry
	}
	if attempt > 0 {
		k.backoff.next(key)
	}
	if err := k.runtime.StartContainer(ctx, id); err != nil {
		o.waitingReason, o.waitingMessage = reasonRunError, err.Error()
	}
	if o.current != nil {
		o.previous = o.current
	}
	o.current = &runtimeapi.ContainerStatus{Id: id}
	o.restarts = attempt
	return k.refresh(ctx, o), 0
}

// refresh rereads the status of o's current container.
func (k *Kubelet) refresh(ctx context.Context, o containerObservation) containerObservation {
	if resp, err := k.runtime.ContainerStatus(ctx, o.current.Id, false); err == nil {
		o.current = resp.Status
	}
	return o
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
func (k *Kubelet) ensureImage(ctx context.Context, c *corev1.Container) (ref, reason, msg string) {
	spec := &runtimeapi.ImageSpec{Image: c.Image, UserSpecifiedImage: c.Image}
	st, err := k.images.ImageStatus(ctx, spec, false)
	if err != nil {
		return "", reasonErrImagePull, err.Error()
	}
	present := st.GetImage() != nil
	switch c.ImagePullPolicy {
	case corev1.PullNever:
		if !present {
			return "", reasonErrImageNeverPull, fmt.Sprintf("Container image %q is not present with pull policy of Never", c.Image)
		}
		return c.Image, "", ""
	case corev1.PullIfNotPresent:
		if present {
			return c.Image, "", ""
		}
	}
	if _, err := k.images.PullImage(ctx, spec, nil, nil); err != nil {
		if present {
			// Always, but the registry is unreachable: nodes here mostly
			// run imported images (tagged :latest, which defaults to
			// Always), so run the local copy rather than fail the pod.
			k.log.Warn("Pulling image failed, using the local copy", "image", c.Image, "err", err)
			return c.Image, "", ""
		}
		return "", reasonErrImagePull, err.Error()
	}
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
		out[name] = append(out[name], resp.Status)
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
	if _, err := k.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// terminatePod stops a pod being deleted (its containers get the deletion
// grace period to exit), removes its sandboxes and then deletes the pod
// with grace 0, as upstream's kubelet does once the pod is gone from the
// node.
func (k *Kubelet) terminatePod(ctx context.Context, pod *corev1.Pod) error {
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = *g
	}
	if g := pod.DeletionGracePeriodSeconds; g != nil {
		grace = *g
	}
	if err := k.killPod(ctx, pod.UID, time.Duration(grace)*time.Second); err != nil {
		return err
	}
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
func (k *Kubelet) killPod(ctx context.Context, uid types.UID, grace time.Duration) error {
	sandboxes, err := k.podSandboxes(ctx, uid)
	if err != nil {
		return err
	}
	for _, sb := range sandboxes {
		list, err := k.runtime.ListContainers(ctx, &runtimeapi.ContainerFilter{PodSandboxId: sb.Id})
		if err != nil {
			return err
		}
		var wg sync.WaitGroup
		errs := make([]error, len(list))
		for i, c := range list {
			if c.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
				continue
			}
			wg.Go(func() { errs[i] = k.runtime.StopContainer(ctx, c.Id, grace) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		if err := k.runtime.StopPodSandbox(ctx, sb.Id); err != nil {
			return err
		}
		if err := k.runtime.RemovePodSandbox(ctx, sb.Id); err != nil {
			return err
		}
	}
	k.backoff.forget(string(uid) + "/")
	return nil
}

// orphanGrace is how long the containers of a pod already gone from the
// API get to exit.
const orphanGrace = 2 * time.Second

// removeOrphans kills and removes the sandboxes of pods not in uids (pods
// deleted from the API at once, or while the agent was away).
func (k *Kubelet) removeOrphans(ctx context.Context, uids map[types.UID]bool) error {
	list, err := k.runtime.ListPodSandbox(ctx, nil)
	if err != nil {
		return err
	}
	done := map[types.UID]bool{}
	var errs []error
	for _, sb := range list {
		uid := types.UID(sb.Labels[labelPodUID])
		if uid == "" || uids[uid] || done[uid] {
			continue
		}
		done[uid] = true
		k.log.Info("Removing the sandbox of a deleted pod", "pod", sb.GetMetadata().GetNamespace()+"/"+sb.GetMetadata().GetName(), "uid", uid)
		errs = append(errs, k.killPod(ctx, uid, orphanGrace))
	}
	return errors.Join(errs...)
}
