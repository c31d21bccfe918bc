package daemonset

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/controller/history"
)

// ownedRevisions returns the revisions ds controls, oldest first.
func (c *Controller) ownedRevisions(ds *appsv1.DaemonSet) ([]*appsv1.ControllerRevision, error) {
	return history.Owned(c.revLister, ds.Namespace, ds.UID)
}

// currentRevision returns the revision of ds's template and its hash,
// creating it, or renumbering an older equal one as the newest.
func (c *Controller) currentRevision(ctx context.Context, ds *appsv1.DaemonSet, revs []*appsv1.ControllerRevision) (*appsv1.ControllerRevision, string, error) {
	want, err := history.New(ds, controllerKind, &ds.Spec.Template, ds.Spec.Selector, ds.Status.CollisionCount, appsv1.DefaultDaemonSetUniqueLabelKey)
	if err != nil {
		return nil, "", err
	}
	// Upstream copies the DaemonSet's annotations (change-cause among
	// them) so that kubectl rollout history can show them.
	want.Annotations = ds.Annotations
	cur, err := history.Ensure(ctx, c.client, revs, want, &ds.Spec.Template)
	if err != nil {
		return nil, "", err
	}
	return cur, cur.Labels[appsv1.DefaultDaemonSetUniqueLabelKey], nil
}

// truncateHistory deletes the oldest revisions no pod uses beyond
// spec.revisionHistoryLimit.
func (c *Controller) truncateHistory(ctx context.Context, ds *appsv1.DaemonSet, pods []*corev1.Pod, revs []*appsv1.ControllerRevision, cur *appsv1.ControllerRevision) error {
	live := map[string]bool{}
	for _, p := range pods {
		live[p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]] = true
	}
	var old []*appsv1.ControllerRevision
	for _, r := range revs {
		if r.Name != cur.Name && !live[r.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]] {
			old = append(old, r)
		}
	}
	return history.Truncate(ctx, c.client, ds.Namespace, old, ds.Spec.RevisionHistoryLimit)
}
