package namespace

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestConditionsApply(t *testing.T) {
	t0 := metav1.NewTime(now)
	t1 := metav1.NewTime(now.Add(time.Minute))
	held := func(n int) remaining {
		return remaining{byResource: map[schema.GroupVersionResource]int{configmaps: n}, byFinalizer: map[string]int{"example.com/hold": n}}
	}
	for _, tc := range []struct {
		name        string
		before      remaining
		after       remaining
		wantChanged bool
		// wantTime is FinalizersRemaining's LastTransitionTime afterwards.
		wantTime   metav1.Time
		wantStatus corev1.ConditionStatus
	}{
		{"unchanged", held(1), held(1), false, t0, corev1.ConditionTrue},
		{"message changes, status stays", held(1), held(2), true, t0, corev1.ConditionTrue},
		{"status flips", held(1), remaining{}, true, t1, corev1.ConditionFalse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var status corev1.NamespaceStatus
			first := &conditions{now: t0}
			first.content(tc.before)
			if !first.apply(&status) {
				t.Fatal("first apply reported no change")
			}
			if len(status.Conditions) != len(conditionTypes) {
				t.Fatalf("%d conditions, want one of each of %d types", len(status.Conditions), len(conditionTypes))
			}
			second := &conditions{now: t1}
			second.content(tc.after)
			if got := second.apply(&status); got != tc.wantChanged {
				t.Errorf("changed = %v, want %v", got, tc.wantChanged)
			}
			c := find(status.Conditions, corev1.NamespaceFinalizersRemaining)
			if diff := cmp.Diff(tc.wantTime, c.LastTransitionTime); diff != "" {
				t.Errorf("lastTransitionTime (-want +got):\n%s", diff)
			}
			if c.Status != tc.wantStatus {
				t.Errorf("status = %s, want %s", c.Status, tc.wantStatus)
			}
		})
	}
}
