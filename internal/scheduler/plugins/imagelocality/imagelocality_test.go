package imagelocality

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework/frameworktest"
)

func TestScore(t *testing.T) {
	const mib = 1024 * 1024
	a := frameworktest.Node("a", nil, "", "")
	a.Status.Images = []v1.ContainerImage{{Names: []string{"big:latest"}, SizeBytes: 500 * mib}, {Names: []string{"small:v1"}, SizeBytes: 10 * mib}}
	b := frameworktest.Node("b", nil, "", "")
	b.Status.Images = []v1.ContainerImage{{Names: []string{"big"}, SizeBytes: 500 * mib}}
	c := frameworktest.Node("c", nil, "", "")
	h, err := frameworktest.New(Name, New, "", []*v1.Node{a, b, c}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	pod := frameworktest.Pod("p", "", nil, "", "")
	pod.Spec.Containers[0].Image = "big"
	got, err := h.Score(pod)
	if err != nil {
		t.Fatal(err)
	}
	// 500MiB spread over 2 of 3 nodes: 333MiB, scaled between 23MiB and 1000MiB.
	want := int64(100 * (333*mib + mib*1/3 - 23*mib) / (1000*mib - 23*mib))
	if diff := cmp.Diff(map[string]int64{"a": want, "b": want, "c": 0}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
