package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/skiff/skiff/images/imagebuild"
	"github.com/skiff/skiff/internal/agent"
	"github.com/skiff/skiff/internal/containerd"
	"github.com/skiff/skiff/internal/kubelet/cgroups"
)

// Agent workload of issue 5: busybox pods (a local image) on the server's
// own node, created through the scheduler at a steady rate.
const (
	agentPods       = 100
	agentPodsPerSec = 5  // creation rate of the paced run
	agentSteadyPods = 50 // pods kept running for the resource figures
	// agentSequentialPods are started one after the other first.
	agentSequentialPods = 20
	agentIdleSeconds    = 15 // how long each resource figure is sampled
)

// BenchmarkAgent starts `skiff server` with its agent on a private
// containerd (root only), then measures: the server's, containerd's and
// the shims' resident memory with no pod; pod startup latency (create →
// Running and create → Ready, seen through a watch) for agentPods pods
// created at agentPodsPerSec and then all at once; and memory and CPU
// with agentSteadyPods pods running. A `skiff server --disable-agent` run
// alongside gives the control plane's own share.
func BenchmarkAgent(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	for _, bin := range []string{"containerd", "runc", "containerd-shim-runc-v2"} {
		if _, err := exec.LookPath(bin); err != nil {
			b.Skipf("needs %s (make deps)", bin)
		}
	}
	n := agentPods
	if v, err := strconv.Atoi(os.Getenv("SKIFF_BENCH_AGENT_PODS")); err == nil && v > 0 {
		n = v // a quicker, smaller run
	}
	for range b.N {
		runAgentBench(b, n)
	}
}

// agentServer is a `skiff server` with its agent for node.
type agentServer struct {
	*server
	node, run string
}

