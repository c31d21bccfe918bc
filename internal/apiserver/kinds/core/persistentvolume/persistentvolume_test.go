package persistentvolume

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestVolume(t *testing.T) {
	k := Kind()
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv1"},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("5Gi")},
			AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany, corev1.ReadWriteOnce, corev1.ReadWriteOnce},
			PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv"}},
			ClaimRef:               &corev1.ObjectReference{Namespace: "default", Name: "data"},
		},
	}
	k.Strategy.Default(pv)
	if errs := k.Strategy.Validate(pv); len(errs) != 0 {
		t.Fatalf("Validate: %v", errs)
	}
	pv.Status.Phase = corev1.VolumeBound
	want := []interface{}{"pv1", "5Gi", "RWO,RWX", "Retain", "Bound", "default/data", "", "<unset>", "", "<unknown>", "Filesystem"}
	if diff := cmp.Diff(want, k.Strategy.Row(pv, time.Now())); diff != "" {
		t.Errorf("Row (-want +got):\n%s", diff)
	}
	pv.Spec.HostPath = nil
	if errs := k.Strategy.Validate(pv); len(errs) != 1 || errs[0].Error() != "spec: Required value: must specify a volume type" {
		t.Errorf("Validate = %v", errs)
	}
}
