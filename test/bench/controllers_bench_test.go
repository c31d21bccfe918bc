package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"

	"github.com/skiff/skiff/internal/nodesim"
)

// Controller-manager workloads of issue 3, on simulated nodes: the real
// scheduler (in the server) binds the pods, nodesim (in this process) marks
// them Running and Ready at once.
const (
	ctlNodes       = 100
	ctlDeployments = 100
	ctlReplicas    = 10   // per Deployment of the first workload
	ctlBig         = 1000 // replicas of the rolled Deployment
	ctlCreators    = 10   // concurrent Deployment creates
	ctlTimeout     = 15 * time.Minute
)

// BenchmarkControllers starts `skiff server --disable-agent` (controllers
// and scheduler in the server process), registers ctlNodes simulated nodes
// from this process and times two workloads:
//
//   - deployments: ctlDeployments Deployments of ctlReplicas replicas are
//     created at once; time from the first create call to every Deployment
//     Available with all its replicas updated and available.
//   - rollout: one Deployment of ctlBig replicas (default RollingUpdate,
//     25%/25%) is brought up, then its image is changed; time from the
//     update call to updated = available = replicas = ctlBig with the old
//     ReplicaSet at 0 (spec and status).
//
// CPU is the server process's (/proc/<pid>/stat: API server, etcd,
// scheduler and controllers together) and this process's (nodesim and
// the watching informers). SKIFF_BENCH_PROFILE=DIR also has the server
// serve pprof and writes consecutive 5 s CPU profiles of each timed phase
// to DIR, to split the server's CPU among its parts with `go tool pprof`.
func BenchmarkControllers(b *testing.B) {
	b.Run(fmt.Sprintf("deployments=%dx%d/nodes=%d", ctlDeployments, ctlReplicas, ctlNodes), func(b *testing.B) {
		for range b.N {
			benchDeployments(b)
		}
	})
	b.Run(fmt.Sprintf("rollout=%d/nodes=%d", ctlBig, ctlNodes), func(b *testing.B) {
		for range b.N {
			benchRollout(b)
		}
	})
}

// ctlEnv is a server with simulated nodes and informers on one namespace's
// Deployments, ReplicaSets and Pods.
type ctlEnv struct {
	s       *server
	cs      *kubernetes.Clientset
	ns      string
	ctx     context.Context
	prof    *profiler
	deploys cache.Indexer
	rsets   cache.Indexer
	pods    cache.Indexer
	// changed receives a token (never blocking) on every informer event.
	changed chan struct{}
	// podsSeen, podsBound and podsReady count pods seen at all, bound and
	// Ready for the first time, by name; once a count reaches podTarget
	// (when set) the time is kept in the matching *At (Unix ns).
	podTarget                      int64
	podsSeen, podsBound, podsReady atomic.Int64
	seenAt, boundAt, readyAt       atomic.Int64
	seen, seenBound, seenReady     sync.Map
}

// firstTime counts name in m once and stores the time in at when the
// count reaches e.podTarget.
func (e *ctlEnv) firstTime(m *sync.Map, n, at *atomic.Int64, name string) {
	if _, dup := m.LoadOrStore(name, true); dup {
		return
	}
	if n.Add(1) == e.podTarget {
		at.Store(time.Now().UnixNano())
	}
}

