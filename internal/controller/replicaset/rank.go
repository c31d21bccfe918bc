package replicaset

import (
	"math"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podDeletionCostAnnotation lets users say which pods go first on scale
// down (lower cost first).
const podDeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

// isPodActive reports whether pod counts toward replicas: not finished
// and not being deleted.
func isPodActive(p *corev1.Pod) bool {
	return p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed && p.DeletionTimestamp == nil
}

func filterActivePods(pods []*corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if isPodActive(p) {
			out = append(out, p)
		}
	}
	return out
}

// podReadyCondition returns pod's Ready condition, or nil.
func podReadyCondition(p *corev1.Pod) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodReady {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// isPodReady reports whether pod's Ready condition is True.
func isPodReady(p *corev1.Pod) bool {
	c := podReadyCondition(p)
	return c != nil && c.Status == corev1.ConditionTrue
}

// isPodAvailable reports whether pod has been ready for at least
// minReadySeconds at now.
func isPodAvailable(p *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	c := podReadyCondition(p)
	if c == nil || c.Status != corev1.ConditionTrue {
		return false
	}
	if minReadySeconds == 0 {
		return true
	}
	min := time.Duration(minReadySeconds) * time.Second
	return !c.LastTransitionTime.IsZero() && c.LastTransitionTime.Add(min).Before(now)
}

var phaseOrder = map[corev1.PodPhase]int{corev1.PodPending: 0, corev1.PodUnknown: 1, corev1.PodRunning: 2}

// rankedPods orders pods so that the ones to delete first come first,
// with upstream's ActivePodsWithRanks criteria in order: unassigned before
// assigned; Pending, then Unknown, then Running; not ready before ready;
// lower deletion cost first; more co-located related pods (rank) first;
// ready for less time first; more container restarts first; newer first.
// Times compare in log2 buckets of their age so that pods of similar age
// count as equal, and ties break on UID.
type rankedPods struct {
	pods []*corev1.Pod
	rank []int
	now  time.Time
}

func (s rankedPods) Len() int { return len(s.pods) }

func (s rankedPods) Swap(i, j int) {
	s.pods[i], s.pods[j] = s.pods[j], s.pods[i]
	s.rank[i], s.rank[j] = s.rank[j], s.rank[i]
}

func (s rankedPods) Less(i, j int) bool {
	a, b := s.pods[i], s.pods[j]
	if a.Spec.NodeName != b.Spec.NodeName && (a.Spec.NodeName == "" || b.Spec.NodeName == "") {
		return a.Spec.NodeName == ""
	}
	if pa, pb := phaseOrder[a.Status.Phase], phaseOrder[b.Status.Phase]; pa != pb {
		return pa < pb
	}
	ra, rb := isPodReady(a), isPodReady(b)
	if ra != rb {
		return !ra
	}
	if ca, cb := deletionCost(a), deletionCost(b); ca != cb {
		return ca < cb
	}
	if s.rank[i] != s.rank[j] {
		return s.rank[i] > s.rank[j]
	}
	if ra && rb {
		ta, tb := readyTime(a), readyTime(b)
		if !ta.Equal(&tb) {
			if d := s.ageBucket(ta) - s.ageBucket(tb); d != 0 {
				return d < 0
			}
		}
	}
	if ma, mb := maxRestarts(a), maxRestarts(b); ma != mb {
		return ma > mb
	}
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		if d := s.ageBucket(a.CreationTimestamp) - s.ageBucket(b.CreationTimestamp); d != 0 {
			return d < 0
		}
	}
	return a.UID < b.UID
}

// ageBucket is floor(log2(age in ns)), or -1 for a zero or future time:
// younger pods have smaller buckets and are preferred for deletion.
func (s rankedPods) ageBucket(t metav1.Time) int {
	if t.IsZero() {
		return -1
	}
	d := s.now.Sub(t.Time)
	if d <= 0 {
		return -1
	}
	return int(math.Floor(math.Log2(float64(d))))
}

func readyTime(p *corev1.Pod) metav1.Time {
	if c := podReadyCondition(p); c != nil && c.Status == corev1.ConditionTrue {
		return c.LastTransitionTime
	}
	return metav1.Time{}
}

func maxRestarts(p *corev1.Pod) int32 {
	var m int32
	for _, cs := range p.Status.ContainerStatuses {
		m = max(m, cs.RestartCount)
	}
	return m
}

func deletionCost(p *corev1.Pod) int32 {
	v, ok := p.Annotations[podDeletionCostAnnotation]
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0 // the API server validates it; treat garbage as neutral
	}
	return int32(n)
}

// podsToDelete returns the n pods of filtered to delete first. related
// are the active pods of the owner and its siblings: a pod sharing its
// node with more of them ranks earlier, spreading what remains.
func podsToDelete(filtered, related []*corev1.Pod, n int, now time.Time) []*corev1.Pod {
	if n >= len(filtered) {
		return filtered
	}
	perNode := map[string]int{}
	for _, p := range related {
		if p.Spec.NodeName != "" {
			perNode[p.Spec.NodeName]++
		}
	}
	s := rankedPods{pods: append([]*corev1.Pod(nil), filtered...), rank: make([]int, len(filtered)), now: now}
	for i, p := range s.pods {
		if p.Spec.NodeName != "" {
			s.rank[i] = perNode[p.Spec.NodeName]
		}
	}
	sort.Sort(s)
	return s.pods[:n]
}
