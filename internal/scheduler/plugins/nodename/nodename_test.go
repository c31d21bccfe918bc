package nodename

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework/frameworktest"
)

func TestFilter(t *testing.T) {
	h, err := frameworktest.New(Name, New, "", []*v1.Node{frameworktest.Node("a", nil, "", ""), frameworktest.Node("b", nil, "", "")}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := h.Filter(frameworktest.Pod("p", "b", nil, "", ""))
	if diff := cmp.Diff(map[string]string{"a": ErrReason, "b": ""}, frameworktest.Reasons(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	got, _ = h.Filter(frameworktest.Pod("p", "", nil, "", ""))
	if diff := cmp.Diff(map[string]string{"a": "", "b": ""}, frameworktest.Reasons(got)); diff != "" {
		t.Errorf("no nodeName (-want +got):\n%s", diff)
	}
}
