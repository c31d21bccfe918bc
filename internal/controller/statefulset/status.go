package statefulset

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// calculateStatus counts set's pods as seen in the cache: every created
// pod is a replica; ready, available, current and updated ones as their
// names say. When a rolling update has replaced and readied every
// replica, the update revision becomes the current one.
func calculateStatus(set *appsv1.StatefulSet, pods []*corev1.Pod, current, update *appsv1.ControllerRevision, now time.Time) *appsv1.StatefulSetStatus {
	st := set.Status.DeepCopy()
	st.ObservedGeneration = set.Generation
	st.CurrentRevision = current.Name
	st.UpdateRevision = update.Name
	st.Replicas, st.ReadyReplicas, st.AvailableReplicas, st.CurrentReplicas, st.UpdatedReplicas = 0, 0, 0, 0, 0
	for _, p := range pods {
		if isTerminating(p) {
			continue
		}
		st.Replicas++
		if p.Status.Phase == corev1.PodRunning && podReady(p) {
			st.ReadyReplicas++
			if isAvailable(p, set.Spec.MinReadySeconds, now) {
				st.AvailableReplicas++
			}
		}
		if revisionOf(p) == current.Name {
			st.CurrentReplicas++
		}
		if revisionOf(p) == update.Name {
			st.UpdatedReplicas++
		}
	}
	want := int32(replicasOf(set))
	if set.Spec.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType &&
		st.Replicas == want && st.UpdatedReplicas == want && st.ReadyReplicas == want {
		st.CurrentRevision = update.Name
		st.CurrentReplicas = st.UpdatedReplicas
	}
	if set.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType &&
		st.Replicas == want && st.UpdatedReplicas == want {
		st.CurrentRevision = update.Name
		st.CurrentReplicas = st.UpdatedReplicas
	}
	return st
}

// writeStatus writes st unless the set already has it.
func (c *Controller) writeStatus(ctx context.Context, set *appsv1.StatefulSet, st *appsv1.StatefulSetStatus) error {
	if equality.Semantic.DeepEqual(set.Status, *st) {
		return nil
	}
	fresh := set.DeepCopy()
	fresh.Status = *st
	if _, err := c.client.AppsV1().StatefulSets(set.Namespace).UpdateStatus(ctx, fresh, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update status of statefulset %s/%s: %w", set.Namespace, set.Name, err)
	}
	return nil
}
