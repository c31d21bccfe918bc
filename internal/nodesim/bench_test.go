package nodesim_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/nodesim"
	"github.com/skiff/skiff/internal/testutil"
)

// BenchmarkIdleHeartbeat runs 1,000 and 5,000 simulated nodes against an
// in-process server and measures them at idle (heartbeats only, no pods).
// Run it once per size:
//
//	go test -run '^$' -bench IdleHeartbeat -benchtime 1x -timeout 30m ./internal/nodesim/
//
// Figures: register-s (all nodes registered and the pod cache synced),
// sim-cores (CPU of the simulator's goroutines, from a labelled CPU
// profile), process-cores and server-idle-cores (the whole process, with
// the API server and etcd serving the heartbeats, and the server alone
// before), sim-heap-MiB (live heap allocated under nodesim frames),
// heap-delta-MiB (live heap growth of the process, the server's caches of
// the Nodes and Leases included), and max-lease-age-s (the stalest Lease
// at the end: at most HeartbeatInterval when the simulator keeps up).
// NODESIM_BENCH_WINDOW changes the measuring window (default 30s).
func BenchmarkIdleHeartbeat(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) { benchIdle(b, n) })
	}
}

func benchIdle(b *testing.B, count int) {
	window := 30 * time.Second
	if d, err := time.ParseDuration(os.Getenv("NODESIM_BENCH_WINDOW")); err == nil && d > 0 {
		window = d
	}
	s := testutil.StartServer(b)
	baseline := processCores(b, window/3)
	heap0 := liveHeap()

	client, err := nodesim.NewClient(s.RESTConfig())
	if err != nil {
		b.Fatal(err)
	}
	sim, err := nodesim.New(nodesim.Config{Client: client, Count: count, PodCIDR: "10.64.0.0/10"})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go pprof.Do(ctx, pprof.Labels("component", "nodesim"), func(ctx context.Context) { done <- sim.Run(ctx) })
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	select {
	case <-sim.Ready():
	case err := <-done:
		b.Fatalf("simulator stopped: %v", err)
	case <-time.After(10 * time.Minute):
		b.Fatal("simulator not ready after 10 minutes")
	}
	register := time.Since(start)
	// One full period, so that every node has settled into its rhythm.
	time.Sleep(nodesim.DefaultHeartbeatInterval) // measuring idle time is the point

	var cpuProf bytes.Buffer
	if err := pprof.StartCPUProfile(&cpuProf); err != nil {
		b.Fatal(err)
	}
	cores := processCores(b, window)
	pprof.StopCPUProfile()
	prof, err := parseProfile(cpuProf.Bytes())
	if err != nil {
		b.Fatalf("cpu profile: %v", err)
	}
	simNs := prof.sum("cpu", func(s sample) bool { return s.labels["component"] == "nodesim" })

	leases, err := client.CoordinationV1().Leases(nodesim.LeaseNamespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var maxAge time.Duration
	for _, l := range leases.Items {
		if l.Spec.RenewTime != nil {
			maxAge = max(maxAge, time.Since(l.Spec.RenewTime.Time))
		}
	}
	heap1 := liveHeap()
	var heapProf bytes.Buffer
	if err := pprof.Lookup("heap").WriteTo(&heapProf, 0); err != nil {
		b.Fatal(err)
	}
	hp, err := parseProfile(heapProf.Bytes())
	if err != nil {
		b.Fatalf("heap profile: %v", err)
	}
	simHeap := hp.sum("inuse_space", func(s sample) bool { return hp.inStack(s, "internal/nodesim.") })

	const mib = 1 << 20
	b.ReportMetric(register.Seconds(), "register-s")
	b.ReportMetric(float64(simNs)/float64(window), "sim-cores")
	b.ReportMetric(cores, "process-cores")
	b.ReportMetric(baseline, "server-idle-cores")
	b.ReportMetric(float64(simHeap)/mib, "sim-heap-MiB")
	b.ReportMetric(float64(int64(heap1)-int64(heap0))/mib, "heap-delta-MiB")
	b.ReportMetric(maxAge.Seconds(), "max-lease-age-s")
	b.ReportMetric(float64(len(leases.Items)), "leases")
}

// processCores returns the CPU time the whole process used over d, in
// cores (CPU seconds per second).
func processCores(b *testing.B, d time.Duration) float64 {
	b.Helper()
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	c0, t0 := cpu(), time.Now()
	time.Sleep(d) // the measuring window
	return float64(cpu()-c0) / float64(time.Since(t0))
}

// liveHeap returns the live heap after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
