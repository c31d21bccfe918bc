package priorityclass

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func errStrings(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+" "+e.Field+": "+e.Detail)
	}
	return out
}

func TestDefault(t *testing.T) {
	pc := &schedulingv1.PriorityClass{Value: 10}
	Kind().Strategy.Default(pc)
	if pc.PreemptionPolicy == nil || *pc.PreemptionPolicy != corev1.PreemptLowerPriority {
		t.Fatalf("preemptionPolicy = %v, want PreemptLowerPriority", pc.PreemptionPolicy)
	}
}

func TestValidate(t *testing.T) {
	never := corev1.PreemptNever
	bad := corev1.PreemptionPolicy("Sometimes")
	cases := []struct {
		name string
		pc   schedulingv1.PriorityClass
		want []string
	}{
		{name: "valid", pc: schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "high"}, Value: 1000, PreemptionPolicy: &never}},
		{name: "system class", pc: schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "system-node-critical"}, Value: 2000001000}},
		{
			name: "system class wrong value",
			pc:   schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "system-cluster-critical"}, Value: 5},
			want: []string{"FieldValueForbidden metadata.name: priority class names with 'system-' prefix are reserved for system use only. error: value of system-cluster-critical PriorityClass must be 2000000000"},
		},
		{
			name: "unknown system class",
			pc:   schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "system-x"}},
			want: []string{"FieldValueForbidden metadata.name: priority class names with 'system-' prefix are reserved for system use only. error: system-x is not a known system priority class"},
		},
		{
			name: "too high",
			pc:   schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Value: 1000000001},
			want: []string{"FieldValueForbidden value: maximum allowed value of a user defined priority is 1000000000"},
		},
		{
			name: "bad policy",
			pc:   schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "x"}, PreemptionPolicy: &bad},
			want: []string{`FieldValueNotSupported preemptionPolicy: supported values: "PreemptLowerPriority", "Never"`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, errStrings(Kind().Strategy.Validate(&tc.pc))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	never := corev1.PreemptNever
	old := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Value: 1}
	Kind().Strategy.Default(old)
	pc := old.DeepCopy()
	pc.Value = 2
	pc.PreemptionPolicy = &never
	want := []string{
		"FieldValueForbidden value: may not be changed in an update.",
		"FieldValueInvalid preemptionPolicy: field is immutable",
	}
	if diff := cmp.Diff(want, errStrings(Kind().Strategy.ValidateUpdate(pc, old))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRow(t *testing.T) {
	created := metav1.NewTime(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "high", CreationTimestamp: created}, Value: 1000, GlobalDefault: true}
	Kind().Strategy.Default(pc)
	got := Kind().Strategy.Row(pc, created.Add(3*24*time.Hour))
	want := []interface{}{"high", int64(1000), true, "3d", "PreemptLowerPriority"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if len(Kind().Strategy.Columns) != len(want) {
		t.Errorf("%d columns for %d cells", len(Kind().Strategy.Columns), len(want))
	}
}