func startAgentServer(b *testing.B) *agentServer {
	b.Helper()
	bin := binary(b)
	serverSeq.Lock()
	serverSeq.n++
	root := filepath.Join(workDir, "agent-"+strconv.Itoa(serverSeq.n))
	serverSeq.Unlock()
	s := &agentServer{
		server: &server{dataDir: filepath.Join(root, "data"), logPath: filepath.Join(root, "server.log")},
		node:   fmt.Sprintf("bench-%d", os.Getpid()),
	}
	s.kubeconfig = filepath.Join(s.dataDir, "kubeconfig.yaml")
	s.run = filepath.Join("/run/skiff", s.node)
	b.Cleanup(func() {
		s.stop()
		if b.Failed() {
			b.Logf("skiff server log (last lines of %s):\n%s", s.logPath, s.logTail())
		}
		address := filepath.Join(s.run, "containerd", "containerd.sock")
		if err := containerd.Teardown(address, s.dataDir, s.run); err != nil {
			b.Errorf("teardown: %v", err)
		}
		if err := agent.TeardownNetwork(s.node, s.run); err != nil {
			b.Errorf("network teardown: %v", err)
		}
		for deadline := time.Now().Add(15 * time.Second); ; {
			err := cgroups.RemoveNode(s.node)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				b.Errorf("cgroups: %v", err)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		_ = os.RemoveAll(s.run)
		_ = os.RemoveAll(root)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := imagebuild.Build(ctx, imagebuild.Config{OutDir: filepath.Join(s.dataDir, "agent", "images")}); err != nil {
		b.Fatal(err)
	}
	cidr, err := freeClusterCIDR()
	if err != nil {
		b.Fatal(err)
	}
	s.port = freePort(b)
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "server", "--data-dir", s.dataDir, "--https-listen-port", strconv.Itoa(s.port),
		"--bind-address", "127.0.0.1", "--node-name", s.node, "--kubelet-port", "0", "--cluster-cidr", cidr)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(60 * time.Second); err != nil {
		b.Fatal(err)
	}
	if err := waitFile(s.kubeconfig, 10*time.Second); err != nil {
		b.Fatal(err)
	}
	return s
}

// freeClusterCIDR returns a 10.X.0.0/16 that no route of the machine
// overlaps (other servers on this machine bridge their own pod networks).
func freeClusterCIDR() (string, error) {
	out, err := exec.Command("ip", "-4", "route", "show", "table", "all").Output()
	if err != nil {
		return "", fmt.Errorf("ip route: %w", err)
	}
	for x := 230; x < 250; x++ {
		if !strings.Contains(string(out), fmt.Sprintf("10.%d.", x)) {
			return fmt.Sprintf("10.%d.0.0/16", x), nil
		}
	}
	return "", fmt.Errorf("no free 10.x.0.0/16 for the pod network")
}

// containerdPID returns the PID of the agent's containerd and of its
// shims (found by their -address flag).
func (s *agentServer) runtimePIDs(b *testing.B) (containerdPID int, shims []int) {
	b.Helper()
	socket := filepath.Join(s.run, "containerd", "containerd.sock")
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		switch filepath.Base(args[0]) {
		case "containerd":
			if strings.Contains(string(cmdline), filepath.Join(s.dataDir, "agent")) {
				containerdPID = pid
			}
		case "containerd-shim-runc-v2":
			if strings.Contains(string(cmdline), socket) {
				shims = append(shims, pid)
			}
		}
	}
	if containerdPID == 0 {
		b.Fatal("the agent's containerd is not running")
	}
	return containerdPID, shims
}

func rssMiBOf(pid int) float64 {
	kb, err := procStatusKB(pid, "VmRSS")
	if err != nil {
		return 0
	}
	return float64(kb) / 1024
}

// cpuOf returns the CPU time (user+system) pid has used.
func cpuOf(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// resources samples, over agentIdleSeconds, the CPU share and the final
// resident memory of the server, containerd and the shims.
type resources struct {
	serverMiB, containerdMiB, shimsMiB float64
	shims                              int
	serverCPU, containerdCPU           float64 // percent of one core
}

func (s *agentServer) sample(b *testing.B) resources {
	b.Helper()
	cd, _ := s.runtimePIDs(b)
	srv := s.cmd.Process.Pid
	s0, c0, t0 := cpuOf(srv), cpuOf(cd), time.Now()
	time.Sleep(agentIdleSeconds * time.Second) // sampling a steady state, not waiting for one
	s1, c1, el := cpuOf(srv), cpuOf(cd), time.Since(t0)
	var r resources
	r.serverCPU = 100 * float64(s1-s0) / float64(el)
	r.containerdCPU = 100 * float64(c1-c0) / float64(el)
	r.serverMiB, r.containerdMiB = rssMiBOf(srv), rssMiBOf(cd)
	_, shims := s.runtimePIDs(b)
	r.shims = len(shims)
	for _, p := range shims {
		r.shimsMiB += rssMiBOf(p)
	}
	return r
}

// podTimes records when each pod was created and first seen Running and
// Ready.
type podTimes struct {
	mu                      sync.Mutex
	created, running, ready map[string]time.Time
	done                    chan struct{}
	want                    int
	// prefix starts the names of the pods of this run.
	prefix string
}

func newPodTimes(prefix string, want int) *podTimes {
	return &podTimes{created: map[string]time.Time{}, running: map[string]time.Time{}, ready: map[string]time.Time{},
		done: make(chan struct{}), want: want, prefix: prefix}
}

func (pt *podTimes) observe(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || !strings.HasPrefix(pod.Name, pt.prefix) {
		return // another run's pod
	}
	now := time.Now()
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if pod.Status.Phase == corev1.PodRunning {
		if _, ok := pt.running[pod.Name]; !ok {
			pt.running[pod.Name] = now
		}
	}
	if podReady(pod) {
		{
			if _, ok := pt.ready[pod.Name]; !ok {
				pt.ready[pod.Name] = now
				if len(pt.ready) == pt.want {
					close(pt.done)
				}
			}
		}
	}
}

func (pt *podTimes) latencies() (running, ready []time.Duration) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	for name, c := range pt.created {
		if t, ok := pt.running[name]; ok {
			running = append(running, max(t.Sub(c), 0))
		}
		if t, ok := pt.ready[name]; ok {
			ready = append(ready, max(t.Sub(c), 0))
		}
	}
	return running, ready
}

func busyboxPod(name string) *corev1.Pod {
	grace := int64(0)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"bench": "agent"}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{{
				Name: "main", Image: "busybox", ImagePullPolicy: corev1.PullIfNotPresent,
				Command: []string{"sleep", "86400"},
			}},
		},
	}
}

