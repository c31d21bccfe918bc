package lease

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func errStrings(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+" "+e.Field)
	}
	return out
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		spec coordinationv1.LeaseSpec
		want []string
	}{
		{name: "valid", spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("a"), LeaseDurationSeconds: ptr.To[int32](15)}},
		{
			name: "bad numbers",
			spec: coordinationv1.LeaseSpec{LeaseDurationSeconds: ptr.To[int32](0), LeaseTransitions: ptr.To[int32](-1)},
			want: []string{"FieldValueInvalid spec.leaseDurationSeconds", "FieldValueInvalid spec.leaseTransitions"},
		},
		{
			name: "unknown strategy",
			spec: coordinationv1.LeaseSpec{Strategy: ptr.To(coordinationv1.CoordinatedLeaseStrategy("Newest"))},
			want: []string{"FieldValueNotSupported spec.strategy.strategy"},
		},
		{
			name: "preferred holder without strategy",
			spec: coordinationv1.LeaseSpec{PreferredHolder: ptr.To("b")},
			want: []string{"FieldValueForbidden spec.preferredHolder"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := &coordinationv1.Lease{Spec: tc.spec}
			if diff := cmp.Diff(tc.want, errStrings(Kind().Strategy.Validate(l))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRow(t *testing.T) {
	created := metav1.NewTime(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "node-1", CreationTimestamp: created}, Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("node-1")}}
	want := []interface{}{"node-1", "node-1", "5s"}
	if diff := cmp.Diff(want, Kind().Strategy.Row(l, created.Add(5*time.Second))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]interface{}{"x", "", "5s"}, Kind().Strategy.Row(&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "x", CreationTimestamp: created}}, created.Add(5*time.Second))); diff != "" {
		t.Errorf("no holder (-want +got):\n%s", diff)
	}
}
