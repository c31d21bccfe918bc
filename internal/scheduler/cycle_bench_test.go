package scheduler

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// cyclePods is how many pods BenchmarkSchedulingCycles schedules per case.
var cyclePods = flag.Int("cycle-pods", 10000, "pods per case of BenchmarkSchedulingCycles")

// benchCyclePod is pod i of the scheduling-cycle benchmark's workload
// (the same shapes as test/bench's end-to-end scheduler benchmark).
func benchCyclePod(workload string, i int) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p-%05d", i), Namespace: "bench", UID: types.UID(fmt.Sprintf("uid-%d", i)),
			Labels: map[string]string{"app": "bench"}},
		Spec: v1.PodSpec{SchedulerName: DefaultSchedulerName, Containers: []v1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10",
			Resources: v1.ResourceRequirements{Requests: v1.ResourceList{
				v1.ResourceCPU: resource.MustParse("10m"), v1.ResourceMemory: resource.MustParse("16Mi")}}}}},
	}
	switch workload {
	case "antiaffinity":
		g := fmt.Sprintf("g%04d", i/10)
		p.Labels["group"] = g
		p.Spec.Affinity = &v1.Affinity{PodAntiAffinity: &v1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []v1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"group": g}}, TopologyKey: v1.LabelHostname}}}}
	case "spread":
		g := fmt.Sprintf("g%04d", i/100)
		p.Labels["group"] = g
		p.Spec.TopologySpreadConstraints = []v1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: v1.LabelTopologyZone,
			WhenUnsatisfiable: v1.DoNotSchedule, LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"group": g}}}}
	}
	return p
}

// BenchmarkSchedulingCycles measures the scheduler alone: scheduling
// cycles (snapshot update, PreFilter, Filter, Score, select, assume) for
// 10,000 pods on 1,000 or 5,000 nodes in memory, without the API server,
// binding or informers, with Borg's techniques on and off. It reports
// pods/s, the p99 cycle time and the process's CPU time per pod (the
// figure to compare on a shared machine).
//
//	go test -run '^$' -bench SchedulingCycles -benchtime 1x ./internal/scheduler/
func BenchmarkSchedulingCycles(b *testing.B) {
	pods := *cyclePods
	for _, workload := range []string{"plain", "antiaffinity", "spread"} {
		for _, nodes := range []int{1000, 5000} {
			for _, borg := range []bool{true, false} {
				name := fmt.Sprintf("%s/nodes=%d/borg=%s", workload, nodes, map[bool]string{true: "on", false: "off"}[borg])
				b.Run(name, func(b *testing.B) {
					for range b.N {
						benchCycles(b, workload, nodes, pods, borg)
					}
				})
			}
		}
	}
}

func benchCycles(b *testing.B, workload string, nodes, pods int, borg bool) {
	cs := fake.NewClientset()
	tech := SkiffSettings{}
	if !borg {
		off := false
		tech = SkiffSettings{EquivalenceClasses: &off, ScoreCaching: &off, RelaxedRandomization: &off}
	}
	s, err := New(Config{Client: cs, Informers: informers.NewSharedInformerFactory(cs, 0), Configuration: &Configuration{Skiff: &tech}})
	if err != nil {
		b.Fatal(err)
	}
	s.rand = rand.New(rand.NewPCG(1, 2))
	zones := []string{"zone-a", "zone-b", "zone-c"}
	for i := range nodes {
		name := fmt.Sprintf("sim-%04d", i)
		n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: "1", Labels: map[string]string{
			v1.LabelHostname: name, v1.LabelTopologyZone: zones[i%3], v1.LabelOSStable: "linux"}}}
		n.Status.Allocatable = v1.ResourceList{v1.ResourceCPU: resource.MustParse("32"), v1.ResourceMemory: resource.MustParse("128Gi"),
			v1.ResourcePods: resource.MustParse("110"), v1.ResourceEphemeralStorage: resource.MustParse("100Gi")}
		s.cache.AddNode(n)
	}
	fw := s.profiles[DefaultSchedulerName]
	ctx := context.Background()
	lat := make([]time.Duration, 0, pods)
	b.ResetTimer()
	cpu0 := processCPU(b)
	start := time.Now()
	for i := range pods {
		pod := benchCyclePod(workload, i)
		t0 := time.Now()
		s.cache.UpdateSnapshot(s.snapshot)
		res, err := s.schedulePod(ctx, fw, framework.NewCycleState(), pod)
		if err != nil {
			b.Fatalf("pod %d: %v", i, err)
		}
		pod.Spec.NodeName = res.host
		s.cache.AssumePod(pod)
		lat = append(lat, time.Since(t0))
	}
	took := time.Since(start)
	cpu := processCPU(b) - cpu0
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(pods)/took.Seconds(), "pods/s")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "cycle-p99-ms")
	// CPU per pod says what a cycle costs whatever else the machine runs.
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(pods), "cpu-ms/pod")
}

// processCPU returns the user and system CPU time of this process.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
