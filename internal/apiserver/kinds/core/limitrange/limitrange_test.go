package limitrange

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestLimitRange(t *testing.T) {
	k := Kind()
	lr := &corev1.LimitRange{
		ObjectMeta: metav1.ObjectMeta{Name: "lr", CreationTimestamp: metav1.NewTime(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC))},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type: corev1.LimitTypeContainer,
			Max:  corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
			Min:  corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
		}}},
	}
	k.Strategy.Default(lr)
	it := lr.Spec.Limits[0]
	if it.Default.Cpu().String() != "2" || it.DefaultRequest.Cpu().String() != "2" || it.DefaultRequest.Memory().String() != "64Mi" {
		t.Errorf("defaults: %+v", it)
	}
	if errs := k.Strategy.Validate(lr); len(errs) != 0 {
		t.Fatalf("Validate: %v", errs)
	}
	if diff := cmp.Diff([]interface{}{"lr", "2025-03-04T05:06:07Z"}, k.Strategy.Row(lr, time.Now())); diff != "" {
		t.Errorf("Row (-want +got):\n%s", diff)
	}
	lr.Spec.Limits[0].Min[corev1.ResourceCPU] = resource.MustParse("3")
	lr.Spec.Limits[0].DefaultRequest = nil
	errs := k.Strategy.Validate(lr)
	if len(errs) != 1 || errs[0].Error() != `spec.limits[0].min[cpu]: Invalid value: "3": min value 3 is greater than max value 2` {
		t.Errorf("Validate = %v", errs)
	}
}
