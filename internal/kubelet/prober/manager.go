package prober

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
)

// Kind is the kind of a probe; its value is the word upstream's events
// use ("Liveness probe failed: ...").
type Kind string

// Probe kinds.
const (
	Liveness  Kind = "Liveness"
	Readiness Kind = "Readiness"
	Startup   Kind = "Startup"
)

// Config configures a Manager. Runner is required.
type Config struct {
	Runner *Runner
	// Clock times probes (default the real clock).
	Clock clock.WithTicker
	// Recorder records Unhealthy events (nil: none).
	Recorder record.EventRecorder
	// OnChange is called, without locks held, with the key
	// ("namespace/name") of a pod when a result of one of its containers
	// changes, so that its status is synced again.
	OnChange func(podKey string)
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// ContainerState is what the kubelet last saw of a container; workers
// probe from it.
type ContainerState struct {
	// ID is the runtime's ID of the container's newest instance ("" when
	// none exists).
	ID string
	// Running reports whether it runs, since StartedAt.
	Running   bool
	StartedAt time.Time
	// Exited reports whether it has exited (and not been restarted yet).
	Exited bool
	// PodIP is the default host of network probes.
	PodIP string
	// Terminating reports whether the pod is being deleted: liveness and
	// startup probes stop then.
	Terminating bool
}

// Manager runs the probe workers of the pods of a node. Create it with
// NewManager; it is safe for concurrent use.
type Manager struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	pods    map[string]*podProbes
	results map[resultKey]Result
	wg      sync.WaitGroup
	// manual makes AddPod start no goroutines: tests drive doProbe.
	manual bool
}

type resultKey struct {
	containerID string
	kind        Kind
}

type workerKey struct {
	container string
	kind      Kind
}

// podProbes is the probe state of one pod. Its maps are guarded by
// Manager.mu.
type podProbes struct {
	uid           types.UID
	ref           corev1.ObjectReference
	restartPolicy corev1.RestartPolicy
	workers       map[workerKey]*worker
	states        map[string]ContainerState
}

// NewManager returns a Manager with defaults filled in.
func NewManager(cfg Config) *Manager {
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.OnChange == nil {
		cfg.OnChange = func(string) {}
	}
	return &Manager{cfg: cfg, log: cfg.Logger, pods: map[string]*podProbes{}, results: map[resultKey]Result{}}
}

// AddPod starts the workers of pod's probes unless they run already. The
// workers end when ctx does, when the pod is removed or when Stop is
// called. A pod replaced by another of the same name (a new UID) gets new
// workers.
func (m *Manager) AddPod(ctx context.Context, pod *corev1.Pod) {
	key := pod.Namespace + "/" + pod.Name
	m.mu.Lock()
	defer m.mu.Unlock()
	if p := m.pods[key]; p != nil {
		if p.uid == pod.UID {
			return
		}
		m.removeLocked(key)
	}
	p := &podProbes{
		uid: pod.UID,
		ref: corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name,
			UID: pod.UID, ResourceVersion: pod.ResourceVersion},
		restartPolicy: pod.Spec.RestartPolicy,
		workers:       map[workerKey]*worker{},
		states:        map[string]ContainerState{},
	}
	m.pods[key] = p
	add := func(c *corev1.Container, fieldPath string) {
		for kind, probe := range map[Kind]*corev1.Probe{Liveness: c.LivenessProbe, Readiness: c.ReadinessProbe, Startup: c.StartupProbe} {
			if probe == nil {
				continue
			}
			wctx, cancel := context.WithCancel(ctx)
			w := &worker{
				m: m, podKey: key, pod: p, container: *c.DeepCopy(), fieldPath: fieldPath,
				kind: kind, spec: withDefaults(probe, kind), stop: cancel, trigger: make(chan struct{}, 1),
			}
			p.workers[workerKey{c.Name, kind}] = w
			if !m.manual {
				m.wg.Go(func() { w.run(wctx) })
			}
		}
	}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			add(c, fmt.Sprintf("spec.initContainers{%s}", c.Name))
		}
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		add(c, fmt.Sprintf("spec.containers{%s}", c.Name))
	}
}

