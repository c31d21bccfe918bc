package kubelet

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/skiff/skiff/internal/cri"
	"github.com/skiff/skiff/internal/cri/fakecri"
)

// execLog records the commands run in containers, in order.
type execLog struct {
	mu   sync.Mutex
	cmds []string
	// fail lists commands that exit 1.
	fail map[string]bool
}

func (l *execLog) exec(_ string, cmd []string) (cri.ExecResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := strings.Join(cmd, " ")
	l.cmds = append(l.cmds, c)
	if l.fail[c] {
		return cri.ExecResult{ExitCode: 1, Stderr: []byte(c + " failed")}, nil
	}
	return cri.ExecResult{}, nil
}

func (l *execLog) setFail(cmd string, fail bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fail[cmd] = fail
}

// newLifecycleHarness is newHarness with busybox present and exec
// commands answered by the returned log.
func newLifecycleHarness(t *testing.T) (*harness, *execLog) {
	t.Helper()
	h := newHarness(t)
	l := &execLog{fail: map[string]bool{}}
	rt := fakecri.New(fakecri.Config{Now: h.clock.Now, Images: []string{"busybox"}, Exec: l.exec})
	h.rt, h.k.runtime, h.k.images = rt, rt, rt
	h.k.probes = newProbeManager(h.k)
	t.Cleanup(h.k.probes.Stop)
	t.Cleanup(h.k.stopRecorder)
	return h, l
}

// podWith returns the test pod with its spec changed by mod.
func podWith(policy corev1.RestartPolicy, mod func(*corev1.PodSpec)) *corev1.Pod {
	pod := testPod(policy, corev1.PullIfNotPresent)
	mod(&pod.Spec)
	return pod
}

