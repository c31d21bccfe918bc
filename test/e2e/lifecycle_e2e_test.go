//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// lcStatus returns the STATUS column of `kubectl get pod NAME`.
func lcStatus(t *testing.T, k *Kubectl, pod string) string {
	t.Helper()
	r := k.Run(t, "get", "pod", pod, "--no-headers")
	if f := strings.Fields(r.Stdout); r.Code == 0 && len(f) >= 3 {
		return f[2]
	}
	return ""
}

// lcWaitStatus polls the STATUS column of `kubectl get pod` until it is
// want.
func lcWaitStatus(t *testing.T, k *Kubectl, pod, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		if last = lcStatus(t, k, pod); last == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod %s: STATUS %q, want %q", pod, last, want)
		}
		<-time.After(200 * time.Millisecond)
	}
}

// TestCrashLoopBackOff: a container that keeps failing is restarted with a
// backoff, which `kubectl get pod` shows as CrashLoopBackOff.
func TestCrashLoopBackOff(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	k.OK(t, "run", "crash", "--image=busybox", "--image-pull-policy=IfNotPresent", "--", "sh", "-c", "echo dying; exit 3")
	lcWaitStatus(t, k, "crash", "CrashLoopBackOff", 2*time.Minute)
	cs := lcField(t, k, "crash", "{.status.containerStatuses[0].lastState.terminated.exitCode}")
	if cs != "3" {
		t.Errorf("lastState exit code %q, want 3", cs)
	}
	uid := lcField(t, k, "crash", "{.metadata.uid}")
	lcEvent(t, k, "BackOff", fmt.Sprintf("Back-off restarting failed container crash in pod crash_%s(%s)", k.Namespace, uid))
	lcEvent(t, k, "Pulled", `Container image "busybox" already present on machine`)
	lcEvent(t, k, "Created", "Created container: crash")
	lcEvent(t, k, "Started", "Started container crash")
}

// TestInitContainersInOrder: init containers run one after the other, to
// completion, before the app container, sharing an emptyDir; the app
// container reports what they wrote through its termination message.
func TestInitContainersInOrder(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	k.Apply(t, "create", `apiVersion: v1
kind: Pod
metadata:
  name: ordered
spec:
  restartPolicy: Never
  volumes:
  - {name: work, emptyDir: {}}
  initContainers:
  - name: first
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, "sleep 1; echo first >> /work/order"]
    volumeMounts: [{name: work, mountPath: /work}]
  - name: second
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, "echo second >> /work/order"]
    volumeMounts: [{name: work, mountPath: /work}]
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, "echo app >> /work/order; cat /work/order > /dev/termination-log"]
    volumeMounts: [{name: work, mountPath: /work}]
`)
	lcWait(t, k, "ordered", "{.status.phase}", "Succeeded", 2*time.Minute, lcIs("Succeeded"))
	if got := lcField(t, k, "ordered", "{.status.containerStatuses[0].state.terminated.message}"); got != "first\nsecond\napp" {
		t.Errorf("order written %q, want first, second, app", got)
	}
	for i, name := range []string{"first", "second"} {
		expr := fmt.Sprintf("{.status.initContainerStatuses[%d].name} {.status.initContainerStatuses[%d].state.terminated.reason} {.status.initContainerStatuses[%d].ready}", i, i, i)
		if got := lcField(t, k, "ordered", expr); got != name+" Completed true" {
			t.Errorf("init container %d: %q, want %q", i, got, name+" Completed true")
		}
	}
	if got := lcField(t, k, "ordered", `{.status.conditions[?(@.type=="Initialized")].status}`); got != "True" {
		t.Errorf("Initialized %q, want True", got)
	}
}

// TestInitContainerStatuses: what `kubectl get pod` shows while an init
// container runs and after one failed under restartPolicy Never.
func TestInitContainerStatuses(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	k.Apply(t, "create", `apiVersion: v1
kind: Pod
metadata:
  name: blocked
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
  - {name: wait, image: busybox, imagePullPolicy: IfNotPresent, command: [sleep, "3600"]}
  - {name: next, image: busybox, imagePullPolicy: IfNotPresent, command: ["true"]}
  containers:
  - {name: app, image: busybox, imagePullPolicy: IfNotPresent, command: [sleep, "3600"]}
---
apiVersion: v1
kind: Pod
metadata:
  name: broken
spec:
  restartPolicy: Never
  initContainers:
  - {name: fail, image: busybox, imagePullPolicy: IfNotPresent, command: [sh, -c, "exit 7"]}
  containers:
  - {name: app, image: busybox, imagePullPolicy: IfNotPresent, command: ["true"]}
---
apiVersion: v1
kind: Pod
metadata:
  name: looping
spec:
  initContainers:
  - {name: fail, image: busybox, imagePullPolicy: IfNotPresent, command: [sh, -c, "exit 1"]}
  containers:
  - {name: app, image: busybox, imagePullPolicy: IfNotPresent, command: ["true"]}
`)
	lcWait(t, k, "blocked", "{.status.initContainerStatuses[0].state.running.startedAt}", "init container running", 2*time.Minute, func(s string) bool { return s != "" })
	if got := lcStatus(t, k, "blocked"); got != "Init:0/2" {
		t.Errorf("STATUS %q while the first init container runs, want Init:0/2", got)
	}
	if got := lcField(t, k, "blocked", "{.status.phase} {.status.containerStatuses[0].state.waiting.reason}"); got != "Pending PodInitializing" {
		t.Errorf("phase and app state %q, want Pending PodInitializing", got)
	}
	lcWait(t, k, "broken", "{.status.phase}", "Failed", 2*time.Minute, lcIs("Failed"))
	if got := lcStatus(t, k, "broken"); got != "Init:Error" {
		t.Errorf("STATUS %q after the init container failed, want Init:Error", got)
	}
	if got := lcField(t, k, "broken", "{.status.initContainerStatuses[0].state.terminated.exitCode}"); got != "7" {
		t.Errorf("init exit code %q, want 7", got)
	}
	if got := lcField(t, k, "broken", "{.status.containerStatuses[0].state.waiting.reason}"); got != "PodInitializing" {
		t.Errorf("app container waiting %q, want PodInitializing (never started)", got)
	}
	// Under restartPolicy Always a failing init container is retried with
	// a backoff.
	lcWaitStatus(t, k, "looping", "Init:CrashLoopBackOff", 2*time.Minute)
	if got := lcField(t, k, "looping", "{.status.phase}"); got != "Pending" {
		t.Errorf("phase %q while the init container backs off, want Pending", got)
	}
}

