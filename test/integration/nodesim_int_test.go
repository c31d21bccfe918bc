//go:build integration

package integration

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff/skiff/internal/nodesim"
	"github.com/skiff/skiff/internal/testutil"
)

// nodesimStart runs a node simulator against s until the test ends.
func nodesimStart(t *testing.T, s *testutil.Server, cfg nodesim.Config) *nodesim.Simulator {
	t.Helper()
	client, err := nodesim.NewClient(s.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Client = client
	sim, err := nodesim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("simulator: %v", err)
		}
	})
	select {
	case <-sim.Ready():
	case err := <-done:
		t.Fatalf("simulator stopped: %v", err)
	case <-time.After(wait):
		t.Fatalf("simulator not ready after %v", wait)
	}
	return sim
}

// nodesimKubectl runs the installed kubectl against s and returns its output.
func nodesimKubectl(t *testing.T, s *testutil.Server, args ...string) string {
	t.Helper()
	cmd := exec.Command("/usr/bin/kubectl", args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+s.Kubeconfig())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func nodesimPod(name string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}},
		},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func nodesimPodCond(p *corev1.Pod, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

func nodesimWaitPod(t *testing.T, cs kubernetes.Interface, ns, name string, cond func(*corev1.Pod) bool, what string) *corev1.Pod {
	t.Helper()
	var p *corev1.Pod
	eventually(t, wait, "pod "+name+" "+what, func() (bool, error) {
		var err error
		p, err = cs.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		return err == nil && cond(p), err
	})
	return p
}

func TestNodeSimulator(t *testing.T) {
	s, cs := start(t)
	ctx := ctxT(t)
	sim := nodesimStart(t, s, nodesim.Config{Nodes: []nodesim.NodeSpec{
		{Name: "sim-cp", Roles: []string{"control-plane"}},
		{Name: "sim-w1", Roles: []string{"worker"}, Zone: "a"},
		{Name: "sim-w2", Roles: []string{"worker"}, Zone: "b"},
	}})

	// kubectl shows three Ready nodes with their roles and version.
	out := nodesimKubectl(t, s, "get", "nodes", "--no-headers")
	rows := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 5 {
			t.Fatalf("kubectl get nodes row %q: want NAME STATUS ROLES AGE VERSION", line)
		}
		if f[1] != "Ready" || f[4] != "v1.37.2" {
			t.Errorf("node %s: status %s version %s", f[0], f[1], f[4])
		}
		rows[f[0]] = f[2]
	}
	if rows["sim-cp"] != "control-plane" || rows["sim-w1"] != "worker" || rows["sim-w2"] != "worker" || len(rows) != 3 {
		t.Errorf("roles = %v\n%s", rows, out)
	}
	for _, n := range sim.Nodes() {
		l, err := cs.CoordinationV1().Leases("kube-node-lease").Get(ctx, n, metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != n || l.Spec.RenewTime == nil {
			t.Errorf("lease of %s: %+v, %v", n, l, err)
		}
	}

	ns := "default"
	// A pod bound through the binding subresource runs and becomes Ready
	// with an address from its node's CIDR.
	// The test binds this pod itself: no scheduler serves its name.
	manual := func(p *corev1.Pod) { p.Spec.SchedulerName = "skiff-test-manual" }
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, nodesimPod("web", manual), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := cs.CoreV1().Pods(ns).Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Target:     corev1.ObjectReference{Kind: "Node", Name: "sim-w1"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("bind: %v", err)
	}
	web := nodesimWaitPod(t, cs, ns, "web", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning && nodesimPodCond(p, corev1.PodReady) == corev1.ConditionTrue
	}, "Running and Ready")
	node, err := cs.CoreV1().Nodes().Get(ctx, "sim-w1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ip, err := netip.ParseAddr(web.Status.PodIP)
	if err != nil || !netip.MustParsePrefix(node.Spec.PodCIDR).Contains(ip) {
		t.Errorf("pod IP %q not in node CIDR %s", web.Status.PodIP, node.Spec.PodCIDR)
	}
	if web.Status.HostIP != node.Status.Addresses[0].Address || len(web.Status.ContainerStatuses) != 1 || !web.Status.ContainerStatuses[0].Ready {
		t.Errorf("status = %+v", web.Status)
	}
	if out := nodesimKubectl(t, s, "get", "pod", "web", "--no-headers"); !strings.Contains(out, "1/1") || !strings.Contains(out, "Running") {
		t.Errorf("kubectl get pod web: %s", out)
	}

	// A pod that never passes its readiness probe runs unready.
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, nodesimPod("unready", func(p *corev1.Pod) {
		p.Spec.NodeName = "sim-w2"
		p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"false"}}}}
	}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	unready := nodesimWaitPod(t, cs, ns, "unready", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning }, "Running")
	if nodesimPodCond(unready, corev1.PodReady) != corev1.ConditionFalse {
		t.Errorf("pod with a failing readiness probe is ready: %+v", unready.Status.Conditions)
	}

	// A Job-style pod runs to completion.
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, nodesimPod("job", func(p *corev1.Pod) {
		p.Spec.NodeName = "sim-w2"
		p.Spec.RestartPolicy = corev1.RestartPolicyNever
		p.Spec.Containers[0].Command = []string{"sh", "-c", "exit 0"}
	}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	job := nodesimWaitPod(t, cs, ns, "job", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded }, "Succeeded")
	if term := job.Status.ContainerStatuses[0].State.Terminated; term == nil || term.Reason != "Completed" {
		t.Errorf("job container: %+v", job.Status.ContainerStatuses[0].State)
	}

	// kubectl delete waits until the node has stopped and removed the pod.
	nodesimKubectl(t, s, "delete", "pod", "web", "--timeout=30s")
	if _, err := cs.CoreV1().Pods(ns).Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("web after kubectl delete: %v", err)
	}

	// Statuses the node wrote read back equal: nothing rewrites them.
	again, err := cs.CoreV1().Pods(ns).Get(ctx, "unready", metav1.GetOptions{})
	if err != nil || again.ResourceVersion != unready.ResourceVersion {
		t.Errorf("unready pod rewritten: %v then %v (%v)", unready.ResourceVersion, again.ResourceVersion, err)
	}

	// A stopped node stops renewing its Lease; Resume renews it again.
	if err := sim.Stop("sim-w2"); err != nil {
		t.Fatal(err)
	}
	before, err := cs.CoordinationV1().Leases("kube-node-lease").Get(ctx, "sim-w2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Resume("sim-w2"); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, "lease of sim-w2 renewed after Resume", func() (bool, error) {
		l, err := cs.CoordinationV1().Leases("kube-node-lease").Get(ctx, "sim-w2", metav1.GetOptions{})
		return err == nil && l.ResourceVersion != before.ResourceVersion, err
	})
}
