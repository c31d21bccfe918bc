package deployment

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

func newDeployment() *appsv1.Deployment {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.27"}}},
			},
		},
	}
	Default(d)
	return d
}

// errPaths summarizes errors as "Type: path" for comparison.
func errPaths(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+": "+e.Field)
	}
	return out
}

func TestDefault(t *testing.T) {
	d := newDeployment()
	quarter := intstr.FromString("25%")
	want := appsv1.DeploymentStrategy{
		Type:          appsv1.RollingUpdateDeploymentStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &quarter, MaxSurge: &quarter},
	}
	if diff := cmp.Diff(want, d.Spec.Strategy); diff != "" {
		t.Errorf("strategy (-want +got):\n%s", diff)
	}
	got := []int32{*d.Spec.Replicas, *d.Spec.RevisionHistoryLimit, *d.Spec.ProgressDeadlineSeconds}
	if diff := cmp.Diff([]int32{1, 10, 600}, got); diff != "" {
		t.Errorf("replicas, revisionHistoryLimit, progressDeadlineSeconds (-want +got):\n%s", diff)
	}
	ps := d.Spec.Template.Spec
	if ps.RestartPolicy != corev1.RestartPolicyAlways || ps.DNSPolicy != corev1.DNSClusterFirst || ps.Containers[0].ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("pod template not defaulted: %+v", ps)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*appsv1.Deployment)
		want   []string
	}{
		{name: "valid", modify: func(*appsv1.Deployment) {}},
		{
			name:   "no selector",
			modify: func(d *appsv1.Deployment) { d.Spec.Selector = nil },
			want:   []string{"FieldValueRequired: spec.selector", "FieldValueInvalid: spec.template.metadata.labels"},
		},
		{
			name:   "empty selector",
			modify: func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} },
			want:   []string{"FieldValueInvalid: spec.selector"},
		},
		{
			name:   "selector does not match",
			modify: func(d *appsv1.Deployment) { d.Spec.Template.Labels = map[string]string{"app": "other"} },
			want:   []string{"FieldValueInvalid: spec.template.metadata.labels"},
		},
		{
			name:   "negative replicas",
			modify: func(d *appsv1.Deployment) { *d.Spec.Replicas = -1 },
			want:   []string{"FieldValueInvalid: spec.replicas"},
		},
		{
			name:   "restart never",
			modify: func(d *appsv1.Deployment) { d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever },
			want:   []string{"FieldValueNotSupported: spec.template.spec.restartPolicy"},
		},
		{
			name: "recreate with rolling update",
			modify: func(d *appsv1.Deployment) {
				d.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType
			},
			want: []string{"FieldValueForbidden: spec.strategy.rollingUpdate"},
		},
		{
			name: "zero surge and unavailable",
			modify: func(d *appsv1.Deployment) {
				zero := intstr.FromInt32(0)
				d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxUnavailable: &zero, MaxSurge: &zero}
			},
			want: []string{"FieldValueInvalid: spec.strategy.rollingUpdate.maxUnavailable"},
		},
		{
			name: "bad percent",
			modify: func(d *appsv1.Deployment) {
				v := intstr.FromString("150%")
				d.Spec.Strategy.RollingUpdate.MaxUnavailable = &v
			},
			want: []string{"FieldValueInvalid: spec.strategy.rollingUpdate.maxUnavailable"},
		},
		{
			name: "progress deadline below minReadySeconds",
			modify: func(d *appsv1.Deployment) {
				d.Spec.MinReadySeconds = 600
			},
			want: []string{"FieldValueInvalid: spec.progressDeadlineSeconds"},
		},
		{
			name:   "container without image",
			modify: func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "" },
			want:   []string{"FieldValueRequired: spec.template.spec.containers[0].image"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newDeployment()
			tc.modify(d)
			if diff := cmp.Diff(tc.want, errPaths(Validate(d))); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	old := newDeployment()
	d := newDeployment()
	d.Spec.Selector.MatchLabels["tier"] = "front"
	d.Spec.Template.Labels["tier"] = "front"
	errs := ValidateUpdate(d, old)
	if diff := cmp.Diff([]string{"FieldValueInvalid: spec.selector"}, errPaths(errs)); diff != "" {
		t.Fatalf("errors (-want +got):\n%s", diff)
	}
	if errs[0].Detail != "field is immutable" {
		t.Errorf("detail = %q", errs[0].Detail)
	}
	scaled := newDeployment()
	*scaled.Spec.Replicas = 5
	if errs := ValidateUpdate(scaled, old); len(errs) != 0 {
		t.Errorf("scaling: %v", errs)
	}
}

func TestRow(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	d := newDeployment()
	d.CreationTimestamp = metav1.NewTime(now.Add(-3 * time.Hour))
	*d.Spec.Replicas = 3
	d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers, corev1.Container{Name: "sidecar", Image: "busybox"})
	d.Status = appsv1.DeploymentStatus{ReadyReplicas: 2, UpdatedReplicas: 3, AvailableReplicas: 2}
	want := []interface{}{"web", "2/3", int64(3), int64(2), "3h", "nginx,sidecar", "nginx:1.27,busybox", "app=web"}
	k := Kind()
	if diff := cmp.Diff(want, k.Strategy.Row(d, now)); diff != "" {
		t.Errorf("row (-want +got):\n%s", diff)
	}
	if len(k.Strategy.Columns) != len(want) {
		t.Errorf("%d columns for %d cells", len(k.Strategy.Columns), len(want))
	}
	if got := k.Scale.Selector(d); got != "app=web" {
		t.Errorf("scale selector = %q", got)
	}
}
