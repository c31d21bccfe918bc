package daemonset

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
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
	reasonFailedDaemonPod  = "FailedDaemonPod"
)

// labelTemplateGeneration is the deprecated label upstream still sets on
// daemon pods.
const labelTemplateGeneration = "pod-template-generation"

// nodePods is the daemon pods of one node that are not being deleted,
// oldest first, and whether any is being deleted.
type nodePods struct {
	active      []*corev1.Pod
	terminating bool
}

// sync makes the pods of the DaemonSet named by key match its spec and
// the nodes, and writes its status.
func (c *Controller) sync(ctx context.Context, key string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil // a malformed key never becomes valid
	}
	cached, err := c.dsLister.DaemonSets(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		c.expectations.Forget(key)
		return nil
	}
	if err != nil {
		return err
	}
	ds := cached.DeepCopy()
	selector, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil || selector.Empty() {
		c.log.Info("Invalid selector", "key", key, "err", err)
		return nil
	}
	nodes, err := c.nodeLister.List(labels.Everything())
	if err != nil {
		return err
	}
	slices.SortFunc(nodes, func(a, b *corev1.Node) int { return compareStrings(a.Name, b.Name) })
	all, err := c.podLister.Pods(namespace).List(labels.Everything())
	if err != nil {
		return err
	}
	pods, err := c.claimPods(ctx, ds, selector, all)
	if err != nil {
		return err
	}
	revs, err := c.ownedRevisions(ds)
	if err != nil {
		return err
	}
	cur, hash, err := c.currentRevision(ctx, ds, revs)
	if errors.Is(err, history.ErrCollision) {
		st := ds.Status.DeepCopy()
		st.CollisionCount = history.NextCollisionCount(st.CollisionCount)
		return errors.Join(err, c.writeStatus(ctx, ds, st))
	}
	if err != nil {
		return err
	}
	byNode := groupByNode(pods)
	var manageErr error
	if ds.DeletionTimestamp == nil && c.expectations.Satisfied(key) {
		manageErr = c.manage(ctx, ds, nodes, byNode, hash)
		if manageErr == nil && c.expectations.Satisfied(key) &&
			ds.Spec.UpdateStrategy.Type == appsv1.RollingUpdateDaemonSetStrategyType {
			manageErr = c.rollingUpdate(ctx, ds, nodes, byNode, hash)
		}
	}
	st := calculateStatus(ds, nodes, byNode, hash, c.clock.Now())
	if err := c.writeStatus(ctx, ds, st); err != nil {
		return errors.Join(manageErr, err)
	}
	if manageErr != nil {
		return manageErr
	}
	if ds.Spec.MinReadySeconds > 0 && st.NumberAvailable < st.NumberReady {
		c.runner.EnqueueAfter(key, time.Duration(ds.Spec.MinReadySeconds)*time.Second)
	}
	return c.truncateHistory(ctx, ds, pods, revs, cur)
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// groupByNode maps node names to their daemon pods; pods for no node sit
// under "".
func groupByNode(pods []*corev1.Pod) map[string]*nodePods {
	out := map[string]*nodePods{}
	for _, p := range pods {
		n := nodeOfPod(p)
		np := out[n]
		if np == nil {
			np = &nodePods{}
			out[n] = np
		}
		if p.DeletionTimestamp != nil {
			np.terminating = true
			continue
		}
		np.active = append(np.active, p)
	}
	for _, np := range out {
		slices.SortStableFunc(np.active, func(a, b *corev1.Pod) int {
			return a.CreationTimestamp.Compare(b.CreationTimestamp.Time)
		})
	}
	return out
}

// claimPods returns the pods ds controls, adopting matching orphans and
// releasing owned pods that no longer match.
func (c *Controller) claimPods(ctx context.Context, ds *appsv1.DaemonSet, selector labels.Selector, all []*corev1.Pod) ([]*corev1.Pod, error) {
	claimer := controller.Claimer[*corev1.Pod]{
		Owner: ds,
		Ref:   *metav1.NewControllerRef(ds, controllerKind),
		What:  "pod",
		Match: func(pod *corev1.Pod) bool { return selector.Matches(labels.Set(pod.Labels)) },
		Patch: controller.PatchPods(c.client),
	}
	return claimer.Claim(ctx, all)
}

// surgeEnabled reports whether a rolling update may run two pods on a
// node, so that duplicates of different revisions are the rolling
// update's to resolve.
func surgeEnabled(ds *appsv1.DaemonSet, desired int) bool {
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType {
		return false
	}
	surge, _ := rollingLimits(ds, desired)
	return surge > 0
}