func startCtlEnv(b *testing.B, ns string, podTarget int64) *ctlEnv {
	var prof *profiler
	if dir := os.Getenv("SKIFF_BENCH_PROFILE"); dir != "" {
		addr := "127.0.0.1:" + strconv.Itoa(freePort(b))
		b.Setenv("SKIFF_PPROF", addr)
		prof = &profiler{addr: addr, dir: dir}
	}
	s := startServer(b)
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	e := &ctlEnv{s: s, cs: s.client(b), ns: ns, ctx: ctx, prof: prof, changed: make(chan struct{}, 1), podTarget: podTarget}

	sim, err := nodesim.New(nodesim.Config{Client: s.client(b), Count: ctlNodes, Zones: []string{"zone-a", "zone-b", "zone-c"}})
	if err != nil {
		b.Fatal(err)
	}
	simDone := make(chan error, 1)
	go func() { simDone <- sim.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-simDone })
	select {
	case <-sim.Ready():
	case err := <-simDone:
		b.Fatalf("simulator: %v", err)
	case <-time.After(5 * time.Minute):
		b.Fatal("simulated nodes not ready")
	}
	createNamespace(b, e.cs, ns)

	factory := informers.NewSharedInformerFactoryWithOptions(s.client(b), 0, informers.WithNamespace(ns))
	poke := func() {
		select {
		case e.changed <- struct{}{}:
		default:
		}
	}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { poke() },
		UpdateFunc: func(_, _ any) { poke() },
		DeleteFunc: func(any) { poke() },
	}
	onPod := func(obj any) {
		p, ok := obj.(*corev1.Pod)
		if !ok {
			return
		}
		e.firstTime(&e.seen, &e.podsSeen, &e.seenAt, p.Name)
		if p.Spec.NodeName != "" {
			e.firstTime(&e.seenBound, &e.podsBound, &e.boundAt, p.Name)
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				e.firstTime(&e.seenReady, &e.podsReady, &e.readyAt, p.Name)
			}
		}
	}
	dInf := factory.Apps().V1().Deployments().Informer()
	rsInf := factory.Apps().V1().ReplicaSets().Informer()
	podInf := factory.Core().V1().Pods().Informer()
	for _, inf := range []cache.SharedIndexInformer{dInf, rsInf} {
		if _, err := inf.AddEventHandler(handler); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := podInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: onPod, UpdateFunc: func(_, obj any) { onPod(obj) },
	}); err != nil {
		b.Fatal(err)
	}
	e.deploys, e.rsets, e.pods = dInf.GetIndexer(), rsInf.GetIndexer(), podInf.GetIndexer()
	factory.Start(ctx.Done())
	b.Cleanup(func() { cancel(); factory.Shutdown() }) // Shutdown waits for ctx
	factory.WaitForCacheSync(ctx.Done())
	return e
}

// waitFor evaluates done on every informer event (and every second) until
// it is true, and returns the time it first was. progress describes the
// state for the failure message.
func (e *ctlEnv) waitFor(b *testing.B, what string, done func() bool, progress func() string) time.Time {
	b.Helper()
	deadline := time.NewTimer(ctlTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for !done() {
		select {
		case <-e.changed:
		case <-tick.C:
		case <-deadline.C:
			b.Fatalf("%s: not done after %v: %s", what, ctlTimeout, progress())
		}
	}
	return time.Now()
}

// deploymentDone reports whether d has rolled out its current generation:
// replicas updated, available and nothing else left, Available=True.
func deploymentDone(d *appsv1.Deployment) bool {
	want := *d.Spec.Replicas
	st := d.Status
	if st.ObservedGeneration < d.Generation || st.Replicas != want || st.UpdatedReplicas != want || st.AvailableReplicas != want {
		return false
	}
	for _, c := range st.Conditions {
		if c.Type == appsv1.DeploymentAvailable {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func benchDeployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "app", Image: "registry.k8s.io/pause:3.10",
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
						corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi"),
					}},
				}}},
			},
		},
	}
}