// runningNames returns the names of the running containers.
func (h *harness) runningNames(t *testing.T) []string {
	t.Helper()
	list, err := h.rt.ListContainers(context.Background(), &runtimeapi.ContainerFilter{State: &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range list {
		names = append(names, c.Labels[labelContainerName])
	}
	slices.Sort(names)
	return names
}

// runningID returns the ID of the running container called name.
func (h *harness) runningID(t *testing.T, name string) string {
	t.Helper()
	list, _ := h.rt.ListContainers(context.Background(), &runtimeapi.ContainerFilter{
		State:         &runtimeapi.ContainerStateValue{State: runtimeapi.ContainerState_CONTAINER_RUNNING},
		LabelSelector: map[string]string{labelContainerName: name}})
	if len(list) != 1 {
		t.Fatalf("running containers called %s: %d, want 1", name, len(list))
	}
	return list[0].Id
}

// waitEvent polls the fake API for an event with reason and message (the
// recorder writes asynchronously).
func (h *harness) waitEvent(t *testing.T, reason, message string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err := h.client.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, e := range list.Items {
			if e.Reason == reason && e.Message == message {
				if e.Source.Component != "kubelet" || e.Source.Host != "n1" {
					t.Errorf("event source %+v, want kubelet on n1", e.Source)
				}
				return
			}
			seen = append(seen, e.Reason+": "+e.Message)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no event %s %q; events:\n%s", reason, message, strings.Join(seen, "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func condition(pod *corev1.Pod, typ corev1.PodConditionType) corev1.PodCondition {
	for _, c := range pod.Status.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return corev1.PodCondition{}
}

func TestInitContainersRunInOrder(t *testing.T) {
	t.Parallel()
	h, _ := newLifecycleHarness(t)
	h.create(t, podWith(corev1.RestartPolicyAlways, func(s *corev1.PodSpec) {
		s.InitContainers = []corev1.Container{{Name: "init1", Image: "busybox"}, {Name: "init2", Image: "busybox"}}
	}))
	pod, _ := h.sync(t)
	if got := h.runningNames(t); !slices.Equal(got, []string{"init1"}) {
		t.Fatalf("running %v, want [init1]", got)
	}
	if pod.Status.Phase != corev1.PodPending {
		t.Errorf("phase %s, want Pending", pod.Status.Phase)
	}
	if c := condition(pod, corev1.PodInitialized); c.Status != corev1.ConditionFalse || c.Reason != "ContainersNotInitialized" || c.Message != "containers with incomplete status: [init1 init2]" {
		t.Errorf("Initialized %+v", c)
	}
	ics := pod.Status.InitContainerStatuses
	if len(ics) != 2 || ics[0].Name != "init1" || ics[0].State.Running == nil || ics[1].State.Waiting == nil || ics[1].State.Waiting.Reason != "PodInitializing" {
		t.Fatalf("init container statuses %+v", ics)
	}
	if w := pod.Status.ContainerStatuses[0].State.Waiting; w == nil || w.Reason != "PodInitializing" {
		t.Errorf("app container state %+v, want waiting PodInitializing", pod.Status.ContainerStatuses[0].State)
	}

	if err := h.rt.ExitContainer(h.runningID(t, "init1"), 0, ""); err != nil {
		t.Fatal(err)
	}
	pod, _ = h.sync(t)
	if got := h.runningNames(t); !slices.Equal(got, []string{"init2"}) {
		t.Fatalf("after init1: running %v, want [init2]", got)
	}
	if c := condition(pod, corev1.PodInitialized); c.Message != "containers with incomplete status: [init2]" {
		t.Errorf("Initialized %+v", c)
	}
	if !pod.Status.InitContainerStatuses[0].Ready {
		t.Error("init1 succeeded but is not ready")
	}

	if err := h.rt.ExitContainer(h.runningID(t, "init2"), 0, ""); err != nil {
		t.Fatal(err)
	}
	pod, _ = h.sync(t)
	if got := h.runningNames(t); !slices.Equal(got, []string{"web"}) {
		t.Fatalf("after init2: running %v, want [web]", got)
	}
	if pod.Status.Phase != corev1.PodRunning || condition(pod, corev1.PodInitialized).Status != corev1.ConditionTrue || condition(pod, corev1.PodReady).Status != corev1.ConditionTrue {
		t.Errorf("phase %s conditions %+v", pod.Status.Phase, pod.Status.Conditions)
	}
	// Init containers do not run again when the app container restarts.
	if err := h.rt.ExitContainer(h.runningID(t, "web"), 1, ""); err != nil {
		t.Fatal(err)
	}
	h.sync(t)
	if got := h.runningNames(t); !slices.Equal(got, []string{"web"}) {
		t.Errorf("after the app restarted: running %v, want [web]", got)
	}
}

func TestInitContainerFailure(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		policy    corev1.RestartPolicy
		wantPhase corev1.PodPhase
		// wantWaiting is the init container's waiting reason after a second
		// failure ("" when it stays terminated).
		wantWaiting string
	}{
		{corev1.RestartPolicyNever, corev1.PodFailed, ""},
		{corev1.RestartPolicyAlways, corev1.PodPending, "CrashLoopBackOff"},
		{corev1.RestartPolicyOnFailure, corev1.PodPending, "CrashLoopBackOff"},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			t.Parallel()
			h, _ := newLifecycleHarness(t)
			h.create(t, podWith(tc.policy, func(s *corev1.PodSpec) {
				s.InitContainers = []corev1.Container{{Name: "init1", Image: "busybox"}}
			}))
			h.sync(t)
			if err := h.rt.ExitContainer(h.runningID(t, "init1"), 1, ""); err != nil {
				t.Fatal(err)
			}
			pod, _ := h.sync(t)
			if tc.policy == corev1.RestartPolicyNever {
				ics := pod.Status.InitContainerStatuses[0]
				if pod.Status.Phase != corev1.PodFailed || ics.State.Terminated == nil || ics.State.Terminated.Reason != "Error" {
					t.Fatalf("phase %s init state %+v; want Failed, terminated Error (kubectl: Init:Error)", pod.Status.Phase, ics.State)
				}
				if len(h.runningNames(t)) != 0 {
					t.Errorf("running %v after the init container failed", h.runningNames(t))
				}
				return
			}
			// Restarted at once, then held back.
			if err := h.rt.ExitContainer(h.runningID(t, "init1"), 1, ""); err != nil {
				t.Fatal(err)
			}
			pod, _ = h.sync(t)
			ics := pod.Status.InitContainerStatuses[0]
			if pod.Status.Phase != tc.wantPhase || ics.State.Waiting == nil || ics.State.Waiting.Reason != tc.wantWaiting || ics.RestartCount != 1 {
				t.Fatalf("phase %s init status %+v", pod.Status.Phase, ics)
			}
			if len(h.runningNames(t)) != 0 {
				t.Errorf("running %v while the init container backs off", h.runningNames(t))
			}
			h.waitEvent(t, "BackOff", "Back-off restarting failed container init1 in pod web_default(uid-1)")
		})
	}
}

func TestLivenessFailureRestarts(t *testing.T) {
	t.Parallel()
	// The fake's containers exit 0 when stopped: OnFailure restarts them
	// all the same after a liveness failure, as upstream.
	for _, policy := range []corev1.RestartPolicy{corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure} {
		t.Run(string(policy), func(t *testing.T) {
			t.Parallel()
			testLivenessFailureRestarts(t, policy)
		})
	}
}

func testLivenessFailureRestarts(t *testing.T, policy corev1.RestartPolicy) {
	h, l := newLifecycleHarness(t)
	h.create(t, podWith(policy, func(s *corev1.PodSpec) {
		s.Containers[0].LivenessProbe = &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"check"}}},
			PeriodSeconds: 1, FailureThreshold: 2,
		}
		s.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"drain"}}}}
	}))
	pod, err := h.client.CoreV1().Pods("default").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h.k.probes.AddPod(context.Background(), pod)
	h.sync(t)
	first := h.runningID(t, "web")
	l.setFail("check", true)
	key := "default/web"
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, _, failed := h.k.probes.Failed(key, "web", first); failed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("liveness never failed")
		}
		if h.clock.HasWaiters() {
			h.clock.Step(time.Second)
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.sync(t) // starts stopping it
	h.k.tasks.wait()
	pod, _ = h.sync(t)
	cs := pod.Status.ContainerStatuses[0]
	if cs.RestartCount != 1 || cs.State.Running == nil || cs.LastTerminationState.Terminated == nil || h.runningID(t, "web") == first {
		t.Fatalf("after the liveness failure: %+v", cs)
	}
	l.mu.Lock()
	cmds := slices.Clone(l.cmds)
	l.mu.Unlock()
	if !slices.Contains(cmds, "drain") {
		t.Errorf("preStop hook not run; commands %v", cmds)
	}
	h.waitEvent(t, "Killing", "Container web failed liveness probe, will be restarted")
	h.waitEvent(t, "Unhealthy", "Liveness probe failed: check failed")
}

