package nodesim

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCommandExit(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		argv []string
		want exit
	}{
		{name: "no command", argv: nil, want: exit{}},
		{name: "server", argv: []string{"nginx", "-g", "daemon off;"}, want: exit{}},
		{name: "true", argv: []string{"true"}, want: exit{exits: true}},
		{name: "false", argv: []string{"/bin/false"}, want: exit{exits: true, code: 1}},
		{name: "sleep", argv: []string{"sleep", "5"}, want: exit{exits: true, after: 5 * time.Second}},
		{name: "sleep infinity", argv: []string{"sleep", "infinity"}, want: exit{}},
		{name: "sh exit 0", argv: []string{"sh", "-c", "exit 0"}, want: exit{exits: true}},
		{name: "sh exit 3", argv: []string{"/bin/sh", "-c", "exit 3"}, want: exit{exits: true, code: 3}},
		{name: "bash -ec", argv: []string{"bash", "-ec", "echo hi; sleep 2m && exit 1"}, want: exit{exits: true, code: 1, after: 2 * time.Minute}},
		{name: "exit stops the script", argv: []string{"sh", "-c", "exit 2; sleep 10"}, want: exit{exits: true, code: 2}},
		{name: "multi-line", argv: []string{"sh", "-c", "sleep 1\nsleep 0.5s\nfalse"}, want: exit{exits: true, code: 1, after: 1500 * time.Millisecond}},
		{name: "unknown statement", argv: []string{"sh", "-c", "sleep 1; ./server"}, want: exit{}},
		{name: "shell without -c", argv: []string{"sh"}, want: exit{}},
		{name: "exit code wraps", argv: []string{"sh", "-c", "exit 257"}, want: exit{exits: true, code: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := commandExit(tc.argv); got != tc.want {
				t.Errorf("commandExit(%q) = %+v, want %+v", tc.argv, got, tc.want)
			}
		})
	}
}

func TestContainerExitAnnotations(t *testing.T) {
	t.Parallel()
	c := &corev1.Container{Name: "app", Command: []string{"sh", "-c", "exit 0"}}
	cases := []struct {
		name string
		ann  map[string]string
		want exit
	}{
		{name: "command", want: exit{exits: true}},
		{name: "exit code", ann: map[string]string{AnnotationExitCode: "4"}, want: exit{exits: true, code: 4}},
		{name: "exit code after", ann: map[string]string{AnnotationExitCode: "0", AnnotationRunFor: "90s"}, want: exit{exits: true, after: 90 * time.Second}},
		{name: "bad code ignored", ann: map[string]string{AnnotationExitCode: "x"}, want: exit{exits: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: tc.ann}}
			if got := containerExit(pod, c); got != tc.want {
				t.Errorf("containerExit = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestProbeFails(t *testing.T) {
	t.Parallel()
	exec := func(cmd ...string) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: cmd}}}
	}
	cases := []struct {
		name  string
		probe *corev1.Probe
		want  bool
	}{
		{name: "none", probe: nil},
		{name: "http", probe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/"}}}},
		{name: "false", probe: exec("false"), want: true},
		{name: "sh exit 1", probe: exec("sh", "-c", "exit 1"), want: true},
		{name: "true", probe: exec("true")},
		{name: "cat file", probe: exec("cat", "/tmp/healthy")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := probeFails(tc.probe); got != tc.want {
				t.Errorf("probeFails = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestProbeDelay(t *testing.T) {
	t.Parallel()
	p := &corev1.Probe{InitialDelaySeconds: 5, SuccessThreshold: 3, PeriodSeconds: 2}
	if got, want := probeDelay(p), 9*time.Second; got != want {
		t.Errorf("probeDelay = %v, want %v", got, want)
	}
	if got := probeDelay(&corev1.Probe{SuccessThreshold: 2}); got != 10*time.Second {
		t.Errorf("probeDelay with default period = %v, want 10s", got)
	}
}

func TestImageNames(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"nginx", "docker.io/library/nginx:latest"},
		{"nginx:1.27", "docker.io/library/nginx:1.27"},
		{"bitnami/redis", "docker.io/bitnami/redis:latest"},
		{"registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"},
		{"localhost:5000/app", "localhost:5000/app:latest"},
		{"localhost/app:v1", "localhost/app:v1"},
		{"busybox@sha256:abc", "docker.io/library/busybox@sha256:abc"},
	}
	for _, tc := range cases {
		if got := normalizeImage(tc.in); got != tc.want {
			t.Errorf("normalizeImage(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	id := imageID("nginx:1.27")
	if want := "docker.io/library/nginx@sha256:"; len(id) != len(want)+64 || id[:len(want)] != want {
		t.Errorf("imageID = %q, want %s<64 hex>", id, want)
	}
	if imageID("nginx:1.27") != id || imageID("nginx:1.28") == id {
		t.Error("imageID is not a stable function of the image")
	}
}
