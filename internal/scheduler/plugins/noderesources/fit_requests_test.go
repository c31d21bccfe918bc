package noderesources

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/skiff/skiff/internal/scheduler/framework/frameworktest"
)

// TestFitCountsOverheadAndSidecars follows upstream's pod request rules:
// the RuntimeClass overhead adds to the pod's requests, restartable init
// containers (sidecars) keep running beside the app containers, and a
// one-shot init container runs beside the sidecars started before it.
func TestFitCountsOverheadAndSidecars(t *testing.T) {
	nodes := []*v1.Node{frameworktest.Node("one", nil, "1", "8Gi"), frameworktest.Node("two", nil, "2", "8Gi")}
	cpu := func(q string) v1.ResourceRequirements {
		return v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse(q)}}
	}
	always := v1.ContainerRestartPolicyAlways

	overhead := frameworktest.Pod("overhead", "", nil, "500m", "")
	overhead.Spec.Overhead = v1.ResourceList{v1.ResourceCPU: resource.MustParse("600m")}

	sidecar := frameworktest.Pod("sidecar", "", nil, "500m", "")
	sidecar.Spec.InitContainers = []v1.Container{{Name: "proxy", RestartPolicy: &always, Resources: cpu("600m")}}

	// 600m sidecar + 1500m one-shot init = 2100m > 2 cpu, though the app
	// containers with the sidecar need only 1100m.
	initAfterSidecar := frameworktest.Pod("init-after-sidecar", "", nil, "500m", "")
	initAfterSidecar.Spec.InitContainers = []v1.Container{
		{Name: "proxy", RestartPolicy: &always, Resources: cpu("600m")},
		{Name: "migrate", Resources: cpu("1500m")},
	}
	// The same one-shot init container before the sidecar starts alone.
	initBeforeSidecar := initAfterSidecar.DeepCopy()
	initBeforeSidecar.Name = "init-before-sidecar"
	initBeforeSidecar.Spec.InitContainers[0], initBeforeSidecar.Spec.InitContainers[1] = initBeforeSidecar.Spec.InitContainers[1], initBeforeSidecar.Spec.InitContainers[0]

	tests := []struct {
		pod  *v1.Pod
		want map[string]string
	}{
		{pod: overhead, want: map[string]string{"one": "Insufficient cpu", "two": ""}},
		{pod: sidecar, want: map[string]string{"one": "Insufficient cpu", "two": ""}},
		{pod: initAfterSidecar, want: map[string]string{"one": "Insufficient cpu", "two": "Insufficient cpu"}},
		{pod: initBeforeSidecar, want: map[string]string{"one": "Insufficient cpu", "two": ""}},
	}
	for _, tc := range tests {
		t.Run(tc.pod.Name, func(t *testing.T) {
			h, err := frameworktest.New(FitName, NewFit, "", nodes, nil, nil)
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
