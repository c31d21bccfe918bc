package statefulset

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff/skiff/internal/controller"
	"github.com/skiff/skiff/internal/controller/history"
)

// Event reasons, as upstream records them.
const (
	reasonSuccessfulCreate = "SuccessfulCreate"
	reasonFailedCreate     = "FailedCreate"
	reasonSuccessfulDelete = "SuccessfulDelete"
	reasonFailedDelete     = "FailedDelete"
	reasonRecreatingFailed = "RecreatingFailedPod"
)

// sync makes the pods, claims and revisions of the set named by key match
// its spec and writes its status.
func (c *Controller) sync(ctx context.Context, key string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil // a malformed key never becomes valid
	}
	cached, err := c.setLister.StatefulSets(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	set := cached.DeepCopy()
	selector, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
	if err != nil || selector.Empty() {
		c.log.Info("Invalid selector", "key", key, "err", err)
		return nil
	}
	all, err := c.podLister.Pods(namespace).List(labels.Everything())
	if err != nil {
		return err
	}
	pods, err := c.claimPods(ctx, set, selector, all)
	if err != nil {
		return err
	}
	revs, err := c.ownedRevisions(set)
	if err != nil {
		return err
	}
	current, update, err := c.revisions(ctx, set, revs)
	if errors.Is(err, history.ErrCollision) {
		st := set.Status.DeepCopy()
		st.CollisionCount = history.NextCollisionCount(st.CollisionCount)
		if werr := c.writeStatus(ctx, set, st); werr != nil {
			return werr
		}
		return err
	}
	if err != nil {
		return err
	}
	var manageErr error
	if set.DeletionTimestamp == nil {
		manageErr = c.manage(ctx, set, pods, current, update)
	}
	// Status is computed from the cache; the pods just changed come back
	// through the informer and another sync.
	st := calculateStatus(set, pods, current, update, c.clock.Now())
	if err := c.writeStatus(ctx, set, st); err != nil {
		return errors.Join(manageErr, err)
	}
	if manageErr != nil {
		return manageErr
	}
	if set.Spec.MinReadySeconds > 0 && st.AvailableReplicas < st.ReadyReplicas {
		c.runner.EnqueueAfter(key, time.Duration(set.Spec.MinReadySeconds)*time.Second)
	}
	return c.truncateHistory(ctx, set, pods, revs, current, update)
}

// claimPods returns the pods set controls, adopting orphans that match
// its selector and name pattern and releasing owned pods that no longer
// match.
func (c *Controller) claimPods(ctx context.Context, set *appsv1.StatefulSet, selector labels.Selector, all []*corev1.Pod) ([]*corev1.Pod, error) {
	claimer := controller.Claimer[*corev1.Pod]{
		Owner: set,
		Ref:   *metav1.NewControllerRef(set, controllerKind),
		What:  "pod",
		Match: func(pod *corev1.Pod) bool { return selector.Matches(labels.Set(pod.Labels)) && isMemberOf(set, pod) },
		Patch: controller.PatchPods(c.client),
	}
	return claimer.Claim(ctx, all)
}

// revisionForOrdinal returns the revision a new pod of ordinal gets: the
// current one below the partition (or, without a partition, below
// status.currentReplicas during a rolling update), else the update one.
func revisionForOrdinal(set *appsv1.StatefulSet, ordinal int, current, update *appsv1.ControllerRevision) *appsv1.ControllerRevision {
	if set.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		// Under OnDelete a deleted pod comes back with the update
		// revision, as upstream.
		return update
	}
	limit := startOrdinal(set) + int(set.Status.CurrentReplicas)
	if ru := set.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
		limit = startOrdinal(set) + int(*ru.Partition)
	}
	if ordinal < limit {
		return current
	}
	return update
}

