//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// lcField returns a jsonpath field of pod, or "" when the get fails.
func lcField(t *testing.T, k *Kubectl, pod, expr string) string {
	t.Helper()
	r := k.Run(t, "get", "pod", pod, "-o", "jsonpath="+expr)
	if r.Code != 0 {
		return ""
	}
	return strings.TrimSpace(r.Stdout)
}

// lcWait polls a jsonpath field of pod until ok accepts it.
func lcWait(t *testing.T, k *Kubectl, pod, expr, what string, timeout time.Duration, ok func(string) bool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last string
	waitKubectl(t, ctx, k, pod+": "+what, func(out string) bool {
		last = strings.TrimSpace(out)
		return ok(last)
	}, "get", "pod", pod, "-o", "jsonpath="+expr)
	return last
}

func lcIs(want string) func(string) bool { return func(s string) bool { return s == want } }

// atLeast accepts a number of at least n.
func lcAtLeast(n int) func(string) bool {
	return func(s string) bool { v, err := strconv.Atoi(s); return err == nil && v >= n }
}

const readyExpr = `{.status.conditions[?(@.type=="Ready")].status}`

// lcPost POSTs to path on port of pod's IP (testapp's toggles).
func lcPost(t *testing.T, k *Kubectl, pod string, port int, path string) {
	t.Helper()
	ip := lcField(t, k, pod, "{.status.podIP}")
	if ip == "" {
		t.Fatalf("pod %s has no IP", pod)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Post("http://"+net.JoinHostPort(ip, strconv.Itoa(port))+path, "text/plain", nil)
	if err != nil {
		t.Fatalf("POST %s to pod %s: %v", path, pod, err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 == 4 {
		t.Fatalf("POST %s to pod %s: %s", path, pod, resp.Status)
	}
}

// lcEvent waits for an event of the namespace with reason whose
// message contains text.
func lcEvent(t *testing.T, k *Kubectl, reason, text string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	waitKubectl(t, ctx, k, fmt.Sprintf("event %s %q", reason, text), func(out string) bool {
		for _, line := range strings.Split(out, "\n") {
			if r, msg, ok := strings.Cut(line, "|"); ok && r == reason && strings.Contains(msg, text) {
				return true
			}
		}
		return false
	}, "get", "events", "-o", `jsonpath={range .items[*]}{.reason}|{.message}{"\n"}{end}`)
}

// lcTestapp returns a manifest of a testapp pod on its own ports with
// extra container fields (probes), indented for the container.
func lcTestapp(name string, httpPort, echoPort, grpcPort int, extra string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: app
    image: skiff.local/testapp
    imagePullPolicy: IfNotPresent
    env:
    - {name: PORT, value: "%d"}
    - {name: ECHO_PORT, value: "%d"}
    - {name: GRPC_PORT, value: "%d"}
    ports:
    - {name: http, containerPort: %d}
%s`, name, httpPort, echoPort, grpcPort, httpPort, extra)
}

// TestProbeHTTPGet: readiness on /readyz flips Ready both ways; a failing
// liveness probe on /healthz restarts the container.
func TestProbeHTTPGet(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	port := freePort(t)
	k.Apply(t, "create", lcTestapp("web", port, freePort(t), freePort(t), `    readinessProbe:
      httpGet: {path: /readyz, port: http}
      periodSeconds: 1
      failureThreshold: 1
    livenessProbe:
      httpGet: {path: /healthz, port: `+strconv.Itoa(port)+`}
      periodSeconds: 1
      failureThreshold: 2
`))
	lcWait(t, k, "web", readyExpr, "Ready", 2*time.Minute, lcIs("True"))

	lcPost(t, k, "web", port, "/readyz?state=fail")
	lcWait(t, k, "web", readyExpr, "not Ready", time.Minute, lcIs("False"))
	if got := lcField(t, k, "web", "{.status.containerStatuses[0].restartCount}"); got != "0" {
		t.Errorf("restartCount %s after a readiness failure, want 0", got)
	}
	lcEvent(t, k, "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 500")
	lcPost(t, k, "web", port, "/readyz?state=ok")
	lcWait(t, k, "web", readyExpr, "Ready again", time.Minute, lcIs("True"))

	lcPost(t, k, "web", port, "/healthz?state=fail")
	lcWait(t, k, "web", "{.status.containerStatuses[0].restartCount}", "a restart", time.Minute, lcAtLeast(1))
	lcEvent(t, k, "Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500")
	lcEvent(t, k, "Killing", "Container app failed liveness probe, will be restarted")
	// The new process is healthy and ready.
	lcWait(t, k, "web", readyExpr, "Ready after the restart", time.Minute, lcIs("True"))
}

// TestProbeExec: an exec readiness probe succeeds while a file exists;
// the exec liveness probe fails once the container removes it.
func TestProbeExec(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	k.Apply(t, "create", `apiVersion: v1
kind: Pod
metadata:
  name: files
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, "touch /tmp/healthy; sleep 8; rm /tmp/healthy; sleep 3600"]
    readinessProbe:
      exec: {command: [cat, /tmp/healthy]}
      periodSeconds: 1
      failureThreshold: 1
    livenessProbe:
      exec: {command: [cat, /tmp/healthy]}
      periodSeconds: 1
      failureThreshold: 1
`)
	lcWait(t, k, "files", readyExpr, "Ready", 2*time.Minute, lcIs("True"))
	lcWait(t, k, "files", "{.status.containerStatuses[0].restartCount}", "a restart", time.Minute, lcAtLeast(1))
	lcEvent(t, k, "Unhealthy", "Liveness probe failed: cat: can't open '/tmp/healthy'")
}

// TestProbeTCPSocket: a tcpSocket readiness probe on a listening port
// succeeds; a tcpSocket liveness probe on a closed port restarts.
func TestProbeTCPSocket(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	echo := freePort(t)
	k.Apply(t, "create", lcTestapp("open", freePort(t), echo, freePort(t), `    readinessProbe:
      tcpSocket: {port: `+strconv.Itoa(echo)+`}
      periodSeconds: 1
`))
	closed := freePort(t)
	k.Apply(t, "create", fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: closed
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sleep, "3600"]
    livenessProbe:
      tcpSocket: {port: %d}
      periodSeconds: 1
      failureThreshold: 1
`, closed))
	lcWait(t, k, "open", readyExpr, "Ready", 2*time.Minute, lcIs("True"))
	lcWait(t, k, "closed", "{.status.containerStatuses[0].restartCount}", "a restart", time.Minute, lcAtLeast(1))
	lcEvent(t, k, "Unhealthy", fmt.Sprintf(":%d: connect: connection refused", closed))
}

