package event

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestEvent(t *testing.T) {
	now := time.Now()
	e := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "web.1", Namespace: "default"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web", Namespace: "default", FieldPath: "spec.containers{app}"},
		Reason:         "Pulled", Message: "Pulled image\n", Type: "Normal",
		Source:         corev1.EventSource{Component: "kubelet", Host: "n1"},
		FirstTimestamp: metav1.NewTime(now.Add(-3 * time.Minute)),
		LastTimestamp:  metav1.NewTime(now.Add(-time.Minute)),
		Count:          2,
	}
	k := Kind()
	if errs := k.Strategy.Validate(e); len(errs) != 0 {
		t.Errorf("Validate: %v", errs)
	}
	want := []interface{}{"60s", "Normal", "Pulled", "pod/web", "spec.containers{app}", "kubelet, n1", "Pulled image", "3m", int64(2), "web.1"}
	if diff := cmp.Diff(want, k.Strategy.Row(e, now)); diff != "" {
		t.Errorf("Row (-want +got):\n%s", diff)
	}
	if len(k.Strategy.Columns) != len(want) {
		t.Errorf("%d columns for %d cells", len(k.Strategy.Columns), len(want))
	}
	e.InvolvedObject.Namespace = "other"
	if errs := k.Strategy.Validate(e); len(errs) != 1 || errs[0].Error() != `involvedObject.namespace: Invalid value: "other": does not match event.namespace` {
		t.Errorf("Validate = %v", errs)
	}
	if got := k.Strategy.Fields(e); got["source"] != "kubelet" || got["involvedObject.kind"] != "Pod" {
		t.Errorf("Fields = %v", got)
	}
}