// startPods creates n pods named prefix-i, every interval (0: all at
// once, from 10 goroutines), and waits until all are Ready.
func startPods(b *testing.B, cs, watch kubernetes.Interface, prefix string, n int, interval time.Duration) (running, ready stats) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	pt := newPodTimes(prefix+"-", n)
	factory := informers.NewSharedInformerFactoryWithOptions(watch, 0, informers.WithNamespace("default"))
	inf := factory.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    pt.observe,
		UpdateFunc: func(_, o any) { pt.observe(o) },
	}); err != nil {
		b.Fatal(err)
	}
	stop := make(chan struct{})
	factory.Start(stop)
	defer factory.Shutdown() // after close(stop): Shutdown waits for the informers to end
	defer close(stop)
	cache.WaitForCacheSync(ctx.Done(), inf.HasSynced)

	create := func(i int) {
		name := fmt.Sprintf("%s-%d", prefix, i)
		t := time.Now()
		if _, err := cs.CoreV1().Pods("default").Create(ctx, busyboxPod(name), metav1.CreateOptions{}); err != nil {
			b.Errorf("create %s: %v", name, err)
			return
		}
		pt.mu.Lock()
		pt.created[name] = t
		pt.mu.Unlock()
	}
	if interval > 0 {
		tick := time.NewTicker(interval)
		for i := range n {
			create(i)
			<-tick.C
		}
		tick.Stop()
	} else {
		var wg sync.WaitGroup
		next := make(chan int)
		for range 10 {
			wg.Go(func() {
				for i := range next {
					create(i)
				}
			})
		}
		for i := range n {
			next <- i
		}
		close(next)
		wg.Wait()
	}
	select {
	case <-pt.done:
	case <-ctx.Done():
		pt.mu.Lock()
		seen := len(pt.ready)
		pt.mu.Unlock()
		l, err := cs.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{})
		ready := 0
		if err == nil {
			for i := range l.Items {
				if podReady(&l.Items[i]) {
					ready++
				}
			}
		}
		b.Fatalf("saw %d of %d pods Ready (the API says %d of %d, %v)", seen, n, ready, len(l.Items), err)
	}
	r, rd := pt.latencies()
	return summarize(r), summarize(rd)
}