func TestReadinessProbeGatesReady(t *testing.T) {
	t.Parallel()
	h, l := newLifecycleHarness(t)
	h.create(t, podWith(corev1.RestartPolicyAlways, func(s *corev1.PodSpec) {
		s.Containers[0].ReadinessProbe = &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"ready"}}},
			PeriodSeconds: 1,
		}
	}))
	pod, _ := h.client.CoreV1().Pods("default").Get(context.Background(), "web", metav1.GetOptions{})
	l.setFail("ready", true)
	h.k.probes.AddPod(context.Background(), pod)
	pod, _ = h.sync(t)
	if pod.Status.ContainerStatuses[0].Ready || condition(pod, corev1.PodReady).Status != corev1.ConditionFalse {
		t.Fatal("ready before the readiness probe succeeded")
	}
	if c := condition(pod, corev1.ContainersReady); c.Reason != "ContainersNotReady" || c.Message != "containers with unready status: [web]" {
		t.Errorf("ContainersReady %+v", c)
	}
	l.setFail("ready", false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		pod, _ = h.sync(t)
		if condition(pod, corev1.PodReady).Status == corev1.ConditionTrue {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("never became ready")
		}
		if h.clock.HasWaiters() {
			h.clock.Step(time.Second)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !pod.Status.ContainerStatuses[0].Ready || !*pod.Status.ContainerStatuses[0].Started {
		t.Errorf("container status %+v", pod.Status.ContainerStatuses[0])
	}
}

func TestPostStartHookFailure(t *testing.T) {
	t.Parallel()
	h, l := newLifecycleHarness(t)
	l.setFail("setup", true)
	h.create(t, podWith(corev1.RestartPolicyAlways, func(s *corev1.PodSpec) {
		s.Containers[0].Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"setup"}}}}
	}))
	pod, _ := h.sync(t)
	cs := pod.Status.ContainerStatuses[0]
	if len(h.runningNames(t)) != 0 || cs.State.Waiting == nil || cs.State.Waiting.Reason != "PostStartHookError" {
		t.Fatalf("after a failed postStart: running %v, state %+v", h.runningNames(t), cs.State)
	}
	h.waitEvent(t, "FailedPostStartHook", `Exec lifecycle hook ([setup]) for Container "web" in Pod "web_default(uid-1)" failed - error: command 'setup' exited with 1: setup failed, message: "setup failed"`)
	h.waitEvent(t, "Killing", "FailedPostStartHook")
}

