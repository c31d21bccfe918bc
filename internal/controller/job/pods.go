package job

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/record"
)

// Event reasons, as upstream records them.
const (
	reasonSuccessfulCreate = "SuccessfulCreate"
	reasonFailedCreate     = "FailedCreate"
	reasonSuccessfulDelete = "SuccessfulDelete"
	reasonFailedDelete     = "FailedDelete"
)

// completionIndexEnv is the variable through which an Indexed Job's pod
// learns its index.
const completionIndexEnv = "JOB_COMPLETION_INDEX"

// podControl is how the controller changes pods.
type podControl interface {
	// createPod creates pod in namespace and records an event on job.
	createPod(ctx context.Context, job *batchv1.Job, pod *corev1.Pod) error
	// deletePod deletes namespace/name and records an event on job.
	deletePod(ctx context.Context, job *batchv1.Job, namespace, name string) error
	// removeFinalizer removes the tracking finalizer from the pod.
	removeFinalizer(ctx context.Context, namespace, name string, uid types.UID) error
}

type clientPodControl struct {
	client   kubernetes.Interface
	recorder record.EventRecorder
}

func (c clientPodControl) createPod(ctx context.Context, job *batchv1.Job, pod *corev1.Pod) error {
	created, err := c.client.CoreV1().Pods(job.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		if !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			c.recorder.Eventf(job, corev1.EventTypeWarning, reasonFailedCreate, "Error creating: %v", err)
		}
		return fmt.Errorf("create pod for job %s/%s: %w", job.Namespace, job.Name, err)
	}
	c.recorder.Eventf(job, corev1.EventTypeNormal, reasonSuccessfulCreate, "Created pod: %v", created.Name)
	return nil
}

func (c clientPodControl) deletePod(ctx context.Context, job *batchv1.Job, namespace, name string) error {
	err := c.client.CoreV1().Pods(namespace).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		c.recorder.Eventf(job, corev1.EventTypeWarning, reasonFailedDelete, "Error deleting: %v", err)
		return fmt.Errorf("delete pod %s/%s: %w", namespace, name, err)
	}
	c.recorder.Eventf(job, corev1.EventTypeNormal, reasonSuccessfulDelete, "Deleted pod: %v", name)
	return nil
}

func (c clientPodControl) removeFinalizer(ctx context.Context, namespace, name string, uid types.UID) error {
	_, err := c.client.CoreV1().Pods(namespace).Patch(ctx, name, types.StrategicMergePatchType, removeFinalizerPatch(uid), metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove finalizer of pod %s/%s: %w", namespace, name, err)
	}
	return nil
}

// removeFinalizerPatch drops the tracking finalizer from the pod with uid
// and keeps any other finalizer.
func removeFinalizerPatch(uid types.UID) []byte {
	b, _ := json.Marshal(map[string]any{"metadata": map[string]any{ // cannot fail: plain maps
		"$deleteFromPrimitiveList/finalizers": []string{trackingFinalizer},
		"uid":                                 uid,
	}})
	return b
}

// newPod builds a pod of job; index is the completion index of an Indexed
// Job, or -1.
func newPod(job *batchv1.Job, index int) *corev1.Pod {
	t := job.Spec.Template.DeepCopy()
	isController := true
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: generatePrefix(job.Name + "-"),
			Labels:       t.Labels,
			Annotations:  t.Annotations,
			Finalizers:   append(t.Finalizers, trackingFinalizer),
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: batchv1.SchemeGroupVersion.String(), Kind: "Job", Name: job.Name, UID: job.UID,
				Controller: &isController, BlockOwnerDeletion: &isController,
			}},
		},
		Spec: t.Spec,
	}
	if index < 0 {
		return pod
	}
	ix := strconv.Itoa(index)
	pod.GenerateName = generatePrefix(fmt.Sprintf("%s-%d-", job.Name, index))
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	pod.Annotations[batchv1.JobCompletionIndexAnnotation] = ix
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[batchv1.JobCompletionIndexAnnotation] = ix
	if pod.Spec.Hostname == "" {
		pod.Spec.Hostname = fmt.Sprintf("%s-%d", job.Name, index)
	}
	addIndexEnv(pod.Spec.InitContainers)
	addIndexEnv(pod.Spec.Containers)
	return pod
}

