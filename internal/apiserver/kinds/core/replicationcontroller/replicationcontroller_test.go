package replicationcontroller

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func newRC() *corev1.ReplicationController {
	return &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: "rc", Namespace: "default"},
		Spec: corev1.ReplicationControllerSpec{Template: &corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1"}}},
		}},
	}
}

func TestRC(t *testing.T) {
	k := Kind()
	rc := newRC()
	k.Strategy.Default(rc)
	if *rc.Spec.Replicas != 1 || rc.Spec.Selector["app"] != "web" || rc.Labels["app"] != "web" || rc.Spec.Template.Spec.RestartPolicy != "Always" {
		t.Fatalf("defaults: %+v", rc)
	}
	if errs := k.Strategy.Validate(rc); len(errs) != 0 {
		t.Fatalf("Validate: %v", errs)
	}
	if got := k.Scale.Selector(rc); got != "app=web" {
		t.Errorf("Scale.Selector = %q", got)
	}
	rc.Status.Replicas = 1
	want := []interface{}{"rc", int64(1), int64(1), int64(0), "<unknown>", "c", "nginx:1", "app=web"}
	if diff := cmp.Diff(want, k.Strategy.Row(rc, time.Now())); diff != "" {
		t.Errorf("Row (-want +got):\n%s", diff)
	}

	bad := rc.DeepCopy()
	bad.Spec.Selector = map[string]string{"app": "other"}
	bad.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
	var got []string
	for _, e := range k.Strategy.Validate(bad) {
		got = append(got, e.Error())
	}
	wantErrs := []string{
		"spec.template.metadata.labels: Invalid value: {\"app\":\"web\"}: `selector` does not match template `labels`",
		`spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"`,
	}
	if diff := cmp.Diff(wantErrs, got); diff != "" {
		t.Errorf("Validate (-want +got):\n%s", diff)
	}
}