func TestPreStopBeforeStop(t *testing.T) {
	t.Parallel()
	h, l := newLifecycleHarness(t)
	h.create(t, podWith(corev1.RestartPolicyAlways, func(s *corev1.PodSpec) {
		s.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"drain"}}}}
	}))
	h.sync(t)
	ctx := context.Background()
	pod, _ := h.client.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
	now := metav1.NewTime(h.clock.Now())
	pod.DeletionTimestamp, pod.DeletionGracePeriodSeconds = &now, new(int64(30))
	before := len(h.rt.Calls())
	if _, err := h.k.syncPod(ctx, pod); err != nil {
		t.Fatal(err)
	}
	h.k.tasks.wait()
	calls := h.rt.Calls()[before:]
	exec, stop := slices.Index(calls, "ExecSync"), slices.Index(calls, "StopContainer")
	if exec < 0 || stop < 0 || exec > stop {
		t.Errorf("calls %v: want the preStop ExecSync before StopContainer", calls)
	}
	if l.cmds[len(l.cmds)-1] != "drain" {
		t.Errorf("commands %v", l.cmds)
	}
	h.waitEvent(t, "Killing", "Stopping container web")
}

func TestActiveDeadline(t *testing.T) {
	t.Parallel()
	h, _ := newLifecycleHarness(t)
	h.create(t, podWith(corev1.RestartPolicyAlways, func(s *corev1.PodSpec) { s.ActiveDeadlineSeconds = new(int64(30)) }))
	pod, after := h.sync(t)
	if pod.Status.Phase != corev1.PodRunning || after != 30*time.Second {
		t.Fatalf("phase %s requeue %v; want Running, again in 30s", pod.Status.Phase, after)
	}
	h.clock.Step(30 * time.Second)
	h.sync(t) // stops the container in the background
	h.k.tasks.wait()
	pod, _ = h.sync(t)
	if pod.Status.Phase != corev1.PodFailed || pod.Status.Reason != "DeadlineExceeded" || pod.Status.Message != "Pod was active on the node longer than the specified deadline" {
		t.Fatalf("phase %s reason %q message %q", pod.Status.Phase, pod.Status.Reason, pod.Status.Message)
	}
	if len(h.runningNames(t)) != 0 {
		t.Errorf("running %v after the deadline", h.runningNames(t))
	}
	if c := condition(pod, corev1.PodReady); c.Status != corev1.ConditionFalse || c.Reason != "PodFailed" {
		t.Errorf("Ready %+v", c)
	}
	h.waitEvent(t, "DeadlineExceeded", "Pod was active on the node longer than the specified deadline")
}