// manage moves the set's pods one step toward the spec. pods are the
// claimed pods.
func (c *Controller) manage(ctx context.Context, set *appsv1.StatefulSet, pods []*corev1.Pod, current, update *appsv1.ControllerRevision) error {
	ordered := set.Spec.PodManagementPolicy != appsv1.ParallelPodManagement
	start, n := startOrdinal(set), replicasOf(set)
	slots := make([]*corev1.Pod, n)
	var condemned []*corev1.Pod
	for _, p := range pods {
		ord := ordinalOf(p)
		if inRange(set, ord) {
			slots[ord-start] = p
		} else if ord >= 0 {
			condemned = append(condemned, p)
		}
	}
	// Highest ordinal first: the order in which they go.
	slices.SortFunc(condemned, func(a, b *corev1.Pod) int { return ordinalOf(b) - ordinalOf(a) })

	templates := map[string]*corev1.PodTemplateSpec{}
	templateFor := func(rev *appsv1.ControllerRevision) (*corev1.PodTemplateSpec, error) {
		if t, ok := templates[rev.Name]; ok {
			return t, nil
		}
		if rev == update {
			templates[rev.Name] = &set.Spec.Template
			return &set.Spec.Template, nil
		}
		t, err := history.Template(rev)
		if err != nil {
			return nil, err
		}
		templates[rev.Name] = t
		return t, nil
	}

	if err := c.applyRetentionPolicy(ctx, set, pods); err != nil {
		return err
	}

	var errs []error
	for i, pod := range slots {
		ord := start + i
		if pod != nil && isFailed(pod) && !isTerminating(pod) {
			c.recorder.Eventf(set, corev1.EventTypeWarning, reasonRecreatingFailed,
				"StatefulSet %s/%s is recreating failed Pod %s", set.Namespace, set.Name, pod.Name)
			if err := c.removePod(ctx, set, pod); err != nil {
				return err
			}
			if ordered {
				return nil
			}
			continue
		}
		if pod == nil {
			rev := revisionForOrdinal(set, ord, current, update)
			t, err := templateFor(rev)
			if err != nil {
				return err
			}
			if err := c.createClaims(ctx, set, ord); err != nil {
				errs = append(errs, err)
				if ordered {
					return errors.Join(errs...)
				}
				continue
			}
			if err := c.createPod(ctx, set, newPod(set, t, ord, rev.Name)); err != nil {
				errs = append(errs, err)
			}
			if ordered {
				return errors.Join(errs...)
			}
			continue
		}
		if isTerminating(pod) {
			if ordered {
				return nil // it comes back once gone
			}
			continue
		}
		if !identityMatches(set, pod) {
			fixed := pod.DeepCopy()
			setIdentity(set, fixed, ord)
			if _, err := c.client.CoreV1().Pods(set.Namespace).Update(ctx, fixed, metav1.UpdateOptions{}); err != nil {
				errs = append(errs, fmt.Errorf("update pod %s/%s: %w", fixed.Namespace, fixed.Name, err))
			}
		}
		if ordered && !isHealthy(pod) {
			return errors.Join(errs...)
		}
		if ordered && !isAvailable(pod, set.Spec.MinReadySeconds, c.clock.Now()) {
			return errors.Join(errs...)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}

	for _, pod := range condemned {
		if isTerminating(pod) {
			if ordered {
				return nil
			}
			continue
		}
		// OrderedReady scales down only while every remaining pod is
		// healthy, one pod at a time.
		if ordered && !allHealthy(slots, condemned, pod) {
			return nil
		}
		if err := c.removePod(ctx, set, pod); err != nil {
			return err
		}
		if ordered {
			return nil
		}
	}

	if set.Spec.UpdateStrategy.Type != appsv1.RollingUpdateStatefulSetStrategyType {
		return nil
	}
	partition := 0
	if ru := set.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
		partition = int(*ru.Partition)
	}
	for i := len(slots) - 1; i >= partition; i-- {
		pod := slots[i]
		if pod == nil {
			return nil
		}
		if revisionOf(pod) != update.Name && !isTerminating(pod) {
			return c.removePod(ctx, set, pod)
		}
		if !isHealthy(pod) {
			return nil // wait for the replacement before the next
		}
	}
	return nil
}

// allHealthy reports whether every pod in slots and condemned other than
// except exists and is healthy.
func allHealthy(slots, condemned []*corev1.Pod, except *corev1.Pod) bool {
	for _, p := range slots {
		if p == nil || !isHealthy(p) {
			return false
		}
	}
	for _, p := range condemned {
		if p != except && !isHealthy(p) {
			return false
		}
	}
	return true
}

