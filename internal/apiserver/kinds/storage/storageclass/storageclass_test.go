package storageclass

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
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

func TestDefault(t *testing.T) {
	sc := &storagev1.StorageClass{Provisioner: "example.com/x"}
	Kind().Strategy.Default(sc)
	want := &storagev1.StorageClass{
		Provisioner:       "example.com/x",
		ReclaimPolicy:     ptr.To(corev1.PersistentVolumeReclaimDelete),
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingImmediate),
	}
	if diff := cmp.Diff(want, sc); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		sc   storagev1.StorageClass
		want []string
	}{
		{name: "valid", sc: storagev1.StorageClass{Provisioner: "kubernetes.io/no-provisioner", Parameters: map[string]string{"a": "b"}}},
		{name: "no provisioner", want: []string{"FieldValueRequired provisioner"}},
		{name: "bad provisioner", sc: storagev1.StorageClass{Provisioner: "a/b/c"}, want: []string{"FieldValueInvalid provisioner"}},
		{
			name: "bad policies",
			sc: storagev1.StorageClass{
				Provisioner:       "p",
				ReclaimPolicy:     ptr.To(corev1.PersistentVolumeReclaimRecycle),
				VolumeBindingMode: ptr.To(storagev1.VolumeBindingMode("Later")),
			},
			want: []string{"FieldValueNotSupported reclaimPolicy", "FieldValueNotSupported volumeBindingMode"},
		},
		{
			name: "bad topology",
			sc: storagev1.StorageClass{Provisioner: "p", AllowedTopologies: []corev1.TopologySelectorTerm{{
				MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{{Key: "zone"}, {Key: "zone", Values: []string{"a", "a"}}},
			}}},
			want: []string{
				"FieldValueRequired allowedTopologies[0].matchLabelExpressions[0].values",
				"FieldValueDuplicate allowedTopologies[0].matchLabelExpressions[1].values[1]",
				"FieldValueDuplicate allowedTopologies[0].matchLabelExpressions[1].key",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc := tc.sc.DeepCopy()
			Kind().Strategy.Default(sc)
			if diff := cmp.Diff(tc.want, errStrings(Kind().Strategy.Validate(sc))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	old := &storagev1.StorageClass{Provisioner: "p", Parameters: map[string]string{"a": "b"}}
	Kind().Strategy.Default(old)
	sc := old.DeepCopy()
	sc.Provisioner = "q"
	sc.Parameters = nil
	sc.ReclaimPolicy = ptr.To(corev1.PersistentVolumeReclaimRetain)
	sc.VolumeBindingMode = ptr.To(storagev1.VolumeBindingWaitForFirstConsumer)
	sc.AllowVolumeExpansion = ptr.To(true)
	want := []string{
		"FieldValueForbidden parameters",
		"FieldValueForbidden provisioner",
		"FieldValueForbidden reclaimPolicy",
		"FieldValueInvalid volumeBindingMode",
	}
	if diff := cmp.Diff(want, errStrings(Kind().Strategy.ValidateUpdate(sc, old))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestRow(t *testing.T) {
	created := metav1.NewTime(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	sc := &storagev1.StorageClass{
		ObjectMeta:           metav1.ObjectMeta{Name: "local-path", CreationTimestamp: created, Annotations: map[string]string{IsDefaultAnnotation: "true"}},
		Provisioner:          "rancher.io/local-path",
		VolumeBindingMode:    ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
		AllowVolumeExpansion: ptr.To(true),
	}
	want := []interface{}{"local-path (default)", "rancher.io/local-path", "Delete", "WaitForFirstConsumer", true, "2m"}
	if diff := cmp.Diff(want, Kind().Strategy.Row(sc, created.Add(2*time.Minute))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestValidateUpdateEmptyParameters: stored protobuf turns empty
// parameters into none; sending {} back is not a change.
func TestValidateUpdateEmptyParameters(t *testing.T) {
	old := &storagev1.StorageClass{Provisioner: "p"}
	Kind().Strategy.Default(old)
	sc := old.DeepCopy()
	sc.Parameters = map[string]string{}
	if errs := Kind().Strategy.ValidateUpdate(sc, old); len(errs) != 0 {
		t.Errorf("unexpected errors: %v", errs)
	}
}
