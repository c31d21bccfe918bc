package noderesources

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/skiff/skiff/internal/scheduler/framework/frameworktest"
)

func TestFitFilter(t *testing.T) {
	full := frameworktest.Node("full", nil, "2", "4Gi")
	full.Status.Allocatable[v1.ResourcePods] = resource.MustParse("1")
	nodes := []*v1.Node{frameworktest.Node("small", nil, "1", "8Gi"), frameworktest.Node("big", nil, "4", "8Gi"), full}
	pods := []*v1.Pod{frameworktest.Pod("p0", "full", nil, "", "")}
	initBig := frameworktest.Pod("init", "", nil, "500m", "1Gi")
	initBig.Spec.InitContainers = []v1.Container{{Name: "i", Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("3")}}}}
	tests := []struct {
		name string
		pod  *v1.Pod
		want map[string]string
	}{
		{name: "fits where cpu is free", pod: frameworktest.Pod("a", "", nil, "2", "1Gi"),
			want: map[string]string{"small": "Insufficient cpu", "big": "", "full": "Too many pods"}},
		{name: "cpu and memory", pod: frameworktest.Pod("b", "", nil, "3", "16Gi"),
			want: map[string]string{"small": "Insufficient cpu, Insufficient memory", "big": "Insufficient memory", "full": "Too many pods, Insufficient cpu, Insufficient memory"}},
		{name: "init container larger than app containers", pod: initBig,
			want: map[string]string{"small": "Insufficient cpu", "big": "", "full": "Too many pods, Insufficient cpu"}},
		{name: "best effort only counts pods", pod: frameworktest.Pod("c", "", nil, "", ""),
			want: map[string]string{"small": "", "big": "", "full": "Too many pods"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := frameworktest.New(FitName, NewFit, "", nodes, pods, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := h.Filter(tc.pod)
			if diff := cmp.Diff(tc.want, frameworktest.Reasons(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestFitExtendedResource(t *testing.T) {
	n := frameworktest.Node("gpu", nil, "4", "8Gi")
	n.Status.Allocatable["example.com/gpu"] = resource.MustParse("1")
	pod := frameworktest.Pod("a", "", nil, "1", "")
	pod.Spec.Containers[0].Resources.Requests["example.com/gpu"] = resource.MustParse("2")
	h, err := frameworktest.New(FitName, NewFit, "", []*v1.Node{n}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := h.Filter(pod)
	if msg := got["gpu"].Message(); msg != "Insufficient example.com/gpu" {
		t.Errorf("reason %q", msg)
	}
	h, err = frameworktest.New(FitName, NewFit, `{"ignoredResourceGroups":["example.com"]}`, []*v1.Node{n}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := h.Filter(pod); !got["gpu"].IsSuccess() {
		t.Errorf("ignored group still checked: %v", got["gpu"])
	}
}

// The figures follow upstream's documented examples: a node with 4 cpu
// and 10000 bytes of memory, and a pod asking 3 cpu and 5000 bytes.
func TestScoringStrategies(t *testing.T) {
	node := frameworktest.Node("n", nil, "4", "10000")
	pod := frameworktest.Pod("p", "", nil, "3", "5000")
	tests := []struct {
		name, args string
		want       int64
	}{
		{name: "LeastAllocated", args: ``, want: 37},
		{name: "MostAllocated", args: `{"scoringStrategy":{"type":"MostAllocated"}}`, want: 62},
		{name: "MostAllocated weights", args: `{"scoringStrategy":{"type":"MostAllocated","resources":[{"name":"cpu","weight":3},{"name":"memory","weight":1}]}}`, want: 68},
		{name: "RequestedToCapacityRatio", args: `{"scoringStrategy":{"type":"RequestedToCapacityRatio","requestedToCapacityRatio":{"shape":[{"utilization":0,"score":0},{"utilization":100,"score":10}]}}}`, want: 63},
		{name: "RequestedToCapacityRatio bin packing off", args: `{"scoringStrategy":{"type":"RequestedToCapacityRatio","requestedToCapacityRatio":{"shape":[{"utilization":0,"score":10},{"utilization":100,"score":0}]}}}`, want: 38},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := frameworktest.New(FitName, NewFit, tc.args, []*v1.Node{node}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := h.Score(pod)
			if err != nil {
				t.Fatal(err)
			}
			if got["n"] != tc.want {
				t.Errorf("score %d, want %d", got["n"], tc.want)
			}
		})
	}
}

func TestBalancedAllocation(t *testing.T) {
	nodes := []*v1.Node{frameworktest.Node("n", nil, "4", "10000"), frameworktest.Node("m", nil, "4", "5000")}
	h, err := frameworktest.New(BalancedAllocationName, NewBalancedAllocation, "", nodes, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := h.Score(frameworktest.Pod("p", "", nil, "3", "5000"))
	if err != nil {
		t.Fatal(err)
	}
	// n: cpu 0.75, memory 0.5 -> 1-0.125; m: 0.75 and 1.0 -> 1-0.125.
	if diff := cmp.Diff(map[string]int64{"n": 87, "m": 87}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestBadArgs(t *testing.T) {
	for _, args := range []string{`{"scoringStrategy":{"type":"Worst"}}`, `{"scoringStrategy":{"type":"RequestedToCapacityRatio"}}`, `{`} {
		if _, err := NewFit([]byte(args), nil); err == nil {
			t.Errorf("args %s accepted", args)
		}
	}
}
