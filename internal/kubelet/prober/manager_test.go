package prober

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/skiff/skiff/internal/cri"
	"github.com/skiff/skiff/internal/cri/fakecri"
)

var containerSeq atomic.Int32

// runContainer runs a busybox container in a new sandbox of rt.
func runContainer(t *testing.T, rt *fakecri.Runtime) string {
	t.Helper()
	ctx := context.Background()
	n := strconv.Itoa(int(containerSeq.Add(1)))
	sbCfg := &runtimeapi.PodSandboxConfig{Metadata: &runtimeapi.PodSandboxMetadata{Name: "p" + n, Namespace: "ns", Uid: "u" + n}}
	sb, err := rt.RunPodSandbox(ctx, sbCfg, "")
	if err != nil {
		t.Fatal(err)
	}
	id, err := rt.CreateContainer(ctx, sb, &runtimeapi.ContainerConfig{
		Metadata: &runtimeapi.ContainerMetadata{Name: "c"},
		Image:    &runtimeapi.ImageSpec{Image: "busybox"}}, sbCfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.StartContainer(ctx, id); err != nil {
		t.Fatal(err)
	}
	return id
}

// probeHarness is a manual Manager whose exec probes answer from a table
// of commands set by the test.
type probeHarness struct {
	m       *Manager
	clock   *clocktesting.FakeClock
	rt      *fakecri.Runtime
	rec     *record.FakeRecorder
	mu      sync.Mutex
	healthy map[string]bool // by command
	calls   map[string]int
	changes int
}

func newProbeHarness(t *testing.T) *probeHarness {
	t.Helper()
	h := &probeHarness{
		clock:   clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		rec:     record.NewFakeRecorder(100),
		healthy: map[string]bool{},
		calls:   map[string]int{},
	}
	h.rt = fakecri.New(fakecri.Config{Now: h.clock.Now, Exec: func(_ string, cmd []string) (cri.ExecResult, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.calls[cmd[0]]++
		if h.healthy[cmd[0]] {
			return cri.ExecResult{}, nil
		}
		return cri.ExecResult{ExitCode: 1, Stdout: []byte(cmd[0] + " is down")}, nil
	}})
	h.rt.AddImage("busybox")
	h.m = NewManager(Config{Runner: &Runner{Exec: h.rt}, Clock: h.clock, Recorder: h.rec,
		OnChange: func(string) { h.mu.Lock(); h.changes++; h.mu.Unlock() }})
	h.m.manual = true
	return h
}

func (h *probeHarness) set(cmd string, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.healthy[cmd] = ok
}

func (h *probeHarness) count(cmd string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[cmd]
}

func execProbe(cmd string, mod func(*corev1.Probe)) *corev1.Probe {
	p := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{cmd}}}}
	if mod != nil {
		mod(p)
	}
	return p
}

func probePod(c corev1.Container) *corev1.Pod {
	c.Name = "app"
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", UID: "uid-1"},
		Spec:       corev1.PodSpec{RestartPolicy: corev1.RestartPolicyAlways, Containers: []corev1.Container{c}},
	}
}

// probe runs the worker of kind once.
func (h *probeHarness) probe(t *testing.T, kind Kind) {
	t.Helper()
	w := h.m.pods["default/web"].workers[workerKey{"app", kind}]
	if w == nil {
		t.Fatalf("no %s worker", kind)
	}
	if !w.doProbe(context.Background()) {
		t.Fatalf("%s worker stopped", kind)
	}
}