func benchDeployments(b *testing.B) {
	e := startCtlEnv(b, "deploys", ctlDeployments*ctlReplicas)
	allDone := func() bool {
		n := 0
		for _, o := range e.deploys.List() {
			if deploymentDone(o.(*appsv1.Deployment)) {
				n++
			}
		}
		return n == ctlDeployments
	}
	progress := func() string {
		n := 0
		for _, o := range e.deploys.List() {
			if deploymentDone(o.(*appsv1.Deployment)) {
				n++
			}
		}
		return fmt.Sprintf("%d/%d Deployments done, %d ReplicaSets, %d pods (%d seen, %d bound, %d ready)",
			n, ctlDeployments, len(e.rsets.List()), len(e.pods.List()), e.podsSeen.Load(), e.podsBound.Load(), e.podsReady.Load())
	}

	stopProf := e.prof.start(b, "deployments")
	cpu0 := e.s.cpu(b)
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range ctlCreators {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= ctlDeployments {
					return
				}
				d := benchDeployment(fmt.Sprintf("d-%03d", i), ctlReplicas)
				if _, err := e.cs.AppsV1().Deployments(e.ns).Create(e.ctx, d, metav1.CreateOptions{}); err != nil {
					b.Errorf("create deployment %s: %v", d.Name, err)
					return
				}
			}
		})
	}
	wg.Wait()
	createdIn := time.Since(start)
	end := e.waitFor(b, "deployments", allDone, progress)
	cpu := e.s.cpu(b).sub(cpu0)
	stopProf()
	took := end.Sub(start)
	since := func(at *atomic.Int64) time.Duration { return time.Unix(0, at.Load()).Sub(start) }
	created, bound, ready := since(&e.seenAt), since(&e.boundAt), since(&e.readyAt)

	b.ReportMetric(took.Seconds(), "available-s")
	b.ReportMetric(cpu.server.Seconds(), "server-cpu-s")
	b.ReportMetric(cpu.client.Seconds(), "bench-cpu-s")
	b.Logf("%d Deployments x %d replicas available in %.1fs (Deployments created in %.2fs; all pods seen at %.1fs, bound at %.1fs, Ready at %.1fs); CPU server %.1fs, bench process %.1fs",
		ctlDeployments, ctlReplicas, took.Seconds(), createdIn.Seconds(), created.Seconds(), bound.Seconds(), ready.Seconds(), cpu.server.Seconds(), cpu.client.Seconds())
	note("controllers deployments=%dx%d nodes=%d  all Available in %6.1fs  (creates %.2fs; all pods seen %.1fs, bound %.1fs, Ready %.1fs)  (CPU: server %.1fs, bench process %.1fs; load %s)",
		ctlDeployments, ctlReplicas, ctlNodes, took.Seconds(), createdIn.Seconds(), created.Seconds(), bound.Seconds(), ready.Seconds(), cpu.server.Seconds(), cpu.client.Seconds(), loadavg())
}

