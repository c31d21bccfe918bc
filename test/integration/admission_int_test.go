//go:build integration

package integration

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestAdmission covers the built-in admission upstream's default plugins
// do: Priority, DefaultStorageClass and NamespaceLifecycle's cause.
func TestAdmission(t *testing.T) {
	t.Parallel()
	_, c := startAPI(t)
	ctx := ctxT(t)
	pod := func(name, class string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
			PriorityClassName: class,
			Containers:        []corev1.Container{{Name: "c", Image: "busybox"}},
		}}
	}

	t.Run("priority from the class", func(t *testing.T) {
		never := corev1.PreemptNever
		if _, err := c.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{
			ObjectMeta: metav1.ObjectMeta{Name: "batch-low"}, Value: 10, PreemptionPolicy: &never,
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		p, err := c.CoreV1().Pods("default").Create(ctx, pod("low", "batch-low"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Spec.Priority == nil || *p.Spec.Priority != 10 || p.Spec.PreemptionPolicy == nil || *p.Spec.PreemptionPolicy != never {
			t.Errorf("priority %v policy %v, want 10 and Never", p.Spec.Priority, p.Spec.PreemptionPolicy)
		}
		crit, err := c.CoreV1().Pods("default").Create(ctx, pod("crit", "system-node-critical"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if crit.Spec.Priority == nil || *crit.Spec.Priority != 2000001000 {
			t.Errorf("system-node-critical priority %v, want 2000001000", crit.Spec.Priority)
		}
		_, err = c.CoreV1().Pods("default").Create(ctx, pod("nope", "no-such-class"), metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `pods "nope" is forbidden: no PriorityClass with name no-such-class was found`) {
			t.Errorf("unknown class: %v, want 403 naming the class", err)
		}
	})

	t.Run("global default class", func(t *testing.T) {
		if _, err := c.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{
			ObjectMeta: metav1.ObjectMeta{Name: "everyone"}, Value: 100, GlobalDefault: true,
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		p, err := c.CoreV1().Pods("default").Create(ctx, pod("plain", ""), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Spec.PriorityClassName != "everyone" || p.Spec.Priority == nil || *p.Spec.Priority != 100 {
			t.Errorf("class %q priority %v, want everyone/100", p.Spec.PriorityClassName, p.Spec.Priority)
		}
	})

	t.Run("default storage class", func(t *testing.T) {
		if _, err := c.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
			ObjectMeta:  metav1.ObjectMeta{Name: "fast", Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
			Provisioner: "example.com/fast",
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		claim := func(name string, class *string) *corev1.PersistentVolumeClaim {
			return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeClaimSpec{
				StorageClassName: class,
				AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			}}
		}
		got, err := c.CoreV1().PersistentVolumeClaims("default").Create(ctx, claim("defaulted", nil), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.StorageClassName == nil || *got.Spec.StorageClassName != "fast" {
			t.Errorf("storageClassName %v, want fast", got.Spec.StorageClassName)
		}
		empty := ""
		got, err = c.CoreV1().PersistentVolumeClaims("default").Create(ctx, claim("explicit-none", &empty), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.StorageClassName == nil || *got.Spec.StorageClassName != "" {
			t.Errorf("an explicit empty class became %v", got.Spec.StorageClassName)
		}
	})
}
