package podtemplate

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPodTemplate(t *testing.T) {
	k := Kind()
	pt := &corev1.PodTemplate{ObjectMeta: metav1.ObjectMeta{Name: "pt"}, Template: corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"a": "b"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}, {Name: "d", Image: "nginx"}}},
	}}
	k.Strategy.Default(pt)
	if errs := k.Strategy.Validate(pt); len(errs) != 0 {
		t.Fatalf("Validate: %v", errs)
	}
	if diff := cmp.Diff([]interface{}{"pt", "c,d", "busybox,nginx", "a=b"}, k.Strategy.Row(pt, time.Now())); diff != "" {
		t.Errorf("Row (-want +got):\n%s", diff)
	}
	pt.Template.Spec.Containers[0].Image = ""
	if errs := k.Strategy.Validate(pt); len(errs) != 1 || errs[0].Error() != "template.spec.containers[0].image: Required value" {
		t.Errorf("Validate = %v", errs)
	}
}