func TestTerminationMessage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		policy  corev1.TerminationMessagePolicy
		file    string
		log     string
		code    int32
		wantMsg string
	}{
		{name: "file", file: "bye\n", code: 0, wantMsg: "bye\n"},
		{name: "empty file", code: 1},
		{name: "fallback to logs on error", policy: corev1.TerminationMessageFallbackToLogsOnError, code: 1,
			log: "2026-01-01T00:00:00Z stdout F line 1\n2026-01-01T00:00:00Z stderr P part \n2026-01-01T00:00:00Z stderr F two\n", wantMsg: "line 1\npart two\n"},
		{name: "no fallback on success", policy: corev1.TerminationMessageFallbackToLogsOnError, code: 0, log: "2026-01-01T00:00:00Z stdout F x\n"},
		{name: "file wins over logs", policy: corev1.TerminationMessageFallbackToLogsOnError, file: "from file", code: 2,
			log: "2026-01-01T00:00:00Z stdout F x\n", wantMsg: "from file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, _ := newLifecycleHarness(t)
			h.create(t, podWith(corev1.RestartPolicyNever, func(s *corev1.PodSpec) {
				s.Containers[0].TerminationMessagePolicy = tc.policy
			}))
			h.sync(t)
			id := h.runningID(t, "web")
			st, err := h.rt.ContainerStatus(context.Background(), id, false)
			if err != nil {
				t.Fatal(err)
			}
			var host string
			for _, m := range st.Status.Mounts {
				if m.ContainerPath == "/dev/termination-log" {
					host = m.HostPath
				}
			}
			if host == "" {
				t.Fatalf("no termination-log mount in %v", st.Status.Mounts)
			}
			if err := os.WriteFile(host, []byte(tc.file), 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.log != "" {
				if err := os.MkdirAll(filepath.Dir(st.Status.LogPath), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(st.Status.LogPath, []byte(tc.log), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := h.rt.ExitContainer(id, tc.code, ""); err != nil {
				t.Fatal(err)
			}
			pod, _ := h.sync(t)
			term := pod.Status.ContainerStatuses[0].State.Terminated
			if term == nil || term.Message != tc.wantMsg {
				t.Errorf("terminated %+v, want message %q", term, tc.wantMsg)
			}
		})
	}
}

func TestStartEvents(t *testing.T) {
	t.Parallel()
	h, _ := newLifecycleHarness(t)
	h.create(t, testPod(corev1.RestartPolicyAlways, corev1.PullIfNotPresent))
	h.sync(t)
	h.waitEvent(t, "Pulled", `Container image "busybox" already present on machine`)
	h.waitEvent(t, "Created", "Created container: web")
	h.waitEvent(t, "Started", "Started container web")
}

func TestSidecarInitContainer(t *testing.T) {
	t.Parallel()
	h, _ := newLifecycleHarness(t)
	always := corev1.ContainerRestartPolicyAlways
	h.create(t, podWith(corev1.RestartPolicyNever, func(s *corev1.PodSpec) {
		s.InitContainers = []corev1.Container{
			{Name: "side", Image: "busybox", RestartPolicy: &always},
			{Name: "init2", Image: "busybox"},
		}
	}))
	pod, _ := h.sync(t)
	if got := h.runningNames(t); !slices.Equal(got, []string{"init2", "side"}) {
		t.Fatalf("running %v, want the started sidecar and the next init container", got)
	}
	if err := h.rt.ExitContainer(h.runningID(t, "init2"), 0, ""); err != nil {
		t.Fatal(err)
	}
	pod, _ = h.sync(t)
	if got := h.runningNames(t); !slices.Equal(got, []string{"side", "web"}) {
		t.Fatalf("running %v, want the sidecar beside the app", got)
	}
	if pod.Status.Phase != corev1.PodRunning || condition(pod, corev1.PodReady).Status != corev1.ConditionTrue {
		t.Errorf("phase %s conditions %+v", pod.Status.Phase, pod.Status.Conditions)
	}
	// A sidecar is restarted whatever the pod's restart policy.
	if err := h.rt.ExitContainer(h.runningID(t, "side"), 1, ""); err != nil {
		t.Fatal(err)
	}
	pod, _ = h.sync(t)
	if cs := pod.Status.InitContainerStatuses[0]; cs.RestartCount != 1 || cs.State.Running == nil {
		t.Fatalf("sidecar status %+v, want restarted", cs)
	}
	// Once the app is done for good, the sidecar is stopped and the pod
	// completes.
	if err := h.rt.ExitContainer(h.runningID(t, "web"), 0, ""); err != nil {
		t.Fatal(err)
	}
	pod, _ = h.sync(t)
	if len(h.runningNames(t)) != 0 || pod.Status.Phase != corev1.PodSucceeded {
		t.Errorf("running %v phase %s; want nothing running, Succeeded", h.runningNames(t), pod.Status.Phase)
	}
}

func TestDeletionStopsSidecarsLast(t *testing.T) {
	t.Parallel()
	h, l := newLifecycleHarness(t)
	always := corev1.ContainerRestartPolicyAlways
	hook := func(cmd string) *corev1.Lifecycle {
		return &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{cmd}}}}
	}
	h.create(t, podWith(corev1.RestartPolicyAlways, func(s *corev1.PodSpec) {
		s.InitContainers = []corev1.Container{
			{Name: "side1", Image: "busybox", RestartPolicy: &always, Lifecycle: hook("side1-stop")},
			{Name: "side2", Image: "busybox", RestartPolicy: &always, Lifecycle: hook("side2-stop")},
		}
		s.Containers[0].Lifecycle = hook("web-stop")
	}))
	h.sync(t)
	if got := h.runningNames(t); !slices.Equal(got, []string{"side1", "side2", "web"}) {
		t.Fatalf("running %v", got)
	}
	ctx := context.Background()
	pod, _ := h.client.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
	now := metav1.NewTime(h.clock.Now())
	pod.DeletionTimestamp, pod.DeletionGracePeriodSeconds = &now, new(int64(30))
	if _, err := h.k.syncPod(ctx, pod); err != nil {
		t.Fatal(err)
	}
	h.k.tasks.wait()
	if want := []string{"web-stop", "side2-stop", "side1-stop"}; !slices.Equal(l.cmds, want) {
		t.Errorf("preStop hooks ran %v, want %v (app first, then sidecars last first)", l.cmds, want)
	}
}

