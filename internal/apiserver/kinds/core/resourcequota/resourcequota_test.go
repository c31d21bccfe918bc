package resourcequota

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestQuota(t *testing.T) {
	k := Kind()
	q := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "q"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
			"pods": resource.MustParse("10"), "requests.cpu": resource.MustParse("2"), "limits.memory": resource.MustParse("1Gi"),
		}},
		Status: corev1.ResourceQuotaStatus{Used: corev1.ResourceList{"pods": resource.MustParse("3")}},
	}
	if errs := k.Strategy.Validate(q); len(errs) != 0 {
		t.Fatalf("Validate: %v", errs)
	}
	want := []interface{}{"q", "<unknown>", "pods: 3/10, requests.cpu: 0/2", "limits.memory: 0/1Gi"}
	if diff := cmp.Diff(want, k.Strategy.Row(q, time.Now())); diff != "" {
		t.Errorf("Row (-want +got):\n%s", diff)
	}
	q.Spec.Hard["pods"] = resource.MustParse("-1")
	if errs := k.Strategy.Validate(q); len(errs) != 1 || errs[0].Error() != `spec.hard[pods]: Invalid value: "-1": must be greater than or equal to 0` {
		t.Errorf("Validate = %v", errs)
	}
}