func (c *Controller) createPod(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	_, err := c.client.CoreV1().Pods(set.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create pod %s/%s: %w", pod.Namespace, pod.Name, err) // the cache is behind: retry
	}
	if err != nil {
		c.recorder.Eventf(set, corev1.EventTypeWarning, reasonFailedCreate,
			"create Pod %s in StatefulSet %s failed error: %v", pod.Name, set.Name, err)
		return fmt.Errorf("create pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	c.recorder.Eventf(set, corev1.EventTypeNormal, reasonSuccessfulCreate,
		"create Pod %s in StatefulSet %s successful", pod.Name, set.Name)
	return nil
}

// removePod deletes pod with a UID precondition, so that a stale cache
// never deletes its successor of the same name.
func (c *Controller) removePod(ctx context.Context, set *appsv1.StatefulSet, pod *corev1.Pod) error {
	uid := pod.UID
	err := c.client.CoreV1().Pods(set.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	if err != nil {
		c.recorder.Eventf(set, corev1.EventTypeWarning, reasonFailedDelete,
			"delete Pod %s in StatefulSet %s failed error: %v", pod.Name, set.Name, err)
		return fmt.Errorf("delete pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	c.recorder.Eventf(set, corev1.EventTypeNormal, reasonSuccessfulDelete,
		"delete Pod %s in StatefulSet %s successful", pod.Name, set.Name)
	return nil
}

// createClaims creates the missing claims of ordinal.
func (c *Controller) createClaims(ctx context.Context, set *appsv1.StatefulSet, ordinal int) error {
	for i := range set.Spec.VolumeClaimTemplates {
		t := &set.Spec.VolumeClaimTemplates[i]
		name := claimName(set, t, ordinal)
		if _, err := c.pvcLister.PersistentVolumeClaims(set.Namespace).Get(name); err == nil {
			continue
		}
		pvc := newClaim(set, t, ordinal)
		if deleteWhen(set).WhenDeleted == appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
			pvc.OwnerReferences = []metav1.OwnerReference{setOwnerRef(set)}
		}
		_, err := c.client.CoreV1().PersistentVolumeClaims(set.Namespace).Create(ctx, pvc, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			continue
		}
		podName := podName(set, ordinal)
		if err != nil {
			c.recorder.Eventf(set, corev1.EventTypeWarning, reasonFailedCreate,
				"create Claim %s for Pod %s in StatefulSet %s failed error: %v", name, podName, set.Name, err)
			return fmt.Errorf("create claim %s/%s: %w", set.Namespace, name, err)
		}
		c.recorder.Eventf(set, corev1.EventTypeNormal, reasonSuccessfulCreate,
			"create Claim %s Pod %s in StatefulSet %s success", name, podName, set.Name)
	}
	return nil
}

func deleteWhen(set *appsv1.StatefulSet) appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy {
	p := appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
		WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
	}
	if r := set.Spec.PersistentVolumeClaimRetentionPolicy; r != nil {
		if r.WhenDeleted != "" {
			p.WhenDeleted = r.WhenDeleted
		}
		if r.WhenScaled != "" {
			p.WhenScaled = r.WhenScaled
		}
	}
	return p
}

// setOwnerRef is the non-controller owner reference a claim gets when it
// must go with the set.
func setOwnerRef(set *appsv1.StatefulSet) metav1.OwnerReference {
	r := metav1.NewControllerRef(set, controllerKind)
	r.Controller, r.BlockOwnerDeletion = nil, nil
	return *r
}

// applyRetentionPolicy keeps the owner references of the set's claims in
// line with persistentVolumeClaimRetentionPolicy: owned by the set when
// whenDeleted is Delete, and by their condemned pod when whenScaled is
// Delete, so that the garbage collector removes them.
func (c *Controller) applyRetentionPolicy(ctx context.Context, set *appsv1.StatefulSet, pods []*corev1.Pod) error {
	policy := deleteWhen(set)
	var errs []error
	for _, pod := range pods {
		ord := ordinalOf(pod)
		for i := range set.Spec.VolumeClaimTemplates {
			name := claimName(set, &set.Spec.VolumeClaimTemplates[i], ord)
			pvc, err := c.pvcLister.PersistentVolumeClaims(set.Namespace).Get(name)
			if err != nil {
				continue
			}
			var want []metav1.OwnerReference
			for _, r := range pvc.OwnerReferences {
				if r.UID != set.UID && r.UID != pod.UID {
					want = append(want, r)
				}
			}
			if policy.WhenDeleted == appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
				want = append(want, setOwnerRef(set))
			}
			if !inRange(set, ord) && policy.WhenScaled == appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
				want = append(want, metav1.OwnerReference{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID})
			}
			if sameRefs(pvc.OwnerReferences, want) {
				continue
			}
			fresh := pvc.DeepCopy()
			fresh.OwnerReferences = want
			if _, err := c.client.CoreV1().PersistentVolumeClaims(set.Namespace).Update(ctx, fresh, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("update claim %s/%s: %w", set.Namespace, name, err))
			}
		}
	}
	return errors.Join(errs...)
}

func sameRefs(a, b []metav1.OwnerReference) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.ContainsFunc(b, func(y metav1.OwnerReference) bool { return x.UID == y.UID }) {
			return false
		}
	}
	return true
}