func TestComputePodStatusConditions(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Minute)
	running := &runtimeapi.ContainerStatus{Id: "c1", State: runtimeapi.ContainerState_CONTAINER_RUNNING, StartedAt: t0.UnixNano()}
	pod := testPod(corev1.RestartPolicyAlways, corev1.PullIfNotPresent)
	pod.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/gate"}}
	obs := podObservation{runtimeName: "fakecri", sandboxReady: true,
		containers: map[string]containerObservation{"web": {current: running, started: true, ready: true}}}

	st := computePodStatus(pod, obs, t0)
	if c := findCondition(st.Conditions, corev1.PodReady); c.Status != corev1.ConditionFalse || c.Reason != "ReadinessGatesNotReady" ||
		c.Message != `corresponding condition of pod readiness gate "example.com/gate" does not exist.` {
		t.Errorf("Ready without the gate's condition: %+v", c)
	}
	if c := findCondition(st.Conditions, corev1.ContainersReady); c.Status != corev1.ConditionTrue {
		t.Errorf("ContainersReady %+v", c)
	}
	// Another component sets the gate's condition: it is kept, and Ready
	// turns True at t1 while the other conditions keep their times.
	pod.Status = st
	pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{Type: "example.com/gate", Status: corev1.ConditionTrue})
	st = computePodStatus(pod, obs, t1)
	if c := findCondition(st.Conditions, "example.com/gate"); c.Status != corev1.ConditionTrue {
		t.Errorf("the gate's condition was dropped: %+v", st.Conditions)
	}
	if c := findCondition(st.Conditions, corev1.PodReady); c.Status != corev1.ConditionTrue || !c.LastTransitionTime.Time.Equal(t1) {
		t.Errorf("Ready %+v, want True since t1", c)
	}
	if c := findCondition(st.Conditions, corev1.ContainersReady); !c.LastTransitionTime.Time.Equal(t0) {
		t.Errorf("ContainersReady moved to %v, want kept at t0", c.LastTransitionTime)
	}
	// Not ready any more: the container is listed.
	obs.containers["web"] = containerObservation{current: running, started: true}
	pod.Status = st
	st = computePodStatus(pod, obs, t1)
	if c := findCondition(st.Conditions, corev1.ContainersReady); c.Reason != "ContainersNotReady" || c.Message != "containers with unready status: [web]" {
		t.Errorf("ContainersReady %+v", c)
	}
	// A phase's reason and message stay with it.
	pod.Status = st
	pod.Status.Reason, pod.Status.Message = "Why", "because"
	if st = computePodStatus(pod, obs, t1); st.Reason != "Why" || st.Message != "because" {
		t.Errorf("reason %q message %q, want kept", st.Reason, st.Message)
	}
}

func findCondition(conds []corev1.PodCondition, typ corev1.PodConditionType) corev1.PodCondition {
	for _, c := range conds {
		if c.Type == typ {
			return c
		}
	}
	return corev1.PodCondition{}
}

func TestImageChangeReplacesContainer(t *testing.T) {
	t.Parallel()
	h, _ := newLifecycleHarness(t)
	h.rt.AddImage("busybox:v2")
	h.create(t, podWith(corev1.RestartPolicyNever, func(*corev1.PodSpec) {}))
	h.sync(t)
	first := h.runningID(t, "web")
	ctx := context.Background()
	pod, _ := h.client.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{})
	pod.Spec.Containers[0].Image = "busybox:v2"
	if _, err := h.client.CoreV1().Pods("default").Update(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.sync(t) // stops the old container
	h.k.tasks.wait()
	pod, _ = h.sync(t)
	cs := pod.Status.ContainerStatuses[0]
	if id := h.runningID(t, "web"); id == first || cs.RestartCount != 1 || cs.Image != "busybox:v2" {
		t.Fatalf("after the image change: %+v", cs)
	}
	h.waitEvent(t, "Killing", "Container web definition changed, will be restarted")
	// An unchanged spec leaves it alone.
	h.sync(t)
	h.k.tasks.wait()
	if h.runningID(t, "web") == first {
		t.Fatal("the old container came back")
	}
	if pod, _ = h.sync(t); pod.Status.ContainerStatuses[0].RestartCount != 1 {
		t.Errorf("restarted again: %+v", pod.Status.ContainerStatuses[0])
	}
}
