package nodesim

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func testPod(mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", UID: "uid-1", Generation: 1},
		Spec: corev1.PodSpec{
			NodeName:      "n1",
			RestartPolicy: corev1.RestartPolicyAlways,
			Containers:    []corev1.Container{{Name: "app", Image: "nginx:1.27"}},
		},
		Status: corev1.PodStatus{
			Phase:    corev1.PodPending,
			QOSClass: corev1.PodQOSBestEffort,
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0.Add(-time.Second))},
			},
		},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

// step runs computeStatus at now and stores the result in pod, as a
// status write read back from the API would.
func step(t *testing.T, pod *corev1.Pod, now time.Time, ready *bool) time.Duration {
	t.Helper()
	st, after := computeStatus(pod, statusInput{now: now, hostIP: "127.100.0.1", podIP: "10.42.0.2", ready: ready})
	pod.Status = st
	again, after2 := computeStatus(pod, statusInput{now: now, hostIP: "127.100.0.1", podIP: "10.42.0.2", ready: ready})
	if !apiequality.Semantic.DeepEqual(again, st) || after != after2 {
		t.Fatalf("computeStatus is not a fixed point at %v: (-first +second)\n%s", now, cmp.Diff(st, again))
	}
	return after
}

func cond(pod *corev1.Pod, t corev1.PodConditionType) corev1.PodCondition {
	for _, c := range pod.Status.Conditions {
		if c.Type == t {
			return c
		}
	}
	return corev1.PodCondition{}
}

func TestRunningStatusShape(t *testing.T) {
	t.Parallel()
	pod := testPod(func(p *corev1.Pod) {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "a-sidecar", Image: "busybox"})
	})
	if after := step(t, pod, t0.Add(300*time.Millisecond), nil); after != 0 {
		t.Errorf("next change in %v, want none", after)
	}
	st := pod.Status
	if st.Phase != corev1.PodRunning || st.PodIP != "10.42.0.2" || st.HostIP != "127.100.0.1" {
		t.Errorf("phase/podIP/hostIP = %s/%s/%s", st.Phase, st.PodIP, st.HostIP)
	}
	if diff := cmp.Diff([]corev1.PodIP{{IP: "10.42.0.2"}}, st.PodIPs); diff != "" {
		t.Errorf("podIPs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]corev1.HostIP{{IP: "127.100.0.1"}}, st.HostIPs); diff != "" {
		t.Errorf("hostIPs (-want +got):\n%s", diff)
	}
	if !st.StartTime.Time.Equal(t0) || st.ObservedGeneration != 1 || st.QOSClass != corev1.PodQOSBestEffort {
		t.Errorf("startTime %v observedGeneration %d qos %s", st.StartTime, st.ObservedGeneration, st.QOSClass)
	}
	var types []string
	for _, c := range st.Conditions {
		types = append(types, string(c.Type)+"="+string(c.Status))
	}
	want := "PodReadyToStartContainers=True Initialized=True Ready=True ContainersReady=True PodScheduled=True"
	if got := strings.Join(types, " "); got != want {
		t.Errorf("conditions = %s, want %s", got, want)
	}
	if c := cond(pod, corev1.PodScheduled); !c.LastTransitionTime.Time.Equal(t0.Add(-time.Second)) {
		t.Errorf("PodScheduled transition moved to %v", c.LastTransitionTime)
	}
	if len(st.ContainerStatuses) != 2 || st.ContainerStatuses[0].Name != "a-sidecar" {
		t.Fatalf("container statuses not sorted by name: %+v", st.ContainerStatuses)
	}
	cs := st.ContainerStatuses[1]
	if cs.State.Running == nil || !cs.State.Running.StartedAt.Time.Equal(t0) || !cs.Ready || cs.Started == nil || !*cs.Started || cs.RestartCount != 0 {
		t.Errorf("app status = %+v", cs)
	}
	if cs.Image != "docker.io/library/nginx:1.27" || !strings.HasPrefix(cs.ImageID, "docker.io/library/nginx@sha256:") || !strings.HasPrefix(cs.ContainerID, "sim://") {
		t.Errorf("image %q imageID %q containerID %q", cs.Image, cs.ImageID, cs.ContainerID)
	}
}

