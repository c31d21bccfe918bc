package daemonset

import (
	"context"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// rollingLimits resolves maxSurge and maxUnavailable against desired
// (percentages round up, as upstream); when both come to zero
// maxUnavailable is 1 so that the update can progress.
func rollingLimits(ds *appsv1.DaemonSet, desired int) (surge, unavailable int) {
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ru == nil {
		return 0, 1
	}
	scaled := func(v *intstr.IntOrString, def int) int {
		if v == nil {
			return def
		}
		n, err := intstr.GetScaledValueFromIntOrPercent(v, desired, true)
		if err != nil {
			return def
		}
		return n
	}
	surge = scaled(ru.MaxSurge, 0)
	unavailable = scaled(ru.MaxUnavailable, 1)
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return surge, unavailable
}

// split returns the newest-revision pod and an old pod of a node, if
// any.
func split(np *nodePods, hash string) (cur, old *corev1.Pod) {
	if np == nil {
		return nil, nil
	}
	for _, p := range np.active {
		if p.Status.Phase == corev1.PodFailed {
			continue
		}
		if p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == hash {
			if cur == nil {
				cur = p
			}
		} else if old == nil {
			old = p
		}
	}
	return cur, old
}

// rollingUpdate replaces old pods by new ones. Without surge it deletes
// old pods (manage then creates their successors) while no more than
// maxUnavailable nodes lack an available pod; old pods already
// unavailable go at once. With surge it starts new pods beside old ones,
// at most maxSurge at a time (at once where the old pod is unavailable),
// and deletes each old pod when its successor is available.
func (c *Controller) rollingUpdate(ctx context.Context, ds *appsv1.DaemonSet, nodes []*corev1.Node, byNode map[string]*nodePods, hash string) error {
	now := c.clock.Now()
	var want []*corev1.Node
	for _, n := range nodes {
		if run, _ := shouldRun(ds, n); run {
			want = append(want, n)
		}
	}
	maxSurge, maxUnavailable := rollingLimits(ds, len(want))
	var (
		victims  []*corev1.Pod
		create   []string
		waiting  []*corev1.Pod // old and available: deleted within budget
		surgeFor []string      // nodes where a new pod may surge
		busy     int           // unavailable nodes, or surges in flight
	)
	for _, n := range want {
		cur, old := split(byNode[n.Name], hash)
		if maxSurge == 0 {
			switch {
			case cur == nil && old == nil:
				busy++
			case cur != nil:
				if !isAvailable(cur, ds.Spec.MinReadySeconds, now) {
					busy++
				}
			case !isAvailable(old, ds.Spec.MinReadySeconds, now):
				busy++
				victims = append(victims, old)
			default:
				waiting = append(waiting, old)
			}
			continue
		}
		switch {
		case old == nil:
		case cur == nil && !isAvailable(old, ds.Spec.MinReadySeconds, now):
			create = append(create, n.Name)
		case cur == nil:
			surgeFor = append(surgeFor, n.Name)
		case isAvailable(cur, ds.Spec.MinReadySeconds, now):
			victims = append(victims, old)
		default:
			busy++
		}
	}
	if maxSurge == 0 {
		for _, p := range waiting {
			if busy >= maxUnavailable {
				break
			}
			victims = append(victims, p)
			busy++
		}
	} else {
		for _, n := range surgeFor {
			if busy >= maxSurge {
				break
			}
			create = append(create, n)
			busy++
		}
	}
	return c.syncNodes(ctx, ds, create, victims, hash)
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// isAvailable reports whether pod has been ready for minReadySeconds.
func isAvailable(pod *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	if pod.DeletionTimestamp != nil {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return minReadySeconds == 0 ||
				(!c.LastTransitionTime.IsZero() && c.LastTransitionTime.Add(time.Duration(minReadySeconds)*time.Second).Before(now))
		}
	}
	return false
}