// deletePods deletes the bench pods matching selector and waits until
// keep remain.
func deletePods(b *testing.B, cs kubernetes.Interface, names []string, keep int) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	zero := int64(0)
	for _, name := range names {
		if err := cs.CoreV1().Pods("default").Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
			b.Errorf("delete %s: %v", name, err)
		}
	}
	for {
		l, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "bench=agent"})
		if err == nil && len(l.Items) == keep {
			return
		}
		select {
		case <-ctx.Done():
			b.Fatalf("pods not deleted: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func runAgentBench(b *testing.B, pods int) {
	base := startServer(b) // --disable-agent: the control plane alone
	s := startAgentServer(b)
	cs := s.client(b)
	// The informer's watches must outlive the clientset's request timeout.
	wcfg, err := clientcmd.BuildConfigFromFlags("", s.kubeconfig)
	if err != nil {
		b.Fatal(err)
	}
	wcfg.QPS = -1
	watch, err := kubernetes.NewForConfig(wcfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		n, err := cs.CoreV1().Nodes().Get(ctx, s.node, metav1.GetOptions{})
		if err == nil && nodeReady(n) {
			break
		}
		select {
		case <-ctx.Done():
			b.Fatalf("node %s not Ready: %v", s.node, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	// The default ServiceAccount must exist before pods are admitted.
	for {
		if _, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			b.Fatal("no default ServiceAccount")
		case <-time.After(100 * time.Millisecond):
		}
	}

	baseCPU0, t0 := cpuOf(base.cmd.Process.Pid), time.Now()
	idle := s.sample(b)
	baseCPU := 100 * float64(cpuOf(base.cmd.Process.Pid)-baseCPU0) / float64(time.Since(t0))
	baseMiB := base.rssMiB(b)
	note("agent idle (0 pods, load %s): server+agent %.1f MiB RSS, %.1f%% CPU; server --disable-agent %.1f MiB, %.1f%% CPU; containerd %.1f MiB, %.1f%% CPU; agent share ≈ %.1f MiB, agent+containerd ≈ %.1f MiB",
		loadavg(), idle.serverMiB, idle.serverCPU, baseMiB, baseCPU, idle.containerdMiB, idle.containerdCPU,
		idle.serverMiB-baseMiB, idle.serverMiB-baseMiB+idle.containerdMiB)
	b.ReportMetric(idle.serverMiB-baseMiB+idle.containerdMiB, "agent+containerd-idle-MiB")

	// One pod at a time: the latency of the start path itself, with no
	// other pod starting meanwhile.
	var names []string
	var seqRun, seqReady []time.Duration
	for i := range agentSequentialPods {
		prefix := fmt.Sprintf("seq-%d", i)
		names = append(names, prefix+"-0")
		run, ready := startPods(b, cs, watch, prefix, 1, 0)
		seqRun, seqReady = append(seqRun, run.p50), append(seqReady, ready.p50)
	}
	run, ready := summarize(seqRun), summarize(seqReady)
	note("pod startup, %d pods one at a time (load %s): create→Running p50 %.0f ms p99 %.0f ms max %.0f ms; create→Ready p50 %.0f ms p99 %.0f ms max %.0f ms",
		agentSequentialPods, loadavg(), ms(run.p50), ms(run.p99), ms(run.max), ms(ready.p50), ms(ready.p99), ms(ready.max))
	reportLatency(b, "single-running", run)
	reportLatency(b, "single-ready", ready)
	deletePods(b, cs, names, 0)

	names = names[:0]
	for i := range pods {
		names = append(names, fmt.Sprintf("paced-%d", i))
	}
	run, ready = startPods(b, cs, watch, "paced", pods, time.Second/agentPodsPerSec)
	note("pod startup, %d pods at %d/s (load %s): create→Running p50 %.0f ms p99 %.0f ms max %.0f ms; create→Ready p50 %.0f ms p99 %.0f ms max %.0f ms",
		pods, agentPodsPerSec, loadavg(), ms(run.p50), ms(run.p99), ms(run.max), ms(ready.p50), ms(ready.p99), ms(ready.max))
	reportLatency(b, "paced-running", run)
	reportLatency(b, "paced-ready", ready)
	deletePods(b, cs, names, 0)

	names = names[:0]
	for i := range pods {
		names = append(names, fmt.Sprintf("burst-%d", i))
	}
	run, ready = startPods(b, cs, watch, "burst", pods, 0)
	note("pod startup, %d pods at once (load %s): create→Running p50 %.0f ms p99 %.0f ms max %.0f ms; create→Ready p50 %.0f ms p99 %.0f ms max %.0f ms",
		pods, loadavg(), ms(run.p50), ms(run.p99), ms(run.max), ms(ready.p50), ms(ready.p99), ms(ready.max))
	reportLatency(b, "burst-running", run)
	reportLatency(b, "burst-ready", ready)

	steadyPods := min(agentSteadyPods, pods)
	deletePods(b, cs, names[steadyPods:], steadyPods)
	steady := s.sample(b)
	note("agent with %d pods (load %s): server+agent %.1f MiB RSS, %.1f%% CPU; containerd %.1f MiB, %.1f%% CPU; %d shims %.1f MiB in all (%.1f MiB each)",
		steadyPods, loadavg(), steady.serverMiB, steady.serverCPU, steady.containerdMiB, steady.containerdCPU,
		steady.shims, steady.shimsMiB, steady.shimsMiB/float64(max(steady.shims, 1)))
	b.ReportMetric(steady.serverMiB, "server-50pods-MiB")
	b.ReportMetric(steady.containerdMiB, "containerd-50pods-MiB")
	deletePods(b, cs, names[:steadyPods], 0)
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