func TestPendingThenRunning(t *testing.T) {
	t.Parallel()
	pod := testPod(func(p *corev1.Pod) {
		p.Annotations = map[string]string{AnnotationStartDelay: "3s"}
		p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox"}}
	})
	if after := step(t, pod, t0, nil); after != 3*time.Second {
		t.Errorf("next change in %v, want 3s", after)
	}
	st := pod.Status
	if st.Phase != corev1.PodPending || st.PodIP != "" {
		t.Errorf("phase %s podIP %q, want Pending without IP", st.Phase, st.PodIP)
	}
	if w := st.ContainerStatuses[0].State.Waiting; w == nil || w.Reason != "PodInitializing" {
		t.Errorf("app state = %+v", st.ContainerStatuses[0].State)
	}
	if c := cond(pod, corev1.PodInitialized); c.Status != corev1.ConditionFalse || c.Reason != "ContainersNotInitialized" {
		t.Errorf("Initialized = %+v", c)
	}
	if c := cond(pod, corev1.PodReady); c.Reason != "ContainersNotReady" || c.Message != "containers with unready status: [app]" {
		t.Errorf("Ready = %+v", c)
	}

	step(t, pod, t0.Add(3*time.Second), nil)
	st = pod.Status
	if st.Phase != corev1.PodRunning || !st.StartTime.Time.Equal(t0) {
		t.Errorf("phase %s startTime %v", st.Phase, st.StartTime)
	}
	if term := st.InitContainerStatuses[0].State.Terminated; term == nil || term.Reason != "Completed" || term.ExitCode != 0 {
		t.Errorf("init status = %+v", st.InitContainerStatuses[0])
	}
	if c := cond(pod, corev1.PodReady); c.Status != corev1.ConditionTrue || !c.LastTransitionTime.Time.Equal(t0.Add(3*time.Second)) {
		t.Errorf("Ready = %+v", c)
	}
}

func TestReadinessProbes(t *testing.T) {
	t.Parallel()
	exec := func(cmd ...string) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: cmd}}}
	}
	delayed := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/"}}, InitialDelaySeconds: 10}
	cases := []struct {
		name      string
		readiness *corev1.Probe
		startup   *corev1.Probe
		ann       string
		set       *bool
		// ready at t0, t0+10s and t0+1h
		want    [3]bool
		started bool
	}{
		{name: "no probe", want: [3]bool{true, true, true}, started: true},
		{name: "false", readiness: exec("false"), want: [3]bool{false, false, false}, started: true},
		{name: "sh exit 1", readiness: exec("sh", "-c", "exit 1"), want: [3]bool{false, false, false}, started: true},
		{name: "initial delay", readiness: delayed, want: [3]bool{false, true, true}, started: true},
		{name: "startup probe delays readiness", startup: delayed, readiness: delayed, want: [3]bool{false, false, true}, started: true},
		{name: "failing startup probe", startup: exec("false"), want: [3]bool{false, false, false}},
		{name: "annotation false", ann: "false", want: [3]bool{false, false, false}, started: true},
		{name: "annotation true beats failing probe", ann: "true", readiness: exec("false"), want: [3]bool{true, true, true}, started: true},
		{name: "SetReady false beats annotation", ann: "true", set: ptr(false), want: [3]bool{false, false, false}, started: true},
		{name: "SetReady true", set: ptr(true), readiness: exec("false"), want: [3]bool{true, true, true}, started: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pod := testPod(func(p *corev1.Pod) {
				p.Spec.Containers[0].ReadinessProbe = tc.readiness
				p.Spec.Containers[0].StartupProbe = tc.startup
				if tc.ann != "" {
					p.Annotations = map[string]string{AnnotationReady: tc.ann}
				}
			})
			for i, at := range []time.Duration{0, 10 * time.Second, time.Hour} {
				after := step(t, pod, t0.Add(at), tc.set)
				cs := pod.Status.ContainerStatuses[0]
				if cs.Ready != tc.want[i] {
					t.Errorf("at +%v: ready = %v, want %v", at, cs.Ready, tc.want[i])
				}
				if readyCond := cond(pod, corev1.PodReady).Status == corev1.ConditionTrue; readyCond != tc.want[i] {
					t.Errorf("at +%v: Ready condition %v, want %v", at, readyCond, tc.want[i])
				}
				if i == 0 && tc.name == "initial delay" && after != 10*time.Second {
					t.Errorf("next change in %v, want 10s", after)
				}
			}
			if got := *pod.Status.ContainerStatuses[0].Started; got != tc.started {
				t.Errorf("started = %v, want %v", got, tc.started)
			}
		})
	}
}

