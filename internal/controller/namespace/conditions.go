package namespace

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

// conditionTypes are the namespace conditions this controller owns, in
// the order upstream writes them.
var conditionTypes = []corev1.NamespaceConditionType{
	corev1.NamespaceDeletionDiscoveryFailure,
	corev1.NamespaceDeletionGVParsingFailure,
	corev1.NamespaceDeletionContentFailure,
	corev1.NamespaceContentRemaining,
	corev1.NamespaceFinalizersRemaining,
}

// okReasons and okMessages are upstream's wording for a condition that is
// False (all is well).
var (
	okReasons = map[corev1.NamespaceConditionType]string{
		corev1.NamespaceDeletionDiscoveryFailure: "ResourcesDiscovered",
		corev1.NamespaceDeletionGVParsingFailure: "ParsedGroupVersions",
		corev1.NamespaceDeletionContentFailure:   "ContentDeleted",
		corev1.NamespaceContentRemaining:         "ContentRemoved",
		corev1.NamespaceFinalizersRemaining:      "ContentRemoved",
	}
	okMessages = map[corev1.NamespaceConditionType]string{
		corev1.NamespaceDeletionDiscoveryFailure: "All resources successfully discovered",
		corev1.NamespaceDeletionGVParsingFailure: "All legacy kube types successfully parsed",
		corev1.NamespaceDeletionContentFailure:   "All content successfully deleted, may be waiting on finalization",
		corev1.NamespaceContentRemaining:         "All content successfully removed",
		corev1.NamespaceFinalizersRemaining:      "All content successfully removed",
	}
)

// remaining counts what is left in a namespace after a deletion pass.
type remaining struct {
	// byResource counts objects per resource.
	byResource map[schema.GroupVersionResource]int
	// byFinalizer counts objects per finalizer they still carry.
	byFinalizer map[string]int
}

// conditions collects the failures of one deletion pass and turns them
// into the namespace's status conditions.
type conditions struct {
	now         metav1.Time
	failed      []corev1.NamespaceCondition
	deleteFails []error
}

func (c *conditions) add(t corev1.NamespaceConditionType, reason, msg string) {
	c.failed = append(c.failed, corev1.NamespaceCondition{
		Type: t, Status: corev1.ConditionTrue, LastTransitionTime: c.now, Reason: reason, Message: msg,
	})
}

func (c *conditions) discoveryFailed(err error) {
	msg := err.Error()
	var gerr *discovery.ErrGroupDiscoveryFailed
	if errors.As(err, &gerr) {
		msg = fmt.Sprintf("Discovery failed for some groups, %d failing: %v", len(gerr.Groups), err)
	}
	c.add(corev1.NamespaceDeletionDiscoveryFailure, "DiscoveryFailed", msg)
}

func (c *conditions) groupVersionFailed(err error) {
	c.add(corev1.NamespaceDeletionGVParsingFailure, "GroupVersionParsingFailed", err.Error())
}

func (c *conditions) deleteFailed(err error) { c.deleteFails = append(c.deleteFails, err) }

func (c *conditions) content(r remaining) {
	if len(r.byResource) > 0 {
		var parts []string
		for gvr, n := range r.byResource {
			if n > 0 {
				parts = append(parts, fmt.Sprintf("%s.%s has %d resource instances", gvr.Resource, gvr.Group, n))
			}
		}
		sort.Strings(parts)
		c.add(corev1.NamespaceContentRemaining, "SomeResourcesRemain", "Some resources are remaining: "+strings.Join(parts, ", "))
	}
	if len(r.byFinalizer) > 0 {
		var parts []string
		for f, n := range r.byFinalizer {
			if n > 0 {
				parts = append(parts, fmt.Sprintf("%s in %d resource instances", f, n))
			}
		}
		sort.Strings(parts)
		c.add(corev1.NamespaceFinalizersRemaining, "SomeFinalizerRemain", "Some finalizers are remaining: "+strings.Join(parts, ", "))
	}
}

// apply writes every owned condition into status (True with the failure,
// or False with upstream's all-clear wording) and reports whether status
// changed. LastTransitionTime moves only when Status flips.
func (c *conditions) apply(status *corev1.NamespaceStatus) bool {
	failed := c.failed
	if find(failed, corev1.NamespaceDeletionContentFailure) == nil && len(c.deleteFails) > 0 {
		msgs := make([]string, 0, len(c.deleteFails))
		for _, e := range c.deleteFails {
			msgs = append(msgs, e.Error())
		}
		sort.Strings(msgs)
		failed = append(failed, corev1.NamespaceCondition{
			Type: corev1.NamespaceDeletionContentFailure, Status: corev1.ConditionTrue, LastTransitionTime: c.now,
			Reason:  "ContentDeletionFailed",
			Message: fmt.Sprintf("Failed to delete all resource types, %d remaining: %v", len(c.deleteFails), strings.Join(msgs, ", ")),
		})
	}
	changed := false
	for _, t := range conditionTypes {
		want := find(failed, t)
		if want == nil {
			want = &corev1.NamespaceCondition{Type: t, Status: corev1.ConditionFalse, LastTransitionTime: c.now,
				Reason: okReasons[t], Message: okMessages[t]}
		}
		have := find(status.Conditions, t)
		switch {
		case have == nil:
			status.Conditions = append(status.Conditions, *want)
			changed = true
		case have.Status != want.Status || have.Reason != want.Reason || have.Message != want.Message:
			if have.Status != want.Status {
				have.LastTransitionTime = c.now
			}
			have.Status, have.Reason, have.Message = want.Status, want.Reason, want.Message
			changed = true
		}
	}
	return changed
}

func find(cs []corev1.NamespaceCondition, t corev1.NamespaceConditionType) *corev1.NamespaceCondition {
	for i := range cs {
		if cs[i].Type == t {
			return &cs[i]
		}
	}
	return nil
}
