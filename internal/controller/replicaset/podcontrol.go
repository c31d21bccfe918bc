package replicaset

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
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

// PodControl is how the controller changes pods; tests replace it.
type PodControl interface {
	// CreatePod creates a pod from template in namespace, controlled by
	// ref, and records an event on object.
	CreatePod(ctx context.Context, namespace string, template *corev1.PodTemplateSpec, object runtime.Object, ref *metav1.OwnerReference) error
	// DeletePod deletes namespace/name and records an event on object.
	DeletePod(ctx context.Context, namespace, name string, object runtime.Object) error
	// PatchPod applies a strategic merge patch to namespace/name.
	PatchPod(ctx context.Context, namespace, name string, patch []byte) error
}

// clientPodControl is the PodControl that talks to the API server.
type clientPodControl struct {
	client   kubernetes.Interface
	recorder record.EventRecorder
}

// podFromTemplate builds the pod a controller creates: the template's
// labels, annotations, finalizers and spec, a generated name prefixed by
// the owner's name, and the controller reference.
func podFromTemplate(template *corev1.PodTemplateSpec, ref *metav1.OwnerReference) *corev1.Pod {
	t := template.DeepCopy()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Labels:      t.Labels,
			Annotations: t.Annotations,
			Finalizers:  t.Finalizers,
		},
		Spec: t.Spec,
	}
	if ref != nil {
		pod.GenerateName = generatePrefix(ref.Name)
		pod.OwnerReferences = []metav1.OwnerReference{*ref}
	}
	return pod
}

// generatePrefix returns name plus a dash, shortened so that a generated
// suffix still fits a DNS subdomain, as upstream does.
func generatePrefix(name string) string {
	const maxNameLength, randomLength = 63, 5
	prefix := name + "-"
	if len(prefix) > maxNameLength-randomLength {
		prefix = prefix[:maxNameLength-randomLength]
	}
	return prefix
}

func (c clientPodControl) CreatePod(ctx context.Context, namespace string, template *corev1.PodTemplateSpec, object runtime.Object, ref *metav1.OwnerReference) error {
	pod := podFromTemplate(template, ref)
	if len(pod.Labels) == 0 {
		return fmt.Errorf("unable to create pods, no labels")
	}
	created, err := c.client.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		// A terminating namespace refuses pods; that is expected, not news.
		if !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			c.recorder.Eventf(object, corev1.EventTypeWarning, reasonFailedCreate, "Error creating: %v", err)
		}
		return err
	}
	c.recorder.Eventf(object, corev1.EventTypeNormal, reasonSuccessfulCreate, "Created pod: %v", created.Name)
	return nil
}

func (c clientPodControl) DeletePod(ctx context.Context, namespace, name string, object runtime.Object) error {
	err := c.client.CoreV1().Pods(namespace).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return err
		}
		c.recorder.Eventf(object, corev1.EventTypeWarning, reasonFailedDelete, "Error deleting: %v", err)
		return fmt.Errorf("delete pod %s/%s: %w", namespace, name, err)
	}
	c.recorder.Eventf(object, corev1.EventTypeNormal, reasonSuccessfulDelete, "Deleted pod: %v", name)
	return nil
}

func (c clientPodControl) PatchPod(ctx context.Context, namespace, name string, patch []byte) error {
	_, err := c.client.CoreV1().Pods(namespace).Patch(ctx, name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	return err
}