func TestReadinessGates(t *testing.T) {
	t.Parallel()
	pod := testPod(func(p *corev1.Pod) {
		p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}}
	})
	step(t, pod, t0, nil)
	if c := cond(pod, corev1.PodReady); c.Status != corev1.ConditionFalse || c.Reason != "ReadinessGatesNotReady" {
		t.Errorf("Ready = %+v", c)
	}
	if c := cond(pod, corev1.ContainersReady); c.Status != corev1.ConditionTrue {
		t.Errorf("ContainersReady = %+v", c)
	}
	pod.Status.Conditions = append(pod.Status.Conditions, corev1.PodCondition{Type: "example.com/lb", Status: corev1.ConditionTrue})
	step(t, pod, t0.Add(time.Second), nil)
	if c := cond(pod, corev1.PodReady); c.Status != corev1.ConditionTrue {
		t.Errorf("Ready = %+v", c)
	}
}

func TestExits(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		policy corev1.RestartPolicy
		args   []string
		ann    map[string]string
		phase  corev1.PodPhase
		reason string
		code   int32
	}{
		{name: "never exit 0", policy: corev1.RestartPolicyNever, args: []string{"sh", "-c", "exit 0"}, phase: corev1.PodSucceeded, reason: "Completed"},
		{name: "never exit 2", policy: corev1.RestartPolicyNever, args: []string{"sh", "-c", "sleep 5; exit 2"}, phase: corev1.PodFailed, reason: "Error", code: 2},
		{name: "on failure exit 0", policy: corev1.RestartPolicyOnFailure, args: []string{"true"}, phase: corev1.PodSucceeded, reason: "Completed"},
		{name: "annotation", policy: corev1.RestartPolicyNever, ann: map[string]string{AnnotationExitCode: "7", AnnotationRunFor: "5s"}, phase: corev1.PodFailed, reason: "Error", code: 7},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pod := testPod(func(p *corev1.Pod) {
				p.Annotations = tc.ann
				p.Spec.RestartPolicy = tc.policy
				p.Spec.Containers[0].Args = tc.args
			})
			after := step(t, pod, t0, nil)
			if pod.Status.Phase != corev1.PodRunning && tc.phase != pod.Status.Phase {
				t.Fatalf("phase at start = %s", pod.Status.Phase)
			}
			step(t, pod, t0.Add(after), nil)
			st := pod.Status
			if st.Phase != tc.phase {
				t.Fatalf("phase = %s, want %s", st.Phase, tc.phase)
			}
			term := st.ContainerStatuses[0].State.Terminated
			if term == nil || term.Reason != tc.reason || term.ExitCode != tc.code || !term.FinishedAt.Time.Equal(t0.Add(after)) || term.ContainerID != st.ContainerStatuses[0].ContainerID {
				t.Errorf("terminated = %+v", term)
			}
			for _, ct := range kubeletConditions {
				c := cond(pod, ct)
				if c.Status != corev1.ConditionFalse && ct != corev1.PodInitialized || ct != corev1.PodReadyToStartContainers && c.Reason != "PodCompleted" {
					t.Errorf("%s = %+v", ct, c)
				}
			}
			if st.PodIP != "10.42.0.2" {
				t.Errorf("terminal pod lost its IP: %q", st.PodIP)
			}
			// Terminal is final.
			if _, after := computeStatus(pod, statusInput{now: t0.Add(time.Hour)}); after != 0 {
				t.Errorf("terminal pod wants a wake-up in %v", after)
			}
		})
	}
}