// manage creates the pods missing on nodes that should run one and
// deletes pods from nodes that should not, failed pods and duplicates.
func (c *Controller) manage(ctx context.Context, ds *appsv1.DaemonSet, nodes []*corev1.Node, byNode map[string]*nodePods, hash string) error {
	var (
		create  []string
		victims []*corev1.Pod
		known   = map[string]bool{}
		desired int
	)
	for _, n := range nodes {
		if run, _ := shouldRun(ds, n); run {
			desired++
		}
	}
	surge := surgeEnabled(ds, desired)
	for _, node := range nodes {
		known[node.Name] = true
		run, stay := shouldRun(ds, node)
		np := byNode[node.Name]
		if np == nil {
			np = &nodePods{}
		}
		switch {
		case run && len(np.active) == 0 && !np.terminating:
			create = append(create, node.Name)
		case stay:
			var running []*corev1.Pod
			for _, p := range np.active {
				if p.Status.Phase == corev1.PodFailed {
					c.recorder.Eventf(ds, corev1.EventTypeWarning, reasonFailedDaemonPod,
						"Found failed daemon pod %s/%s on node %s, will try to kill it", p.Namespace, p.Name, node.Name)
					victims = append(victims, p)
					continue
				}
				running = append(running, p)
			}
			victims = append(victims, duplicates(running, hash, surge)...)
		default:
			victims = append(victims, np.active...)
		}
	}
	for name, np := range byNode {
		if !known[name] {
			// The node is gone (or the pod names none): nothing will
			// ever run it.
			victims = append(victims, np.active...)
		}
	}
	return c.syncNodes(ctx, ds, create, victims, hash)
}

// duplicates returns the pods of one node beyond the one to keep (the
// oldest); with surge, the oldest updated and oldest old pod both stay.
func duplicates(running []*corev1.Pod, hash string, surge bool) []*corev1.Pod {
	if len(running) <= 1 {
		return nil
	}
	var out []*corev1.Pod
	if !surge {
		return append(out, running[1:]...)
	}
	var keptNew, keptOld bool
	for _, p := range running {
		isNew := p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == hash
		switch {
		case isNew && !keptNew:
			keptNew = true
		case !isNew && !keptOld:
			keptOld = true
		default:
			out = append(out, p)
		}
	}
	return out
}

// syncNodes creates a pod on each of create and deletes victims, having
// told the expectations first.
func (c *Controller) syncNodes(ctx context.Context, ds *appsv1.DaemonSet, create []string, victims []*corev1.Pod, hash string) error {
	if len(create) == 0 && len(victims) == 0 {
		return nil
	}
	key := ds.Namespace + "/" + ds.Name
	podKeys := make([]string, len(victims))
	for i, p := range victims {
		podKeys[i] = p.Namespace + "/" + p.Name
	}
	c.expectations.Expect(key, len(create), podKeys)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	sem := make(chan struct{}, 16)
	for _, node := range create {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := c.createPod(ctx, ds, node, hash); err != nil {
				c.expectations.CreationObserved(key)
				if !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
					fail(err)
				}
			}
		})
	}
	for i, p := range victims {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := c.removePod(ctx, ds, p); err != nil {
				c.expectations.DeletionObserved(key, podKeys[i])
				if !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
					fail(err)
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// newPod builds the daemon pod for node.
func newPod(ds *appsv1.DaemonSet, node, hash string) *corev1.Pod {
	t := ds.Spec.Template.DeepCopy()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName:    ds.Name + "-",
			Namespace:       ds.Namespace,
			Labels:          t.Labels,
			Annotations:     t.Annotations,
			Finalizers:      t.Finalizers,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ds, controllerKind)},
		},
		Spec: t.Spec,
	}
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] = hash
	pod.Labels[labelTemplateGeneration] = strconv.FormatInt(ds.Generation, 10)
	addDefaultTolerations(&pod.Spec)
	setNodeAffinity(&pod.Spec, node)
	return pod
}

func (c *Controller) createPod(ctx context.Context, ds *appsv1.DaemonSet, node, hash string) error {
	created, err := c.client.CoreV1().Pods(ds.Namespace).Create(ctx, newPod(ds, node, hash), metav1.CreateOptions{})
	if err != nil {
		if !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			c.recorder.Eventf(ds, corev1.EventTypeWarning, reasonFailedCreate, "Error creating: %v", err)
		}
		return fmt.Errorf("create pod of %s/%s for node %s: %w", ds.Namespace, ds.Name, node, err)
	}
	c.recorder.Eventf(ds, corev1.EventTypeNormal, reasonSuccessfulCreate, "Created pod: %v", created.Name)
	return nil
}

func (c *Controller) removePod(ctx context.Context, ds *appsv1.DaemonSet, pod *corev1.Pod) error {
	uid := pod.UID
	err := c.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return err
		}
		c.recorder.Eventf(ds, corev1.EventTypeWarning, reasonFailedDelete, "Error deleting: %v", err)
		return fmt.Errorf("delete pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	c.recorder.Eventf(ds, corev1.EventTypeNormal, reasonSuccessfulDelete, "Deleted pod: %v", pod.Name)
	return nil
}
