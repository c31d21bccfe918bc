package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/skiff/skiff/internal/nodesim"
)

// Scheduler workload of issue 4: plain pods on simulated nodes, measured
// end to end from the first create call to the last pod seen bound.
const (
	schedPods     = 10000
	schedCreators = 32 // concurrent create calls
)

var schedNodeCounts = []int{1000}

// BenchmarkScheduler starts `skiff server --disable-agent` (which runs the
// scheduler), registers simulated nodes from this process, creates
// schedPods plain pods and waits until every one is bound. It reports
// pods/s and the create-to-bound latency per pod.
func BenchmarkScheduler(b *testing.B) {
	for _, nodes := range schedNodeCounts {
		b.Run(fmt.Sprintf("plain/nodes=%d", nodes), func(b *testing.B) {
			for range b.N {
				benchSchedule(b, nodes)
			}
		})
	}
}

func benchSchedule(b *testing.B, nodes int) {
	s := startServer(b)
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
	note("scheduler plain nodes=%-5d %7.0f pods/s  (%d pods bound in %.1fs, created in %.1fs)  create-to-bound p50 %7.1f ms p99 %7.1f ms  (CPU: server %.1fs, bench process %.1fs; load %s)",
		nodes, rate, schedPods, took.Seconds(), createdIn.Seconds(), ms(st.p50), ms(st.p99), cpu.server.Seconds(), cpu.client.Seconds(), loadavg())
}
