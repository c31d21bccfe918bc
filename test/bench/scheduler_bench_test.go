package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff/skiff/internal/nodesim"
)

// Scheduler workloads of issue 4 on simulated nodes, measured end to end
// from the first create call to the last pod seen bound.
const (
	schedPods     = 10000
	schedCreators = 32 // concurrent create calls
	// schedGroup is the size of the deployment-like groups of the
	// anti-affinity and spread workloads.
	schedAntiGroup   = 10
	schedSpreadGroup = 100
)

var (
	schedNodeCounts = []int{1000, 5000}
	schedWorkloads  = []string{"plain", "antiaffinity", "spread"}
)

// BenchmarkScheduler starts `skiff server --disable-agent` (which runs the
// scheduler) once per case, registers simulated nodes from this process,
// creates schedPods pods and waits until every one is bound. It reports
// pods/s and the create-to-bound latency per pod. Cases are
// <workload>/nodes=<N>/borg=<on|off>, borg=off switching off equivalence
// classes, score caching and relaxed randomization through the
// configuration's skiff section. Workloads:
//   - plain: 10m cpu, 16Mi memory, no constraints;
//   - antiaffinity: the same in groups of 10 pods (label group=gNNNN),
//     each with required anti-affinity to its own group on
//     kubernetes.io/hostname (one pod of a group per node);
//   - spread: the same in groups of 100 pods, each with a topology spread
//     constraint on topology.kubernetes.io/zone, maxSkew 1,
//     DoNotSchedule, selecting its own group.
func BenchmarkScheduler(b *testing.B) {
	for _, workload := range schedWorkloads {
		for _, nodes := range schedNodeCounts {
			for _, borg := range []bool{true, false} {
				name := fmt.Sprintf("%s/nodes=%d/borg=%s", workload, nodes, map[bool]string{true: "on", false: "off"}[borg])
				b.Run(name, func(b *testing.B) {
					for range b.N {
						benchSchedule(b, workload, nodes, borg)
					}
				})
			}
		}
	}
}

// schedBenchPod returns pod i of workload.
func schedBenchPod(workload string, i int) *corev1.Pod {
	name := fmt.Sprintf("p-%05d", i)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "bench"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "registry.k8s.io/pause:3.10",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi"),
			}},
		}}},
	}
	switch workload {
	case "antiaffinity":
		group := fmt.Sprintf("g%04d", i/schedAntiGroup)
		pod.Labels["group"] = group
		pod.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"group": group}},
				TopologyKey:   corev1.LabelHostname,
			}},
		}}
	case "spread":
		group := fmt.Sprintf("g%04d", i/schedSpreadGroup)
		pod.Labels["group"] = group
		pod.Spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.DoNotSchedule,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"group": group}},
		}}
	}
	return pod
}

const borgOffConfig = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
skiff:
  equivalenceClasses: false
  scoreCaching: false
  relaxedRandomization: false