func TestLivenessFailureThreshold(t *testing.T) {
	t.Parallel()
	h := newProbeHarness(t)
	h.m.AddPod(context.Background(), probePod(corev1.Container{LivenessProbe: execProbe("live", nil)}))
	id := runContainer(t, h.rt)
	st := ContainerState{ID: id, Running: true, StartedAt: h.clock.Now()}
	if started, ready := h.m.ContainerStatus("default/web", "app", st); !started || !ready {
		t.Fatalf("started %v ready %v; want both (no startup or readiness probe)", started, ready)
	}
	h.set("live", true)
	h.probe(t, Liveness)
	h.set("live", false)
	for i := 1; i <= 3; i++ {
		if _, _, failed := h.m.Failed("default/web", "app", id); failed {
			t.Fatalf("failed after %d failures, want 3", i-1)
		}
		h.probe(t, Liveness)
	}
	kind, _, failed := h.m.Failed("default/web", "app", id)
	if !failed || kind != Liveness {
		t.Fatalf("Failed = %v %v after 3 failures", kind, failed)
	}
	if e := <-h.rec.Events; e != "Warning Unhealthy Liveness probe failed: live is down" {
		t.Errorf("event %q", e)
	}
	// On hold until the container is replaced.
	before := h.count("live")
	h.probe(t, Liveness)
	if h.count("live") != before {
		t.Error("probed a container that failed its liveness probe")
	}
	id2 := runContainer(t, h.rt)
	h.m.ContainerStatus("default/web", "app", ContainerState{ID: id2, Running: true, StartedAt: h.clock.Now()})
	if _, _, failed := h.m.Failed("default/web", "app", id2); failed {
		t.Error("the new container inherited the failure")
	}
	h.probe(t, Liveness)
	if h.count("live") != before+1 {
		t.Error("the new container is not probed")
	}
}

func TestReadinessThresholds(t *testing.T) {
	t.Parallel()
	h := newProbeHarness(t)
	h.m.AddPod(context.Background(), probePod(corev1.Container{ReadinessProbe: execProbe("ready", func(p *corev1.Probe) {
		p.SuccessThreshold, p.FailureThreshold = 2, 2
	})}))
	id := runContainer(t, h.rt)
	st := ContainerState{ID: id, Running: true, StartedAt: h.clock.Now()}
	ready := func() bool { _, r := h.m.ContainerStatus("default/web", "app", st); return r }
	if ready() {
		t.Fatal("ready before the first probe")
	}
	h.set("ready", true)
	for i, want := range []bool{false, true, true} {
		h.probe(t, Readiness)
		if ready() != want {
			t.Fatalf("after %d successes ready = %v, want %v", i+1, !want, want)
		}
	}
	h.set("ready", false)
	for i, want := range []bool{true, false} {
		h.probe(t, Readiness)
		if ready() != want {
			t.Fatalf("after %d failures ready = %v, want %v", i+1, !want, want)
		}
	}
	if h.changes < 2 {
		t.Errorf("OnChange called %d times, want at least 2 (ready, unready)", h.changes)
	}
	// An exited container is not ready, and with restartPolicy Always the
	// worker goes on.
	h.set("ready", true)
	h.probe(t, Readiness)
	h.probe(t, Readiness)
	st.Running, st.Exited = false, true
	h.m.ContainerStatus("default/web", "app", st)
	h.probe(t, Readiness)
	if ready() {
		t.Error("an exited container is ready")
	}
}

func TestStartupGatesLivenessAndReadiness(t *testing.T) {
	t.Parallel()
	h := newProbeHarness(t)
	h.m.AddPod(context.Background(), probePod(corev1.Container{
		StartupProbe:   execProbe("startup", func(p *corev1.Probe) { p.FailureThreshold = 30 }),
		LivenessProbe:  execProbe("live", nil),
		ReadinessProbe: execProbe("ready", nil),
	}))
	id := runContainer(t, h.rt)
	st := ContainerState{ID: id, Running: true, StartedAt: h.clock.Now()}
	h.set("live", false)
	h.set("ready", true)
	h.m.ContainerStatus("default/web", "app", st)
	for range 3 {
		h.probe(t, Startup)
		h.probe(t, Liveness)
		h.probe(t, Readiness)
	}
	if h.count("live") != 0 || h.count("ready") != 0 {
		t.Fatalf("liveness probed %d, readiness %d times before the startup probe succeeded", h.count("live"), h.count("ready"))
	}
	if started, ready := h.m.ContainerStatus("default/web", "app", st); started || ready {
		t.Fatalf("started %v ready %v before the startup probe succeeded", started, ready)
	}
	h.set("startup", true)
	h.probe(t, Startup)
	started, _ := h.m.ContainerStatus("default/web", "app", st)
	if !started {
		t.Fatal("not started after the startup probe succeeded")
	}
	h.probe(t, Startup)
	if h.count("startup") != 4 {
		t.Errorf("startup probed %d times, want 4 (it stops once started)", h.count("startup"))
	}
	h.probe(t, Readiness)
	if _, ready := h.m.ContainerStatus("default/web", "app", st); !ready {
		t.Error("not ready after startup and readiness succeeded")
	}
	h.probe(t, Liveness)
	if h.count("live") != 1 {
		t.Errorf("liveness probed %d times after start, want 1", h.count("live"))
	}
}

