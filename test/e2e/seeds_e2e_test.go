//go:build e2e

package e2e

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// seedManifests are the seeds' workload examples, with image: busybox.
const seedManifests = `apiVersion: v1
kind: Pod
metadata:
  name: seed-pod
  labels:
    app: seed-pod
spec:
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "echo hello from the pod; sleep 3600"]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: seed-deploy
spec:
  replicas: 2
  selector:
    matchLabels:
      app: seed-deploy
  template:
    metadata:
      labels:
        app: seed-deploy
    spec:
      containers:
      - name: web
        image: busybox
        command: ["httpd", "-f", "-p", "8080"]
        ports:
        - containerPort: 8080
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: seed-ds
spec:
  selector:
    matchLabels:
      app: seed-ds
  template:
    metadata:
      labels:
        app: seed-ds
    spec:
      containers:
      - name: agent
        image: busybox
        command: ["sh", "-c", "sleep 3600"]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: seed-job
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: compute
        image: busybox
        command: ["sh", "-c", "echo computed 42"]
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: seed-cron
spec:
  schedule: "*/1 * * * *"
  successfulJobsHistoryLimit: 3
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: tick
            image: busybox
            command: ["sh", "-c", "date; echo tick"]
`

// TestSeedWorkloads applies the seeds' Pod, Deployment, DaemonSet, Job
// and CronJob manifests (image: busybox) on the single shared node: the
// long-running pods reach Running with pod IPs of the node's pod CIDR,
// the Job's pod Completed, a Job made from the CronJob completes, and the
// CronJob fires on its own within its minute.
func TestSeedWorkloads(t *testing.T) {
	n := sharedNode(t)
	k := n.Kubectl
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	podCIDR, _ := nodeNetwork(t, k, n.Node)
	k.Apply(t, "apply", seedManifests)

	waitRunning(t, ctx, k, "seed-pod")
	waitKubectl(t, ctx, k, "deployment seed-deploy available", func(out string) bool { return out == "2 2" },
		"get", "deployment", "seed-deploy", "-o", "jsonpath={.status.readyReplicas} {.status.availableReplicas}")
	waitKubectl(t, ctx, k, "daemonset seed-ds ready on the node", func(out string) bool { return out == "1 1" },
		"get", "daemonset", "seed-ds", "-o", "jsonpath={.status.desiredNumberScheduled} {.status.numberReady}")
	waitKubectl(t, ctx, k, "job seed-job complete", func(out string) bool { return out == "1" },
		"get", "job", "seed-job", "-o", "jsonpath={.status.succeeded}")
	k.OK(t, "create", "job", "seed-cron-manual", "--from=cronjob/seed-cron")
	waitKubectl(t, ctx, k, "job seed-cron-manual complete", func(out string) bool { return out == "1" },
		"get", "job", "seed-cron-manual", "-o", "jsonpath={.status.succeeded}")
	if logs := k.OK(t, "logs", "job/seed-job"); !strings.Contains(logs, "computed 42") {
		t.Errorf("job log %q", logs)
	}

	// kubectl get pods -o wide: Running pods have IPs of the pod CIDR,
	// the Jobs' pods are Completed.
	wide := k.OK(t, "get", "pods", "-o", "wide")
	running, completed := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(wide), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 7 {
			t.Fatalf("kubectl get pods -o wide:\n%s", wide)
		}
		if strings.HasPrefix(f[0], "seed-cron-") && !strings.HasPrefix(f[0], "seed-cron-manual-") {
			continue // the CronJob may fire at any moment: its pod can be in any phase
		}
		switch f[2] {
		case "Running":
			running++
			if ip, err := netip.ParseAddr(f[5]); err != nil || !podCIDR.Contains(ip) {
				t.Errorf("pod %s has IP %q, want one of %v", f[0], f[5], podCIDR)
			}
		case "Completed":
			completed++
		}
	}
	if running != 4 || completed < 2 {
		t.Errorf("want 4 Running pods (pod, 2 of the Deployment, the DaemonSet's) and 2 or more Completed:\n%s", wide)
	}

	// The CronJob fires by itself at the next minute boundary.
	waitKubectl(t, ctx, k, "a Job of CronJob seed-cron completed", func(out string) bool {
		return strings.Contains(out, "seed-cron-") && strings.Contains(strings.ReplaceAll(out, "seed-cron-manual", ""), "seed-cron-")
	}, "get", "jobs", "-o", `jsonpath={range .items[?(@.status.succeeded==1)]}{.metadata.name}{"\n"}{end}`)
	if last := k.JSONPath(t, "{.status.lastScheduleTime}", "cronjob", "seed-cron"); last == "" {
		t.Error("cronjob seed-cron has no lastScheduleTime")
	}
}
