package daemonset

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func newDaemonSet() *appsv1.DaemonSet {
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "kube-system"},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "agent"}},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{"kubernetes.io/os": "linux"},
					Containers:   []corev1.Container{{Name: "agent", Image: "agent:v1"}},
				},
			},
		},
	}
	Default(ds)
	return ds
}

func errPaths(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+": "+e.Field)
	}
	return out
}

func TestDefault(t *testing.T) {
	ds := newDaemonSet()
	one, zero := intstr.FromInt32(1), intstr.FromInt32(0)
	want := appsv1.DaemonSetUpdateStrategy{
		Type:          appsv1.RollingUpdateDaemonSetStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &one, MaxSurge: &zero},
	}
	if diff := cmp.Diff(want, ds.Spec.UpdateStrategy); diff != "" {
		t.Errorf("updateStrategy (-want +got):\n%s", diff)
	}
	if *ds.Spec.RevisionHistoryLimit != 10 {
		t.Errorf("revisionHistoryLimit = %d", *ds.Spec.RevisionHistoryLimit)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*appsv1.DaemonSet)
		want   []string
	}{
		{name: "valid", modify: func(*appsv1.DaemonSet) {}},
		{name: "no selector", modify: func(ds *appsv1.DaemonSet) { ds.Spec.Selector = nil },
			want: []string{"FieldValueInvalid: spec.template.metadata.labels"}},
		{name: "surge and unavailable", modify: func(ds *appsv1.DaemonSet) {
			v := intstr.FromInt32(1)
			ds.Spec.UpdateStrategy.RollingUpdate.MaxSurge = &v
		}, want: []string{"FieldValueInvalid: spec.updateStrategy.rollingUpdate.maxSurge"}},
		{name: "unknown strategy", modify: func(ds *appsv1.DaemonSet) { ds.Spec.UpdateStrategy.Type = "Fast" },
			want: []string{"FieldValueNotSupported: spec.updateStrategy"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds := newDaemonSet()
			tc.modify(ds)
			if diff := cmp.Diff(tc.want, errPaths(Validate(ds))); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTemplateGeneration(t *testing.T) {
	old := newDaemonSet()
	prepareForCreate(old)
	if got := old.Annotations[appsv1.DeprecatedTemplateGeneration]; got != "1" {
		t.Fatalf("created with template generation %q", got)
	}
	same := old.DeepCopy()
	same.Annotations[appsv1.DeprecatedTemplateGeneration] = "7"
	prepareForUpdate(same, old)
	if got := same.Annotations[appsv1.DeprecatedTemplateGeneration]; got != "1" {
		t.Errorf("unchanged template: generation %q, want 1", got)
	}
	changed := old.DeepCopy()
	changed.Spec.Template.Spec.Containers[0].Image = "agent:v2"
	prepareForUpdate(changed, old)
	if got := changed.Annotations[appsv1.DeprecatedTemplateGeneration]; got != "2" {
		t.Errorf("changed template: generation %q, want 2", got)
	}
}

func TestRow(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	ds := newDaemonSet()
	ds.CreationTimestamp = metav1.NewTime(now.Add(-5 * time.Minute))
	ds.Status = appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 3, NumberReady: 2, UpdatedNumberScheduled: 3, NumberAvailable: 2}
	want := []interface{}{"agent", int64(3), int64(3), int64(2), int64(3), int64(2), "kubernetes.io/os=linux", "5m", "agent", "agent:v1", "app=agent"}
	if diff := cmp.Diff(want, Kind().Strategy.Row(ds, now)); diff != "" {
		t.Errorf("row (-want +got):\n%s", diff)
	}
}