func TestStartupProbeFailureKills(t *testing.T) {
	t.Parallel()
	h := newProbeHarness(t)
	h.m.AddPod(context.Background(), probePod(corev1.Container{
		StartupProbe: execProbe("startup", func(p *corev1.Probe) { p.FailureThreshold = 2 }),
	}))
	id := runContainer(t, h.rt)
	h.m.ContainerStatus("default/web", "app", ContainerState{ID: id, Running: true, StartedAt: h.clock.Now()})
	h.probe(t, Startup)
	h.probe(t, Startup)
	if kind, _, failed := h.m.Failed("default/web", "app", id); !failed || kind != Startup {
		t.Fatalf("Failed = %v %v, want Startup", kind, failed)
	}
}

func TestInitialDelay(t *testing.T) {
	t.Parallel()
	h := newProbeHarness(t)
	h.m.AddPod(context.Background(), probePod(corev1.Container{LivenessProbe: execProbe("live", func(p *corev1.Probe) {
		p.InitialDelaySeconds = 15
	})}))
	id := runContainer(t, h.rt)
	h.m.ContainerStatus("default/web", "app", ContainerState{ID: id, Running: true, StartedAt: h.clock.Now()})
	h.clock.Step(14 * time.Second)
	h.probe(t, Liveness)
	if h.count("live") != 0 {
		t.Fatal("probed before initialDelaySeconds")
	}
	h.clock.Step(time.Second)
	h.probe(t, Liveness)
	if h.count("live") != 1 {
		t.Fatal("not probed after initialDelaySeconds")
	}
}

// TestWorkerPeriod runs a real worker goroutine on the fake clock: it
// probes at once and then once per periodSeconds.
func TestWorkerPeriod(t *testing.T) {
	t.Parallel()
	h := newProbeHarness(t)
	h.m.manual = false
	defer h.m.Stop()
	changed := make(chan string, 10)
	h.m.cfg.OnChange = func(key string) { changed <- key }
	id := runContainer(t, h.rt)
	h.m.AddPod(context.Background(), probePod(corev1.Container{ReadinessProbe: execProbe("ready", func(p *corev1.Probe) {
		p.PeriodSeconds = 5
	})}))
	h.set("ready", true)
	// The status triggers a first probe at once.
	h.m.ContainerStatus("default/web", "app", ContainerState{ID: id, Running: true, StartedAt: h.clock.Now()})
	waitFor(t, "first probe", func() bool { return h.count("ready") >= 1 })
	if key := <-changed; key != "default/web" {
		t.Fatalf("OnChange(%q)", key)
	}
	n := h.count("ready")
	waitFor(t, "ticker", func() bool { return h.clock.HasWaiters() })
	h.clock.Step(5 * time.Second)
	waitFor(t, "periodic probe", func() bool { return h.count("ready") > n })
}

// waitFor polls cond for up to 10 s (real time: worker goroutines).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRemovePodStopsWorkers(t *testing.T) {
	t.Parallel()
	h := newProbeHarness(t)
	h.m.manual = false
	h.m.AddPod(context.Background(), probePod(corev1.Container{LivenessProbe: execProbe("live", nil)}))
	h.m.RemovePod("default/web")
	done := make(chan struct{})
	go func() { h.m.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("workers did not stop")
	}
	if len(h.m.pods) != 0 {
		t.Error("pod still known")
	}
}
