package nodelifecycle

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Upstream's reasons and messages for conditions the controller owns.
const (
	reasonUnknown      = "NodeStatusUnknown"
	messageUnknown     = "Kubelet stopped posting node status."
	reasonNeverUpdated = "NodeStatusNeverUpdated"
	messageNeverUpdate = "Kubelet never posted node status."
)

// monitoredConditions are set to Unknown when a node goes silent.
var monitoredConditions = []corev1.NodeConditionType{
	corev1.NodeReady, corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure,
}

// condition returns the condition of type t, or nil.
func condition(st *corev1.NodeStatus, t corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

// readyStatus is the status of the node's Ready condition (Unknown when
// it has none).
func readyStatus(n *corev1.Node) corev1.ConditionStatus {
	if c := condition(&n.Status, corev1.NodeReady); c != nil {
		return c.Status
	}
	return corev1.ConditionUnknown
}

// markUnknown sets the monitored conditions of node to Unknown, keeping
// heartbeat times, and reports whether anything changed.
func markUnknown(node *corev1.Node, now time.Time) bool {
	changed := false
	t := metav1.NewTime(now)
	for _, ct := range monitoredConditions {
		c := condition(&node.Status, ct)
		if c == nil {
			node.Status.Conditions = append(node.Status.Conditions, corev1.NodeCondition{
				Type: ct, Status: corev1.ConditionUnknown, Reason: reasonNeverUpdated, Message: messageNeverUpdate,
				LastHeartbeatTime: node.CreationTimestamp, LastTransitionTime: t,
			})
			changed = true
			continue
		}
		if c.Status == corev1.ConditionUnknown {
			continue
		}
		c.Status, c.Reason, c.Message, c.LastTransitionTime = corev1.ConditionUnknown, reasonUnknown, messageUnknown, t
		changed = true
	}
	return changed
}

// Taints the controller owns.
var (
	unreachableNoExecute = corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoExecute}
	notReadyNoExecute    = corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute}
	// noScheduleTaints maps a condition and status to its taint.
	noScheduleTaints = []struct {
		cond   corev1.NodeConditionType
		status corev1.ConditionStatus
		key    string
	}{
		{corev1.NodeReady, corev1.ConditionFalse, corev1.TaintNodeNotReady},
		{corev1.NodeReady, corev1.ConditionUnknown, corev1.TaintNodeUnreachable},
		{corev1.NodeMemoryPressure, corev1.ConditionTrue, corev1.TaintNodeMemoryPressure},
		{corev1.NodeDiskPressure, corev1.ConditionTrue, corev1.TaintNodeDiskPressure},
		{corev1.NodePIDPressure, corev1.ConditionTrue, corev1.TaintNodePIDPressure},
		{corev1.NodeNetworkUnavailable, corev1.ConditionTrue, corev1.TaintNodeNetworkUnavailable},
	}
)

// ownedNoSchedule reports whether t is a NoSchedule taint the controller
// manages.
func ownedNoSchedule(t corev1.Taint) bool {
	if t.Effect != corev1.TaintEffectNoSchedule {
		return false
	}
	if t.Key == corev1.TaintNodeUnschedulable {
		return true
	}
	for _, m := range noScheduleTaints {
		if m.key == t.Key {
			return true
		}
	}
	return false
}

// ownedNoExecute reports whether t is a NoExecute taint the controller
// manages.
func ownedNoExecute(t corev1.Taint) bool {
	return t.Effect == corev1.TaintEffectNoExecute && (t.Key == corev1.TaintNodeUnreachable || t.Key == corev1.TaintNodeNotReady)
}

// wantNoSchedule returns the NoSchedule taints node's conditions and
// spec.unschedulable call for.
func wantNoSchedule(node *corev1.Node) []corev1.Taint {
	var out []corev1.Taint
	for _, m := range noScheduleTaints {
		st := corev1.ConditionUnknown
		c := condition(&node.Status, m.cond)
		if c != nil {
			st = c.Status
		} else if m.cond != corev1.NodeReady {
			continue
		}
		if st == m.status {
			out = append(out, corev1.Taint{Key: m.key, Effect: corev1.TaintEffectNoSchedule})
		}
	}
	if node.Spec.Unschedulable {
		out = append(out, corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule})
	}
	return out
}

// wantNoExecute returns the NoExecute taint the Ready condition calls
// for, or nil.
func wantNoExecute(node *corev1.Node) *corev1.Taint {
	// A node that has not posted a Ready condition yet (just registered)
	// says nothing about itself: no taint until the monitor marks it
	// Unknown after the grace period, counted from its creation.
	if condition(&node.Status, corev1.NodeReady) == nil {
		return nil
	}
	switch readyStatus(node) {
	case corev1.ConditionFalse:
		t := notReadyNoExecute
		return &t
	case corev1.ConditionUnknown:
		t := unreachableNoExecute
		return &t
	}
	return nil
}

// hasTaint reports whether taints hold one with t's key and effect.
func hasTaint(taints []corev1.Taint, t corev1.Taint) bool {
	for _, x := range taints {
		if x.Key == t.Key && x.Effect == t.Effect {
			return true
		}
	}
	return false
}

// reconcileTaints returns node's taints with the owned ones of kind
// (selected by owned) replaced by want, keeping existing entries (and
// their timeAdded) and stamping new NoExecute ones with now; it reports
// whether anything changed.
func reconcileTaints(cur []corev1.Taint, owned func(corev1.Taint) bool, want []corev1.Taint, now time.Time) ([]corev1.Taint, bool) {
	var out []corev1.Taint
	changed := false
	for _, t := range cur {
		if owned(t) && !hasTaint(want, t) {
			changed = true
			continue
		}
		out = append(out, t)
	}
	for _, t := range want {
		if hasTaint(out, t) {
			continue
		}
		if t.Effect == corev1.TaintEffectNoExecute {
			ts := metav1.NewTime(now)
			t.TimeAdded = &ts
		}
		out = append(out, t)
		changed = true
	}
	return out, changed
}
