package poddisruptionbudget

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func errPaths(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+": "+e.Field)
	}
	return out
}

func TestValidate(t *testing.T) {
	two, half, tooMuch := intstr.FromInt32(2), intstr.FromString("50%"), intstr.FromString("120%")
	bad := policyv1.UnhealthyPodEvictionPolicyType("Never")
	tests := []struct {
		name string
		spec policyv1.PodDisruptionBudgetSpec
		want []string
	}{
		{name: "min available", spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &two}},
		{name: "max unavailable percent", spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &half}},
		{name: "both", spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &two, MaxUnavailable: &half},
			want: []string{"FieldValueInvalid: spec"}},
		{name: "over 100%", spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &tooMuch},
			want: []string{"FieldValueInvalid: spec.minAvailable"}},
		{name: "eviction policy", spec: policyv1.PodDisruptionBudgetSpec{UnhealthyPodEvictionPolicy: &bad},
			want: []string{"FieldValueNotSupported: spec.unhealthyPodEvictionPolicy"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pdb := &policyv1.PodDisruptionBudget{Spec: tc.spec}
			if diff := cmp.Diff(tc.want, errPaths(Validate(pdb))); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRow(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	half := intstr.FromString("50%")
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "web", CreationTimestamp: metav1.NewTime(now.Add(-time.Hour))},
		Spec:       policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &half},
		Status:     policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: 1},
	}
	want := []interface{}{"web", "N/A", "50%", int64(1), "60m"}
	if diff := cmp.Diff(want, Kind().Strategy.Row(pdb, now)); diff != "" {
		t.Errorf("row (-want +got):\n%s", diff)
	}
}
