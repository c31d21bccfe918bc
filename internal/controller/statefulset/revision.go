package statefulset

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/controller/history"
)

// labelRevisionHash labels a ControllerRevision with its hash, as
// upstream's history package does.
const labelRevisionHash = "controller.kubernetes.io/hash"

// ownedRevisions returns the revisions set controls, oldest first.
func (c *Controller) ownedRevisions(set *appsv1.StatefulSet) ([]*appsv1.ControllerRevision, error) {
	return history.Owned(c.revLister, set.Namespace, set.UID)
}

// revisions returns set's current and update revisions, creating the
// update revision (or renumbering an older equal one, on a rollback) when
// the template changed. revs are the owned revisions, oldest first.
func (c *Controller) revisions(ctx context.Context, set *appsv1.StatefulSet, revs []*appsv1.ControllerRevision) (current, update *appsv1.ControllerRevision, err error) {
	want, err := history.New(set, controllerKind, &set.Spec.Template, set.Spec.Selector, set.Status.CollisionCount, labelRevisionHash)
	if err != nil {
		return nil, nil, err
	}
	update, err = history.Ensure(ctx, c.client, revs, want, &set.Spec.Template)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range revs {
		if r.Name == set.Status.CurrentRevision {
			current = r
		}
	}
	if current == nil {
		current = update
	}
	return current, update, nil
}

// truncateHistory deletes the oldest revisions that no pod uses and that
// are neither current nor update, beyond spec.revisionHistoryLimit.
func (c *Controller) truncateHistory(ctx context.Context, set *appsv1.StatefulSet, pods []*corev1.Pod, revs []*appsv1.ControllerRevision, current, update *appsv1.ControllerRevision) error {
	live := map[string]bool{current.Name: true, update.Name: true}
	for _, p := range pods {
		live[revisionOf(p)] = true
	}
	var old []*appsv1.ControllerRevision
	for _, r := range revs {
		if !live[r.Name] {
			old = append(old, r)
		}
	}
	return history.Truncate(ctx, c.client, set.Namespace, old, set.Spec.RevisionHistoryLimit)
}