`

func benchSchedule(b *testing.B, workload string, nodes int, borg bool) {
	var args []string
	if !borg {
		conf := filepath.Join(b.TempDir(), "scheduler.yaml")
		if err := os.WriteFile(conf, []byte(borgOffConfig), 0o644); err != nil {
			b.Fatal(err)
		}
		args = append(args, "--scheduler-config", conf)
	}
	s := startServer(b, args...)
	cs := s.client(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	simClient := s.client(b)
	sim, err := nodesim.New(nodesim.Config{
		Client: simClient, Count: nodes, Zones: []string{"zone-a", "zone-b", "zone-c"},
		PodCIDR: "10.64.0.0/10", NodeCIDRMaskSize: 26, // room for 5,000 nodes
	})
	if err != nil {
		b.Fatal(err)
	}
	simDone := make(chan error, 1)
	go func() { simDone <- sim.Run(ctx) }()
	defer func() { cancel(); <-simDone }()
	select {
	case <-sim.Ready():
	case err := <-simDone:
		b.Fatalf("simulator: %v", err)
	case <-time.After(5 * time.Minute):
		b.Fatal("simulated nodes not ready")
	}
	createNamespace(b, cs, "sched")

	var (
		mu      sync.Mutex
		created = make(map[string]time.Time, schedPods)
		lat     latencies
		bound   atomic.Int64
		allDone = make(chan time.Time, 1)
	)
	// An informer (not a bare watch) so that a closed watch is resumed.
	var seen sync.Map
	onPod := func(obj any) {
		p, ok := obj.(*corev1.Pod)
		if !ok || p.Spec.NodeName == "" {
			return
		}
		if _, dup := seen.LoadOrStore(p.Name, true); dup {
			return
		}
		now := time.Now()
		mu.Lock()
		t0, ok := created[p.Name]
		mu.Unlock()
		if ok {
			lat.add(now.Sub(t0))
		}
		if bound.Add(1) == schedPods {
			allDone <- now
		}
	}
	factory := informers.NewSharedInformerFactoryWithOptions(s.client(b), 0, informers.WithNamespace("sched"))
	if _, err := factory.Core().V1().Pods().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: onPod, UpdateFunc: func(_, obj any) { onPod(obj) },
	}); err != nil {
		b.Fatal(err)
	}
	factory.Start(ctx.Done())
	defer func() { cancel(); factory.Shutdown() }() // Shutdown waits for ctx
	factory.WaitForCacheSync(ctx.Done())

	cpu0 := s.cpu(b)
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range schedCreators {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= schedPods {
					return
				}
				pod := schedBenchPod(workload, int(i))
				name := pod.Name
				mu.Lock()
				created[name] = time.Now()
				mu.Unlock()
				if _, err := cs.CoreV1().Pods("sched").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
					b.Errorf("create %s: %v", name, err)
					return
				}
			}
		})
	}
	wg.Wait()
	createdIn := time.Since(start)
	var end time.Time
	select {
	case end = <-allDone:
	case <-time.After(10 * time.Minute):
		b.Fatalf("only %d of %d pods bound after 10m", bound.Load(), schedPods)
	}
	took := end.Sub(start)
	cpu := s.cpu(b).sub(cpu0)
	rate := float64(schedPods) / took.Seconds()
	st := lat.stats()
	b.ReportMetric(rate, "pods/s")
	reportLatency(b, "bound", st)
	b.Logf("%d pods bound in %.1fs: %.0f pods/s; create-to-bound p50 %.1f ms p99 %.1f ms", schedPods, took.Seconds(), rate, ms(st.p50), ms(st.p99))
	verifyScheduled(b, cs, factory.Core().V1().Pods().Informer().GetStore())
	note("scheduler %-12s nodes=%-5d borg=%-3v %7.0f pods/s  (%d pods bound in %.1fs, created in %.1fs)  create-to-bound p50 %7.1f ms p99 %7.1f ms  (CPU: server %.1fs, bench process %.1fs; load %s)",
		workload, nodes, map[bool]string{true: "on", false: "off"}[borg], rate, schedPods, took.Seconds(), createdIn.Seconds(), ms(st.p50), ms(st.p99), cpu.server.Seconds(), cpu.client.Seconds(), loadavg())
}

// verifyScheduled checks, after the measurement, that the run did the
// whole per-pod work and not only the binding: every pod got its
// Scheduled event and was marked Running by its simulated node.
func verifyScheduled(b *testing.B, cs kubernetes.Interface, pods cache.Store) {
	b.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		running := 0
		for _, obj := range pods.List() {
			if p, ok := obj.(*corev1.Pod); ok && p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		if running == schedPods {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d pods Running 2m after the last was bound", running, schedPods)
		}
		time.Sleep(100 * time.Millisecond) // polling a local cache, not waiting for time to pass
	}
	events, err := cs.CoreV1().Events("sched").List(context.Background(), metav1.ListOptions{FieldSelector: "reason=Scheduled"})
	if err != nil {
		b.Fatal(err)
	}
	if n := len(events.Items); n != schedPods {
		b.Fatalf("%d Scheduled events, want one per pod (%d)", n, schedPods)
	}
}