// TestProbeGRPC: grpc probes against testapp's health server: Ready while
// SERVING; NOT_SERVING fails liveness and restarts the container.
func TestProbeGRPC(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	port, grpcPort := freePort(t), freePort(t)
	k.Apply(t, "create", lcTestapp("rpc", port, freePort(t), grpcPort, fmt.Sprintf(`    readinessProbe:
      grpc: {port: %d}
      periodSeconds: 1
    livenessProbe:
      grpc: {port: %d}
      periodSeconds: 1
      failureThreshold: 2
`, grpcPort, grpcPort)))
	lcWait(t, k, "rpc", readyExpr, "Ready", 2*time.Minute, lcIs("True"))
	lcPost(t, k, "rpc", port, "/healthz?state=fail")
	lcWait(t, k, "rpc", "{.status.containerStatuses[0].restartCount}", "a restart", time.Minute, lcAtLeast(1))
	lcEvent(t, k, "Unhealthy", `Liveness probe failed: service unhealthy (responded with "NOT_SERVING")`)
	lcWait(t, k, "rpc", readyExpr, "Ready after the restart", time.Minute, lcIs("True"))
}

// TestProbeStartup: a startup probe holds the liveness probe back until
// the app has started (no restart although liveness would fail before),
// and a startup probe that keeps failing restarts the container.
func TestProbeStartup(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	k.Apply(t, "create", `apiVersion: v1
kind: Pod
metadata:
  name: slow
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, "sleep 4; touch /tmp/started; sleep 3600"]
    startupProbe:
      exec: {command: [cat, /tmp/started]}
      periodSeconds: 1
      failureThreshold: 60
    livenessProbe:
      exec: {command: [cat, /tmp/started]}
      periodSeconds: 1
      failureThreshold: 1
---
apiVersion: v1
kind: Pod
metadata:
  name: never
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sleep, "3600"]
    startupProbe:
      exec: {command: ["false"]}
      periodSeconds: 1
      failureThreshold: 2
`)
	lcWait(t, k, "slow", "{.status.containerStatuses[0].started}", "started", 2*time.Minute, lcIs("true"))
	lcWait(t, k, "slow", readyExpr, "Ready", time.Minute, lcIs("True"))
	if got := lcField(t, k, "slow", "{.status.containerStatuses[0].restartCount}"); got != "0" {
		t.Errorf("restartCount %s: the liveness probe ran before the startup probe succeeded", got)
	}
	lcWait(t, k, "never", "{.status.containerStatuses[0].restartCount}", "a restart", time.Minute, lcAtLeast(1))
	lcEvent(t, k, "Killing", "Container app failed startup probe, will be restarted")
	lcEvent(t, k, "Unhealthy", "Startup probe failed: ")
	if got := lcField(t, k, "never", "{.status.containerStatuses[0].started}"); got != "false" {
		t.Errorf("started %q for a container whose startup probe never succeeded", got)
	}
}