func addIndexEnv(cs []corev1.Container) {
	for i := range cs {
		if slices.ContainsFunc(cs[i].Env, func(e corev1.EnvVar) bool { return e.Name == completionIndexEnv }) {
			continue
		}
		cs[i].Env = append(cs[i].Env, corev1.EnvVar{Name: completionIndexEnv, ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{FieldPath: fmt.Sprintf("metadata.annotations['%s']", batchv1.JobCompletionIndexAnnotation)},
		}})
	}
}

// generatePrefix shortens prefix so that a generated suffix still fits a
// DNS label.
func generatePrefix(prefix string) string {
	const maxNameLength, randomLength = 63, 5
	if len(prefix) > maxNameLength-randomLength {
		prefix = prefix[:maxNameLength-randomLength]
	}
	return prefix
}

// completionIndex returns the pod's completion index, or -1.
func completionIndex(pod *corev1.Pod) int {
	v, ok := pod.Annotations[batchv1.JobCompletionIndexAnnotation]
	if !ok {
		v, ok = pod.Labels[batchv1.JobCompletionIndexAnnotation]
	}
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

func hasFinalizer(pod *corev1.Pod) bool { return slices.Contains(pod.Finalizers, trackingFinalizer) }

func isTerminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// isActive reports whether pod counts as running for its Job.
func isActive(pod *corev1.Pod) bool { return !isTerminal(pod) && pod.DeletionTimestamp == nil }

// isTerminating reports whether pod is being deleted but still runs.
func isTerminating(pod *corev1.Pod) bool { return !isTerminal(pod) && pod.DeletionTimestamp != nil }

// onlyReplaceFailed reports whether job waits for a pod to be Failed
// (rather than merely terminating) before replacing it.
func onlyReplaceFailed(job *batchv1.Job) bool {
	if job.Spec.PodReplacementPolicy != nil && *job.Spec.PodReplacementPolicy == batchv1.Failed {
		return true
	}
	return job.Spec.PodFailurePolicy != nil
}

// isFailed reports whether pod counts as a failure: Failed, or (unless
// the Job only replaces Failed pods) deleted before it succeeded.
func isFailed(job *batchv1.Job, pod *corev1.Pod) bool {
	if pod.Status.Phase == corev1.PodFailed {
		return true
	}
	if onlyReplaceFailed(job) {
		return false
	}
	return pod.DeletionTimestamp != nil && pod.Status.Phase != corev1.PodSucceeded
}

func isReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// finishTime is when pod ended: its last container termination, else its
// deletion, else now.
func finishTime(pod *corev1.Pod, now time.Time) time.Time {
	var t time.Time
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for _, s := range list {
			if s.State.Terminated != nil && s.State.Terminated.FinishedAt.After(t) {
				t = s.State.Terminated.FinishedAt.Time
			}
		}
	}
	if t.IsZero() && pod.DeletionTimestamp != nil {
		t = pod.DeletionTimestamp.Time
	}
	if t.IsZero() {
		t = now
	}
	return t
}

// restarts sums the container restarts of the pods still running.
func restarts(pods []*corev1.Pod) int32 {
	var n int32
	for _, p := range pods {
		if p.Status.Phase != corev1.PodRunning && p.Status.Phase != corev1.PodPending {
			continue
		}
		for _, s := range p.Status.InitContainerStatuses {
			n += s.RestartCount
		}
		for _, s := range p.Status.ContainerStatuses {
			n += s.RestartCount
		}
	}
	return n
}

// deletionOrder sorts pods so that the cheapest to lose come first:
// unscheduled before scheduled, pending before running, not ready before
// ready, newer before older.
func deletionOrder(a, b *corev1.Pod) int {
	rank := func(p *corev1.Pod) []int {
		r := []int{1, 1, 1}
		if p.Spec.NodeName == "" {
			r[0] = 0
		}
		if p.Status.Phase == corev1.PodPending {
			r[1] = 0
		}
		if !isReady(p) {
			r[2] = 0
		}
		return r
	}
	if c := slices.Compare(rank(a), rank(b)); c != 0 {
		return c
	}
	return b.CreationTimestamp.Compare(a.CreationTimestamp.Time)
}
