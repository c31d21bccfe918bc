package daemonset

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// calculateStatus counts, over nodes, where ds should run (desired),
// where it runs and should (current), where it runs and should not
// (misscheduled), and the ready, available and updated pods among the
// desired nodes (one pod per node: the old one during a surge).
func calculateStatus(ds *appsv1.DaemonSet, nodes []*corev1.Node, byNode map[string]*nodePods, hash string, now time.Time) *appsv1.DaemonSetStatus {
	st := ds.Status.DeepCopy()
	st.ObservedGeneration = ds.Generation
	var desired, current, misscheduled, ready, available, updated int32
	for _, n := range nodes {
		run, _ := shouldRun(ds, n)
		np := byNode[n.Name]
		has := np != nil && len(np.active) > 0
		switch {
		case run:
			desired++
			if !has {
				continue
			}
			current++
			// The old pod speaks for the node while it runs, as the oldest
			// does upstream: during a surge it keeps the node available
			// and not yet updated. (Creation times have one-second
			// resolution, so the revision, not the age, tells them apart.)
			p := np.active[0]
			if cur, old := split(np, hash); old != nil {
				p = old
			} else if cur != nil {
				p = cur
			}
			if podReady(p) {
				ready++
				if isAvailable(p, ds.Spec.MinReadySeconds, now) {
					available++
				}
			}
			if p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == hash {
				updated++
			}
		case has:
			misscheduled++
		}
	}
	st.DesiredNumberScheduled = desired
	st.CurrentNumberScheduled = current
	st.NumberMisscheduled = misscheduled
	st.NumberReady = ready
	st.NumberAvailable = available
	st.UpdatedNumberScheduled = updated
	st.NumberUnavailable = max(desired-available, 0)
	return st
}

// writeStatus writes st unless the DaemonSet already has it.
func (c *Controller) writeStatus(ctx context.Context, ds *appsv1.DaemonSet, st *appsv1.DaemonSetStatus) error {
	if equality.Semantic.DeepEqual(ds.Status, *st) {
		return nil
	}
	fresh := ds.DeepCopy()
	fresh.Status = *st
	if _, err := c.client.AppsV1().DaemonSets(ds.Namespace).UpdateStatus(ctx, fresh, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update status of daemonset %s/%s: %w", ds.Namespace, ds.Name, err)
	}
	return nil
}
