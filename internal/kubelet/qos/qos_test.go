package qos

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func rl(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func pod(cs ...corev1.ResourceRequirements) *corev1.Pod {
	p := &corev1.Pod{}
	for _, r := range cs {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "c", Resources: r})
	}
	return p
}

func TestComputeClass(t *testing.T) {
	guaranteed := corev1.ResourceRequirements{Requests: rl("cpu", "1", "memory", "1Gi"), Limits: rl("cpu", "1", "memory", "1Gi")}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want corev1.PodQOSClass
	}{
		{"no resources", pod(corev1.ResourceRequirements{}), corev1.PodQOSBestEffort},
		{"zero requests", pod(corev1.ResourceRequirements{Requests: rl("cpu", "0")}), corev1.PodQOSBestEffort},
		{"other resource only", pod(corev1.ResourceRequirements{Requests: rl("ephemeral-storage", "1Gi")}), corev1.PodQOSBestEffort},
		{"equal requests and limits", pod(guaranteed, guaranteed), corev1.PodQOSGuaranteed},
		{"cpu limit only", pod(corev1.ResourceRequirements{Requests: rl("cpu", "1"), Limits: rl("cpu", "1")}), corev1.PodQOSBurstable},
		{"requests below limits", pod(corev1.ResourceRequirements{Requests: rl("cpu", "1", "memory", "1Gi"), Limits: rl("cpu", "2", "memory", "1Gi")}), corev1.PodQOSBurstable},
		{"one container without limits", pod(guaranteed, corev1.ResourceRequirements{}), corev1.PodQOSBurstable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ComputeClass(tc.pod); got != tc.want {
				t.Errorf("ComputeClass = %s, want %s", got, tc.want)
			}
		})
	}
	p := pod(corev1.ResourceRequirements{})
	p.Status.QOSClass = corev1.PodQOSBurstable
	if got := PodClass(p); got != corev1.PodQOSBurstable {
		t.Errorf("PodClass ignores status.qosClass: %s", got)
	}
}

func TestContainerOOMScoreAdj(t *testing.T) {
	const capacity = 10 << 30
	for _, tc := range []struct {
		name string
		req  corev1.ResourceRequirements
		crit bool
		want int64
	}{
		{name: "best effort", want: 1000},
		{name: "guaranteed", req: corev1.ResourceRequirements{Requests: rl("cpu", "1", "memory", "1Gi"), Limits: rl("cpu", "1", "memory", "1Gi")}, want: -997},
		{name: "burstable 1Gi of 10Gi", req: corev1.ResourceRequirements{Requests: rl("memory", "1Gi")}, want: 900},
		{name: "burstable tiny request", req: corev1.ResourceRequirements{Requests: rl("memory", "1Ki")}, want: 999},
		{name: "burstable no memory request", req: corev1.ResourceRequirements{Requests: rl("cpu", "1")}, want: 999},
		{name: "burstable whole node", req: corev1.ResourceRequirements{Requests: rl("memory", "10Gi")}, want: 3},
		{name: "node critical static pod", crit: true, want: -997},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := pod(tc.req)
			if tc.crit {
				p.Annotations = map[string]string{"kubernetes.io/config.source": "file"}
				p.Spec.PriorityClassName = "system-node-critical"
			}
			if got := ContainerOOMScoreAdj(p, &p.Spec.Containers[0], capacity); got != tc.want {
				t.Errorf("oom_score_adj = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestConversions(t *testing.T) {
	for _, tc := range []struct{ milli, shares, quota int64 }{
		{0, 2, 0}, {1, 2, 1000}, {5, 5, 1000}, {100, 102, 10000}, {250, 256, 25000}, {1000, 1024, 100000}, {2500, 2560, 250000}, {1000000, 262144, 100000000},
	} {
		if got := MilliCPUToShares(tc.milli); got != tc.shares {
			t.Errorf("MilliCPUToShares(%d) = %d, want %d", tc.milli, got, tc.shares)
		}
		if got := MilliCPUToQuota(tc.milli, QuotaPeriod); got != tc.quota {
			t.Errorf("MilliCPUToQuota(%d) = %d, want %d", tc.milli, got, tc.quota)
		}
	}
	for shares, weight := range map[int64]int64{2: 1, 1024: 39, 262144: 10000} {
		if got := SharesToWeight(shares); got != weight {
			t.Errorf("SharesToWeight(%d) = %d, want %d", shares, got, weight)
		}
	}
}

func TestContainerResources(t *testing.T) {
	p := pod(corev1.ResourceRequirements{Requests: rl("cpu", "250m", "memory", "64Mi"), Limits: rl("cpu", "500m", "memory", "128Mi")})
	r := ContainerResources(p, &p.Spec.Containers[0], 1<<30)
	if r.CpuShares != 256 || r.CpuPeriod != 100000 || r.CpuQuota != 50000 || r.MemoryLimitInBytes != 128<<20 || r.MemorySwapLimitInBytes != 128<<20 || r.OomScoreAdj != 938 {
		t.Errorf("resources %+v", r)
	}
	p = pod(corev1.ResourceRequirements{Limits: rl("cpu", "2")})
	if r := ContainerResources(p, &p.Spec.Containers[0], 1<<30); r.CpuShares != 2048 || r.CpuQuota != 200000 || r.MemoryLimitInBytes != 0 {
		t.Errorf("limit only: %+v", r)
	}
	p = pod(corev1.ResourceRequirements{})
	if r := ContainerResources(p, &p.Spec.Containers[0], 1<<30); r.CpuShares != 2 || r.CpuQuota != 0 || r.CpuPeriod != 0 || r.OomScoreAdj != 1000 {
		t.Errorf("best effort: %+v", r)
	}
}

func TestPodCgroupLimits(t *testing.T) {
	g := corev1.ResourceRequirements{Requests: rl("cpu", "500m", "memory", "100Mi"), Limits: rl("cpu", "500m", "memory", "100Mi")}
	always := corev1.ContainerRestartPolicyAlways
	withInit := pod(g)
	withInit.Spec.InitContainers = []corev1.Container{{Name: "init", Resources: corev1.ResourceRequirements{Requests: rl("cpu", "2", "memory", "1Gi"), Limits: rl("cpu", "2", "memory", "1Gi")}}}
	withSidecar := pod(g)
	withSidecar.Spec.InitContainers = []corev1.Container{{Name: "side", RestartPolicy: &always, Resources: g}}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want Limits
	}{
		{"guaranteed", pod(g, g), Limits{CPUShares: 1024, CPUQuota: 100000, CPUPeriod: 100000, MemoryBytes: 200 << 20}},
		{"burstable, all limited", pod(corev1.ResourceRequirements{Requests: rl("cpu", "100m"), Limits: rl("cpu", "1", "memory", "1Gi")}),
			Limits{CPUShares: 102, CPUQuota: 100000, CPUPeriod: 100000, MemoryBytes: 1 << 30}},
		{"burstable, one unlimited", pod(g, corev1.ResourceRequirements{Requests: rl("cpu", "500m")}), Limits{CPUShares: 1024}},
		{"best effort", pod(corev1.ResourceRequirements{}), Limits{CPUShares: 2}},
		{"init container larger", withInit, Limits{CPUShares: 2048, CPUQuota: 200000, CPUPeriod: 100000, MemoryBytes: 1 << 30}},
		{"sidecar adds up", withSidecar, Limits{CPUShares: 1024, CPUQuota: 100000, CPUPeriod: 100000, MemoryBytes: 200 << 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PodCgroupLimits(tc.pod); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
