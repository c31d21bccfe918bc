package statefulset

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func newStatefulSet() *appsv1.StatefulSet {
	s := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default"},
		Spec: appsv1.StatefulSetSpec{
			ServiceName: "db",
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "db"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "pg", Image: "postgres:17",
					VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/postgresql"}},
				}}},
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
				},
			}},
		},
	}
	Default(s)
	return s
}

func errPaths(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+": "+e.Field)
	}
	return out
}

func TestDefault(t *testing.T) {
	s := newStatefulSet()
	zero := int32(0)
	wantStrategy := appsv1.StatefulSetUpdateStrategy{
		Type:          appsv1.RollingUpdateStatefulSetStrategyType,
		RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: &zero},
	}
	if diff := cmp.Diff(wantStrategy, s.Spec.UpdateStrategy); diff != "" {
		t.Errorf("updateStrategy (-want +got):\n%s", diff)
	}
	wantPolicy := &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
		WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
	}
	if diff := cmp.Diff(wantPolicy, s.Spec.PersistentVolumeClaimRetentionPolicy); diff != "" {
		t.Errorf("retention (-want +got):\n%s", diff)
	}
	if s.Spec.PodManagementPolicy != appsv1.OrderedReadyPodManagement || *s.Spec.Replicas != 1 || *s.Spec.RevisionHistoryLimit != 10 {
		t.Errorf("spec defaults: %+v", s.Spec)
	}
	vct := s.Spec.VolumeClaimTemplates[0]
	if vct.Kind != "PersistentVolumeClaim" || vct.APIVersion != "v1" || vct.Status.Phase != corev1.ClaimPending ||
		vct.Spec.VolumeMode == nil || *vct.Spec.VolumeMode != corev1.PersistentVolumeFilesystem {
		t.Errorf("volume claim template defaults: %+v", vct)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*appsv1.StatefulSet)
		want   []string
	}{
		{name: "valid with claim mounts", modify: func(*appsv1.StatefulSet) {}},
		{name: "bad pod management", modify: func(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = "Random" },
			want: []string{"FieldValueInvalid: spec.podManagementPolicy"}},
		{name: "empty selector", modify: func(s *appsv1.StatefulSet) { s.Spec.Selector = &metav1.LabelSelector{} },
			want: []string{"FieldValueInvalid: spec.selector"}},
		{name: "on delete with rolling update", modify: func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.Type = appsv1.OnDeleteStatefulSetStrategyType },
			want: []string{"FieldValueInvalid: spec.updateStrategy.rollingUpdate"}},
		{name: "negative ordinal", modify: func(s *appsv1.StatefulSet) { s.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: -1} },
			want: []string{"FieldValueInvalid: spec.ordinals.start"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStatefulSet()
			tc.modify(s)
			if diff := cmp.Diff(tc.want, errPaths(Validate(s))); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	old := newStatefulSet()
	s := newStatefulSet()
	*s.Spec.Replicas = 3
	s.Spec.Template.Spec.Containers[0].Image = "postgres:18"
	if errs := ValidateUpdate(s, old); len(errs) != 0 {
		t.Errorf("allowed update: %v", errs)
	}
	s.Spec.ServiceName = "other"
	if diff := cmp.Diff([]string{"FieldValueForbidden: spec"}, errPaths(ValidateUpdate(s, old))); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestRow(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newStatefulSet()
	s.CreationTimestamp = metav1.NewTime(now.Add(-48 * time.Hour))
	*s.Spec.Replicas = 3
	s.Status.ReadyReplicas = 3
	want := []interface{}{"db", "3/3", "2d", "pg", "postgres:17"}
	if diff := cmp.Diff(want, Kind().Strategy.Row(s, now)); diff != "" {
		t.Errorf("row (-want +got):\n%s", diff)
	}
}