func benchRollout(b *testing.B) {
	e := startCtlEnv(b, "rollout", 0)
	const name = "big"
	get := func() *appsv1.Deployment {
		o, ok, _ := e.deploys.GetByKey(e.ns + "/" + name)
		if !ok {
			return nil
		}
		return o.(*appsv1.Deployment)
	}
	// others returns the ReplicaSets of the Deployment other than the one
	// whose pod-template-hash is hash.
	others := func(hash string) []*appsv1.ReplicaSet {
		var out []*appsv1.ReplicaSet
		for _, o := range e.rsets.List() {
			rs := o.(*appsv1.ReplicaSet)
			if rs.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != hash {
				out = append(out, rs)
			}
		}
		return out
	}
	progress := func() string {
		d := get()
		if d == nil {
			return "no Deployment"
		}
		s := fmt.Sprintf("generation %d observed %d, replicas %d updated %d ready %d available %d; ReplicaSets:",
			d.Generation, d.Status.ObservedGeneration, d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas)
		for _, o := range e.rsets.List() {
			rs := o.(*appsv1.ReplicaSet)
			s += fmt.Sprintf(" %s spec %d status %d/%d available", rs.Name, *rs.Spec.Replicas, rs.Status.Replicas, rs.Status.AvailableReplicas)
		}
		return s + fmt.Sprintf("; %d pods in cache", len(e.pods.List()))
	}

	// Bring it up (timed too: scaling from 0 to ctlBig).
	cpu0 := e.s.cpu(b)
	start := time.Now()
	if _, err := e.cs.AppsV1().Deployments(e.ns).Create(e.ctx, benchDeployment(name, ctlBig), metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	upAt := e.waitFor(b, "scale up", func() bool { d := get(); return d != nil && deploymentDone(d) }, progress)
	upCPU := e.s.cpu(b).sub(cpu0)
	up := upAt.Sub(start)

	// Roll it to a new image.
	stopProf := e.prof.start(b, "rollout")
	cpu0 = e.s.cpu(b)
	start = time.Now()
	var gen int64
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := e.cs.AppsV1().Deployments(e.ns).Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		d.Spec.Template.Spec.Containers[0].Image = "registry.k8s.io/pause:3.10.1"
		d, err = e.cs.AppsV1().Deployments(e.ns).Update(e.ctx, d, metav1.UpdateOptions{})
		if err == nil {
			gen = d.Generation
		}
		return err
	})
	if err != nil {
		b.Fatalf("set image: %v", err)
	}
	rolled := func() bool {
		d := get()
		if d == nil || d.Generation < gen || !deploymentDone(d) {
			return false
		}
		// The new ReplicaSet is the one whose template has the new image.
		var hash string
		for _, o := range e.rsets.List() {
			rs := o.(*appsv1.ReplicaSet)
			if rs.Spec.Template.Spec.Containers[0].Image == "registry.k8s.io/pause:3.10.1" {
				hash = rs.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
			}
		}
		if hash == "" {
			return false
		}
		for _, rs := range others(hash) {
			if *rs.Spec.Replicas != 0 || rs.Status.Replicas != 0 {
				return false
			}
		}
		return true
	}
	end := e.waitFor(b, "rollout", rolled, progress)
	cpu := e.s.cpu(b).sub(cpu0)
	stopProf()
	took := end.Sub(start)

	b.ReportMetric(took.Seconds(), "rollout-s")
	b.ReportMetric(up.Seconds(), "scale-up-s")
	b.ReportMetric(cpu.server.Seconds(), "server-cpu-s")
	b.ReportMetric(cpu.client.Seconds(), "bench-cpu-s")
	b.Logf("%d replicas: up in %.1fs (CPU server %.1fs, bench %.1fs); rolled to a new image in %.1fs (CPU server %.1fs, bench %.1fs)",
		ctlBig, up.Seconds(), upCPU.server.Seconds(), upCPU.client.Seconds(), took.Seconds(), cpu.server.Seconds(), cpu.client.Seconds())
	note("controllers rollout=%d nodes=%d  scale-up 0->%d %6.1fs (CPU: server %.1fs, bench %.1fs)  rolled to new image in %6.1fs  (CPU: server %.1fs, bench process %.1fs; load %s)",
		ctlBig, ctlNodes, ctlBig, up.Seconds(), upCPU.server.Seconds(), upCPU.client.Seconds(), took.Seconds(), cpu.server.Seconds(), cpu.client.Seconds(), loadavg())
}

// profiler fetches consecutive CPU profiles from the server's pprof
// endpoint (SKIFF_PPROF) into dir while a phase runs. A nil profiler does
// nothing.
type profiler struct {
	addr, dir string
}

// start begins profiling the phase; the returned func stops after the
// current 5 s profile and waits for it to be written.
func (p *profiler) start(b *testing.B, phase string) (stop func()) {
	if p == nil {
		return func() {}
	}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		b.Fatal(err)
	}
	var quit atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; !quit.Load(); i++ {
			resp, err := http.Get("http://" + p.addr + "/debug/pprof/profile?seconds=5")
			if err != nil {
				b.Logf("profile: %v", err)
				return
			}
			path := filepath.Join(p.dir, fmt.Sprintf("%s-%03d.pprof", phase, i))
			f, err := os.Create(path)
			if err == nil {
				_, err = io.Copy(f, resp.Body)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
			resp.Body.Close()
			if err != nil {
				b.Logf("profile %s: %v", path, err)
				return
			}
		}
	}()
	return func() { quit.Store(true); <-done }
}