// RemovePod stops the workers of the pod with key and forgets its
// results.
func (m *Manager) RemovePod(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.removeLocked(key)
}

func (m *Manager) removeLocked(key string) {
	p := m.pods[key]
	if p == nil {
		return
	}
	for _, w := range p.workers {
		w.stop()
	}
	for _, st := range p.states {
		for _, kind := range []Kind{Liveness, Readiness, Startup} {
			delete(m.results, resultKey{st.ID, kind})
		}
	}
	delete(m.pods, key)
}

// Stop stops every worker and waits for them.
func (m *Manager) Stop() {
	m.mu.Lock()
	for key := range m.pods {
		m.removeLocked(key)
	}
	m.mu.Unlock()
	m.wg.Wait()
}

// ContainerStatus records the state of container name of the pod with
// key for its workers and returns whether the container counts as
// started (running, and its startup probe, if any, succeeded) and ready
// (started, and its readiness probe, if any, succeeded).
func (m *Manager) ContainerStatus(podKey, name string, st ContainerState) (started, ready bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.pods[podKey]
	if p == nil {
		return st.Running, st.Running
	}
	if old, ok := p.states[name]; ok && old.ID != st.ID && old.ID != "" {
		for _, kind := range []Kind{Liveness, Readiness, Startup} {
			delete(m.results, resultKey{old.ID, kind})
		}
	}
	p.states[name] = st
	started = m.startedLocked(p, name, st)
	ready = started
	if w := p.workers[workerKey{name, Readiness}]; w != nil && started {
		r, ok := m.results[resultKey{st.ID, Readiness}]
		ready = ok && r == Success
		if !ok {
			// Probe at once rather than a period after the start.
			select {
			case w.trigger <- struct{}{}:
			default:
			}
		}
	}
	return started, ready
}

// startedLocked reports whether the container counts as started.
func (m *Manager) startedLocked(p *podProbes, name string, st ContainerState) bool {
	if !st.Running {
		return false
	}
	if p.workers[workerKey{name, Startup}] == nil {
		return true
	}
	return m.results[resultKey{st.ID, Startup}] == Success
}

// Failed reports whether the container with id (container name of the
// pod with key) failed its liveness or startup probe and must be
// restarted, and returns which probe failed.
func (m *Manager) Failed(podKey, name, id string) (Kind, *corev1.Probe, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.pods[podKey]
	if p == nil || id == "" {
		return "", nil, false
	}
	for _, kind := range []Kind{Liveness, Startup} {
		if w := p.workers[workerKey{name, kind}]; w != nil && m.results[resultKey{id, kind}] == Failure {
			return kind, &w.spec, true
		}
	}
	return "", nil, false
}

// state returns the container state a worker probes.
func (m *Manager) state(w *worker) (ContainerState, bool, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := w.pod.states[w.container.Name]
	return st, ok, ok && m.startedLocked(w.pod, w.container.Name, st)
}

// set stores a worker's result and reports a change to OnChange.
func (m *Manager) set(w *worker, id string, r Result) {
	m.mu.Lock()
	k := resultKey{id, w.kind}
	old, had := m.results[k]
	if m.pods[w.podKey] != w.pod {
		m.mu.Unlock()
		return // removed meanwhile
	}
	m.results[k] = r
	m.mu.Unlock()
	if !had || old != r {
		m.cfg.OnChange(w.podKey)
	}
}

// setQuiet stores a worker's initial result without reporting it.
func (m *Manager) setQuiet(w *worker, id string, r Result) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pods[w.podKey] == w.pod {
		m.results[resultKey{id, w.kind}] = r
	}
}

// withDefaults returns a copy of p with the API's defaults for unset
// fields (the API server sets them, but static pods and tests may not).
func withDefaults(p *corev1.Probe, kind Kind) corev1.Probe {
	out := *p.DeepCopy()
	if out.PeriodSeconds <= 0 {
		out.PeriodSeconds = 10
	}
	if out.TimeoutSeconds <= 0 {
		out.TimeoutSeconds = 1
	}
	if out.SuccessThreshold <= 0 || kind != Readiness {
		out.SuccessThreshold = 1
	}
	if out.FailureThreshold <= 0 {
		out.FailureThreshold = 3
	}
	return out
}
