package replicaset

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func newReplicaSet() *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-5d8f", Namespace: "default"},
		Spec: appsv1.ReplicaSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx"}}},
			},
		},
	}
	Default(rs)
	return rs
}

func errPaths(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+": "+e.Field)
	}
	return out
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*appsv1.ReplicaSet)
		want   []string
	}{
		{name: "valid", modify: func(*appsv1.ReplicaSet) {}},
		{name: "no selector", modify: func(rs *appsv1.ReplicaSet) { rs.Spec.Selector = nil },
			want: []string{"FieldValueRequired: spec.selector", "FieldValueInvalid: spec.template.metadata.labels"}},
		{name: "active deadline", modify: func(rs *appsv1.ReplicaSet) { v := int64(30); rs.Spec.Template.Spec.ActiveDeadlineSeconds = &v },
			want: []string{"FieldValueForbidden: spec.template.spec.activeDeadlineSeconds"}},
		{name: "negative minReadySeconds", modify: func(rs *appsv1.ReplicaSet) { rs.Spec.MinReadySeconds = -1 },
			want: []string{"FieldValueInvalid: spec.minReadySeconds"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs := newReplicaSet()
			tc.modify(rs)
			if diff := cmp.Diff(tc.want, errPaths(Validate(rs))); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultsAndUpdate(t *testing.T) {
	rs := newReplicaSet()
	if *rs.Spec.Replicas != 1 || rs.Spec.Template.Spec.Containers[0].ImagePullPolicy != corev1.PullAlways {
		t.Errorf("defaults not applied: %+v", rs.Spec)
	}
	n := newReplicaSet()
	n.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpExists}}}
	if diff := cmp.Diff([]string{"FieldValueInvalid: spec.selector"}, errPaths(ValidateUpdate(n, rs))); diff != "" {
		t.Errorf("update errors (-want +got):\n%s", diff)
	}
}

func TestRowAndFields(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	rs := newReplicaSet()
	rs.CreationTimestamp = metav1.NewTime(now.Add(-90 * time.Second))
	*rs.Spec.Replicas = 3
	rs.Status = appsv1.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 1}
	k := Kind()
	want := []interface{}{"web-5d8f", int64(3), int64(3), int64(1), "90s", "nginx", "nginx", "app=web"}
	if diff := cmp.Diff(want, k.Strategy.Row(rs, now)); diff != "" {
		t.Errorf("row (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(fields.Set{"status.replicas": "3"}, k.Strategy.Fields(rs)); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}
