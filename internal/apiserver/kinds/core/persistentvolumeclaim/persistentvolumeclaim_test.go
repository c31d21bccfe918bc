package persistentvolumeclaim

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func newClaim() *corev1.PersistentVolumeClaim {
	sc := "local-path"
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "default"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: &sc,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
}

func TestClaim(t *testing.T) {
	k := Kind()
	pvc := newClaim()
	k.Strategy.Default(pvc)
	k.Strategy.PrepareForCreate(pvc)
	if errs := k.Strategy.Validate(pvc); len(errs) != 0 {
		t.Fatalf("Validate: %v", errs)
	}
	now := time.Now()
	if diff := cmp.Diff([]interface{}{"data", "Pending", "", "", "", "local-path", "<unset>", "<unknown>", "Filesystem"}, k.Strategy.Row(pvc, now)); diff != "" {
		t.Errorf("Row (-want +got):\n%s", diff)
	}

	bad := newClaim()
	bad.Spec.AccessModes = nil
	bad.Spec.Resources.Requests = nil
	var got []string
	for _, e := range k.Strategy.Validate(bad) {
		got = append(got, e.Error())
	}
	want := []string{"spec.accessModes: Required value: at least 1 access mode is required", "spec.resources[storage]: Required value"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Validate (-want +got):\n%s", diff)
	}

	bound := pvc.DeepCopy()
	bound.Spec.VolumeName = "pv1"
	if errs := k.Strategy.ValidateUpdate(bound, pvc); len(errs) != 0 {
		t.Errorf("binding: %v", errs)
	}
	changed := bound.DeepCopy()
	changed.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
	errs := k.Strategy.ValidateUpdate(changed, bound)
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "spec: Forbidden: spec is immutable after creation") {
		t.Errorf("ValidateUpdate = %v", errs)
	}
}
