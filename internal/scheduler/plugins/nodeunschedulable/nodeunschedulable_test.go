package nodeunschedulable

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework/frameworktest"
)

func TestFilter(t *testing.T) {
	cordoned := frameworktest.Node("cordoned", nil, "", "")
	cordoned.Spec.Unschedulable = true
	h, err := frameworktest.New(Name, New, "", []*v1.Node{cordoned, frameworktest.Node("ok", nil, "", "")}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pod := frameworktest.Pod("p", "", nil, "", "")
	got, _ := h.Filter(pod)
	if diff := cmp.Diff(map[string]string{"cordoned": ErrReasonUnschedulable, "ok": ""}, frameworktest.Reasons(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	pod.Spec.Tolerations = []v1.Toleration{{Key: v1.TaintNodeUnschedulable, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoSchedule}}
	got, _ = h.Filter(pod)
	if !got["cordoned"].IsSuccess() {
		t.Errorf("toleration ignored: %v", got["cordoned"])
	}
}