// TestGracefulTerminationPreStop: deleting a pod runs its preStop hook to
// the end before the container gets SIGTERM. The container and the hook
// write to a host directory, which the test reads afterwards.
func TestGracefulTerminationPreStop(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	dir := t.TempDir()
	k.Apply(t, "create", fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: graceful
spec:
  terminationGracePeriodSeconds: 30
  volumes:
  - {name: out, hostPath: {path: %s, type: Directory}}
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, 'trap "echo got-TERM >> /out/log; exit 0" TERM; echo started >> /out/log; while true; do sleep 0.2; done']
    volumeMounts: [{name: out, mountPath: /out}]
    lifecycle:
      preStop:
        exec:
          command: [sh, -c, "echo prestop-begin >> /out/log; sleep 3; echo prestop-end >> /out/log"]
`, dir))
	lcWait(t, k, "graceful", "{.status.phase}", "Running", 2*time.Minute, lcIs("Running"))
	log := filepath.Join(dir, "log")
	deadline := time.Now().Add(time.Minute)
	for {
		if b, _ := os.ReadFile(log); strings.Contains(string(b), "started") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the container never wrote to the host directory")
		}
		<-time.After(100 * time.Millisecond)
	}
	start := time.Now()
	k.OK(t, "delete", "pod", "graceful", "--wait=true", "--timeout=2m")
	took := time.Since(start)
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(string(b)); strings.Join(got, " ") != "started prestop-begin prestop-end got-TERM" {
		t.Errorf("host log %q: want started, preStop to its end, then SIGTERM", got)
	}
	// The hook sleeps 3 s, so deletion cannot take less.
	if took < 3*time.Second {
		t.Errorf("delete took %v, less than the preStop hook's 3 s", took)
	}
	lcEvent(t, k, "Killing", "Stopping container app")
}

// TestLifecycleHooksAndDeadline: postStart runs at start (and a failing
// one is reported), and activeDeadlineSeconds fails a pod that runs too
// long.
func TestLifecycleHooksAndDeadline(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	k.Apply(t, "create", `apiVersion: v1
kind: Pod
metadata:
  name: hooked
spec:
  restartPolicy: Never
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, "while [ ! -f /tmp/ps ]; do sleep 0.1; done; cat /tmp/ps > /dev/termination-log"]
    lifecycle:
      postStart:
        exec: {command: [sh, -c, "echo from-poststart > /tmp/ps"]}
---
apiVersion: v1
kind: Pod
metadata:
  name: badhook
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sleep, "3600"]
    lifecycle:
      postStart:
        exec: {command: [sh, -c, "exit 9"]}
---
apiVersion: v1
kind: Pod
metadata:
  name: deadline
spec:
  activeDeadlineSeconds: 3
  terminationGracePeriodSeconds: 1
  containers:
  - {name: app, image: busybox, imagePullPolicy: IfNotPresent, command: [sleep, "3600"]}
`)
	lcWait(t, k, "hooked", "{.status.phase}", "Succeeded", 2*time.Minute, lcIs("Succeeded"))
	if got := lcField(t, k, "hooked", "{.status.containerStatuses[0].state.terminated.message}"); got != "from-poststart" {
		t.Errorf("termination message %q, want what postStart wrote", got)
	}
	lcEvent(t, k, "FailedPostStartHook", `Exec lifecycle hook ([sh -c exit 9]) for Container "app" in Pod "badhook_`)
	lcWait(t, k, "deadline", "{.status.phase} {.status.reason}", "Failed DeadlineExceeded", 2*time.Minute, lcIs("Failed DeadlineExceeded"))
	if got := lcField(t, k, "deadline", "{.status.message}"); got != "Pod was active on the node longer than the specified deadline" {
		t.Errorf("message %q", got)
	}
	if got := lcField(t, k, "deadline", "{.status.containerStatuses[0].state.terminated.reason}"); got == "" {
		t.Error("the container was not stopped at the deadline")
	}
	lcEvent(t, k, "DeadlineExceeded", "Pod was active on the node longer than the specified deadline")
}
