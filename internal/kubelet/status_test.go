package kubelet

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestPodPhase(t *testing.T) {
	t.Parallel()
	named := func(name string, cs corev1.ContainerStatus) corev1.ContainerStatus { cs.Name = name; return cs }
	running := corev1.ContainerStatus{State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
	creating := corev1.ContainerStatus{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}
	initializing := corev1.ContainerStatus{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}}
	exited := func(code int32) corev1.ContainerStatus {
		return corev1.ContainerStatus{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}}
	}
	backingOff := corev1.ContainerStatus{
		State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}},
	}
	always := corev1.ContainerRestartPolicyAlways
	for _, tc := range []struct {
		name     string
		policy   corev1.RestartPolicy
		inits    []string // init container names; "s:" prefix: a sidecar
		init     []corev1.ContainerStatus
		statuses []corev1.ContainerStatus // for app containers a, b, ...
		want     corev1.PodPhase
	}{
		{name: "creating", policy: corev1.RestartPolicyAlways, statuses: []corev1.ContainerStatus{creating}, want: corev1.PodPending},
		{name: "one of two creating", policy: corev1.RestartPolicyAlways, statuses: []corev1.ContainerStatus{running, creating}, want: corev1.PodPending},
		{name: "running", policy: corev1.RestartPolicyAlways, statuses: []corev1.ContainerStatus{running}, want: corev1.PodRunning},
		{name: "crash loop", policy: corev1.RestartPolicyAlways, statuses: []corev1.ContainerStatus{backingOff}, want: corev1.PodRunning},
		{name: "always, exited 0", policy: corev1.RestartPolicyAlways, statuses: []corev1.ContainerStatus{exited(0)}, want: corev1.PodRunning},
		{name: "onfailure, exited 0", policy: corev1.RestartPolicyOnFailure, statuses: []corev1.ContainerStatus{exited(0)}, want: corev1.PodSucceeded},
		{name: "onfailure, exited 1", policy: corev1.RestartPolicyOnFailure, statuses: []corev1.ContainerStatus{exited(1)}, want: corev1.PodRunning},
		{name: "never, all 0", policy: corev1.RestartPolicyNever, statuses: []corev1.ContainerStatus{exited(0), exited(0)}, want: corev1.PodSucceeded},
		{name: "never, one failed", policy: corev1.RestartPolicyNever, statuses: []corev1.ContainerStatus{exited(0), exited(3)}, want: corev1.PodFailed},
		{name: "never, one still running", policy: corev1.RestartPolicyNever, statuses: []corev1.ContainerStatus{exited(3), running}, want: corev1.PodRunning},
		{name: "init running", policy: corev1.RestartPolicyAlways, inits: []string{"i1", "i2"},
			init: []corev1.ContainerStatus{running, initializing}, statuses: []corev1.ContainerStatus{initializing}, want: corev1.PodPending},
		{name: "init done, app creating", policy: corev1.RestartPolicyAlways, inits: []string{"i1"},
			init: []corev1.ContainerStatus{exited(0)}, statuses: []corev1.ContainerStatus{initializing}, want: corev1.PodPending},
		{name: "init done, app running", policy: corev1.RestartPolicyAlways, inits: []string{"i1"},
			init: []corev1.ContainerStatus{exited(0)}, statuses: []corev1.ContainerStatus{running}, want: corev1.PodRunning},
		{name: "init failed, never", policy: corev1.RestartPolicyNever, inits: []string{"i1", "i2"},
			init: []corev1.ContainerStatus{exited(1), initializing}, statuses: []corev1.ContainerStatus{initializing}, want: corev1.PodFailed},
		{name: "init crash loop, always", policy: corev1.RestartPolicyAlways, inits: []string{"i1"},
			init: []corev1.ContainerStatus{backingOff}, statuses: []corev1.ContainerStatus{initializing}, want: corev1.PodPending},
		{name: "sidecar running, app running", policy: corev1.RestartPolicyNever, inits: []string{"s:side"},
			init: []corev1.ContainerStatus{running}, statuses: []corev1.ContainerStatus{running}, want: corev1.PodRunning},
		{name: "sidecar running, app done", policy: corev1.RestartPolicyNever, inits: []string{"s:side"},
			init: []corev1.ContainerStatus{running}, statuses: []corev1.ContainerStatus{exited(0)}, want: corev1.PodRunning},
		{name: "sidecar stopped, app done", policy: corev1.RestartPolicyNever, inits: []string{"s:side"},
			init: []corev1.ContainerStatus{exited(137)}, statuses: []corev1.ContainerStatus{exited(0)}, want: corev1.PodSucceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := &corev1.PodSpec{RestartPolicy: tc.policy}
			var init, statuses []corev1.ContainerStatus
			for i, n := range tc.inits {
				c := corev1.Container{Name: n}
				if len(n) > 2 && n[:2] == "s:" {
					c.RestartPolicy = &always
				}
				spec.InitContainers = append(spec.InitContainers, c)
				init = append(init, named(n, tc.init[i]))
			}
			for i, cs := range tc.statuses {
				name := string(rune('a' + i))
				spec.Containers = append(spec.Containers, corev1.Container{Name: name})
				statuses = append(statuses, named(name, cs))
			}
			if got := podPhase(spec, init, statuses); got != tc.want {
				t.Errorf("podPhase = %s, want %s", got, tc.want)
			}
		})
	}
}
