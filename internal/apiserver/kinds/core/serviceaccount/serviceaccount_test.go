package serviceaccount

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestServiceAccount(t *testing.T) {
	now := time.Now()
	sa := &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: "default", CreationTimestamp: metav1.NewTime(now.Add(-5 * time.Second))},
		Secrets:    []corev1.ObjectReference{{Name: "tok"}},
	}
	k := Kind()
	if errs := k.Strategy.Validate(sa); len(errs) != 0 {
		t.Errorf("Validate: %v", errs)
	}
	if diff := cmp.Diff([]interface{}{"default", int64(1), "5s"}, k.Strategy.Row(sa, now)); diff != "" {
		t.Errorf("Row (-want +got):\n%s", diff)
	}
	sa.ImagePullSecrets = []corev1.LocalObjectReference{{}}
	if errs := k.Strategy.Validate(sa); len(errs) != 1 || errs[0].Error() != "imagePullSecrets[0].name: Required value" {
		t.Errorf("Validate = %v", errs)
	}
}