func TestCrashLoop(t *testing.T) {
	t.Parallel()
	pod := testPod(func(p *corev1.Pod) {
		p.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		p.Spec.Containers[0].Command = []string{"sh", "-c", "exit 1"}
	})
	// Starts and exits at t0, restarts at once, exits again and waits 10s.
	after := step(t, pod, t0, nil)
	cs := pod.Status.ContainerStatuses[0]
	if cs.RestartCount != 2 || cs.State.Waiting == nil || cs.State.Waiting.Reason != "CrashLoopBackOff" || after != 10*time.Second {
		t.Fatalf("at t0: restarts %d state %+v next %v", cs.RestartCount, cs.State, after)
	}
	if !strings.HasPrefix(cs.State.Waiting.Message, "back-off 10s restarting failed container=app pod=web_ns(uid-1)") {
		t.Errorf("message %q", cs.State.Waiting.Message)
	}
	if last := cs.LastTerminationState.Terminated; last == nil || last.ExitCode != 1 || last.Reason != "Error" {
		t.Errorf("lastState = %+v", cs.LastTerminationState)
	}
	if pod.Status.Phase != corev1.PodRunning {
		t.Errorf("phase = %s, want Running", pod.Status.Phase)
	}
	// Back-offs 10s, 20s, 40s: by t0+70s the fifth run has exited.
	for _, want := range []struct {
		at       time.Duration
		restarts int32
		next     time.Duration
	}{{10 * time.Second, 3, 20 * time.Second}, {30 * time.Second, 4, 40 * time.Second}, {70 * time.Second, 5, 80 * time.Second}} {
		after := step(t, pod, t0.Add(want.at), nil)
		if cs := pod.Status.ContainerStatuses[0]; cs.RestartCount != want.restarts || after != want.next {
			t.Errorf("at +%v: restarts %d next %v, want %d and %v", want.at, cs.RestartCount, after, want.restarts, want.next)
		}
	}
	// A jump far ahead replays the back-offs, capped at 5 minutes.
	step(t, pod, t0.Add(24*time.Hour), nil)
	if cs := pod.Status.ContainerStatuses[0]; cs.RestartCount < 280 || cs.RestartCount > 300 {
		t.Errorf("after a day: %d restarts", cs.RestartCount)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	want := []time.Duration{0, 0, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 5 * time.Minute, 5 * time.Minute}
	for n, w := range want {
		if got := backoff(int32(n)); got != w {
			t.Errorf("backoff(%d) = %v, want %v", n, got, w)
		}
	}
}

func TestStoppedStatus(t *testing.T) {
	t.Parallel()
	pod := testPod(func(p *corev1.Pod) {
		p.Spec.RestartPolicy = corev1.RestartPolicyNever
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "done", Image: "busybox", Command: []string{"true"}})
	})
	step(t, pod, t0, nil)
	st, ok := stoppedStatus(pod, t0.Add(5*time.Second))
	if !ok {
		t.Fatal("running pod not stopped")
	}
	if st.Phase != corev1.PodFailed {
		t.Errorf("phase = %s, want Failed", st.Phase)
	}
	for _, cs := range st.ContainerStatuses {
		term := cs.State.Terminated
		switch {
		case term == nil:
			t.Errorf("%s not terminated", cs.Name)
		case cs.Name == "app" && (term.ExitCode != 137 || term.Reason != "Error" || !term.FinishedAt.Time.Equal(t0.Add(5*time.Second))):
			t.Errorf("app = %+v", term)
		case cs.Name == "done" && term.ExitCode != 0:
			t.Errorf("done = %+v", term)
		}
	}
	if c := cond(&corev1.Pod{Status: st}, corev1.PodReady); c.Reason != "PodCompleted" {
		t.Errorf("Ready = %+v", c)
	}
	if _, ok := stoppedStatus(testPod(), t0); ok {
		t.Error("a pending pod needs no stop status")
	}
}
