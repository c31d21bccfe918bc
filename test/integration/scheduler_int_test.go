//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff/skiff/internal/nodesim"
	"github.com/skiff/skiff/internal/testutil"
)

// schedStart starts a server (which runs the scheduler) and simulated
// nodes.
func schedStart(t *testing.T, cfg nodesim.Config) (*testutil.Server, kubernetes.Interface) {
	t.Helper()
	s, c := start(t)
	nodesimStart(t, s, cfg)
	return s, c
}

func schedPod(name string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := nodesimPod(name, mutate...)
	p.Namespace = "default"
	return p
}

func withLabels(l map[string]string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Labels = l }
}

func withCPU(cpu string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}
	}
}

func withHostPort(port int32) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: port}}
	}
}

func createPods(t *testing.T, c kubernetes.Interface, pods ...*corev1.Pod) {
	t.Helper()
	for _, p := range pods {
		if _, err := c.CoreV1().Pods(p.Namespace).Create(ctxT(t), p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create pod %s: %v", p.Name, err)
		}
	}
}

// placement returns pod name -> node for the pods of namespace default
// matching selector.
func placement(t *testing.T, c kubernetes.Interface, selector string) map[string]string {
	t.Helper()
	l, err := c.CoreV1().Pods("default").List(ctxT(t), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range l.Items {
		out[p.Name] = p.Spec.NodeName
	}
	return out
}

func boundCount(m map[string]string) int {
	n := 0
	for _, node := range m {
		if node != "" {
			n++
		}
	}
	return n
}

// waitUnschedulable waits for pod's PodScheduled=False condition and
// returns its message.
func waitUnschedulable(t *testing.T, c kubernetes.Interface, name string) string {
	t.Helper()
	var msg string
	eventually(t, wait, "pod "+name+" to be marked unschedulable", func() (bool, error) {
		p, err := c.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionFalse && cond.Reason == corev1.PodReasonUnschedulable {
				msg = cond.Message
				return p.Spec.NodeName == "", nil
			}
		}
		return false, fmt.Errorf("conditions %v", p.Status.Conditions)
	})
	return msg
}

// failedSchedulingEvent waits for a FailedScheduling event of pod and
// returns its message.
func failedSchedulingEvent(t *testing.T, c kubernetes.Interface, name string) string {
	t.Helper()
	var msg string
	eventually(t, wait, "FailedScheduling event of "+name, func() (bool, error) {
		l, err := c.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{
			FieldSelector: fields.Set{"involvedObject.name": name, "reason": "FailedScheduling"}.String(),
		})
		if err != nil || len(l.Items) == 0 {
			return false, err
		}
		msg = l.Items[0].Message
		if l.Items[0].Source.Component != "default-scheduler" {
			return false, fmt.Errorf("event source %q", l.Items[0].Source.Component)
		}
		return true, nil
	})
	return msg
}

func TestSchedulerBindsPods(t *testing.T) {
	_, c := schedStart(t, nodesim.Config{Count: 3})
	for i := range 6 {
		createPods(t, c, schedPod(fmt.Sprintf("p%d", i), withLabels(map[string]string{"app": "plain"})))
	}
	eventually(t, wait, "six pods bound and running", func() (bool, error) {
		l, err := c.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: "app=plain"})
		if err != nil {
			return false, err
		}
		running := 0
		for _, p := range l.Items {
			if p.Spec.NodeName != "" && p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		return running == 6, fmt.Errorf("%d running", running)
	})
	p, _ := c.CoreV1().Pods("default").Get(ctxT(t), "p0", metav1.GetOptions{})
	want := "Successfully assigned default/p0 to " + p.Spec.NodeName
	// Events are written asynchronously by the recorder.
	eventually(t, wait, "the Scheduled event of p0", func() (bool, error) {
		l, err := c.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=p0,reason=Scheduled"})
		if err != nil || len(l.Items) == 0 {
			return false, err
		}
		return l.Items[0].Message == want, fmt.Errorf("event %q, want %q", l.Items[0].Message, want)
	})
}

func TestSchedulerTopologySpreadAcrossZones(t *testing.T) {
	_, c := schedStart(t, nodesim.Config{Count: 6, Zones: []string{"zone-a", "zone-b", "zone-c"}})
	replicas := int32(9)
	labels := map[string]string{"app": "spread"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "spread", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}},
					TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
						MaxSkew: 1, TopologyKey: corev1.LabelTopologyZone, WhenUnsatisfiable: corev1.DoNotSchedule,
						LabelSelector: &metav1.LabelSelector{MatchLabels: labels},
					}},
				},
			},
		},
	}
	if _, err := c.AppsV1().Deployments("default").Create(ctxT(t), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, "nine replicas bound", func() (bool, error) {
		n := boundCount(placement(t, c, "app=spread"))
		return n == 9, fmt.Errorf("%d bound", n)
	})
	nodes, err := c.CoreV1().Nodes().List(ctxT(t), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	zoneOf := map[string]string{}
	for _, n := range nodes.Items {
		zoneOf[n.Name] = n.Labels[corev1.LabelTopologyZone]
	}
	perZone := map[string]int{}
	for _, node := range placement(t, c, "app=spread") {
		perZone[zoneOf[node]]++
	}
	for _, z := range []string{"zone-a", "zone-b", "zone-c"} {
		if perZone[z] != 3 {
			t.Errorf("replicas per zone %v, want 3 in each", perZone)
			break
		}
	}
}

func TestSchedulerAntiAffinityOnePerNode(t *testing.T) {
	s, c := schedStart(t, nodesim.Config{Count: 3})
	anti := func(p *corev1.Pod) {
		p.Labels = map[string]string{"app": "db"}
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, TopologyKey: corev1.LabelHostname,
			}},
		}}
	}
	for i := range 3 {
		createPods(t, c, schedPod(fmt.Sprintf("db-%d", i), anti))
	}
	eventually(t, wait, "three replicas bound", func() (bool, error) {
		return boundCount(placement(t, c, "app=db")) == 3, nil
	})
	nodes := map[string]bool{}
	for _, n := range placement(t, c, "app=db") {
		nodes[n] = true
	}
	if len(nodes) != 3 {
		t.Fatalf("replicas share nodes: %v", placement(t, c, "app=db"))
	}
	createPods(t, c, schedPod("db-3", anti))
	want := "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. " +
		"preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.."
	if got := waitUnschedulable(t, c, "db-3"); got != want {
		t.Errorf("condition message\n got %q\nwant %q", got, want)
	}
	if got := failedSchedulingEvent(t, c, "db-3"); got != want {
		t.Errorf("event message\n got %q\nwant %q", got, want)
	}
	out := nodesimKubectl(t, s, "describe", "pod", "db-3")
	if !strings.Contains(out, "FailedScheduling") || !strings.Contains(out, "default-scheduler") ||
		!strings.Contains(strings.Join(strings.Fields(out), " "), want) {
		t.Errorf("kubectl describe pod does not show the FailedScheduling event:\n%s", out)
	}
	// Deleting a replica frees its node for the pending one.
	if err := c.CoreV1().Pods("default").Delete(ctxT(t), "db-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, "db-3 bound after db-0 left", func() (bool, error) {
		return placement(t, c, "app=db")["db-3"] != "", nil
	})
}

func TestSchedulerHostPortConflicts(t *testing.T) {
	_, c := schedStart(t, nodesim.Config{Count: 2})
	for i := range 3 {
		createPods(t, c, schedPod(fmt.Sprintf("hp-%d", i), withLabels(map[string]string{"app": "hp"}), withHostPort(8080)))
	}
	eventually(t, wait, "two pods bound", func() (bool, error) {
		return boundCount(placement(t, c, "app=hp")) == 2, nil
	})
	var pending string
	for name, node := range placement(t, c, "app=hp") {
		if node == "" {
			pending = name
		}
	}
	want := "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports. " +
		"preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.."
	if got := waitUnschedulable(t, c, pending); got != want {
		t.Errorf("message\n got %q\nwant %q", got, want)
	}
	// A pod on another port still fits.
	createPods(t, c, schedPod("other-port", withLabels(map[string]string{"app": "hp2"}), withHostPort(9090)))
	eventually(t, wait, "other-port bound", func() (bool, error) {
		return boundCount(placement(t, c, "app=hp2")) == 1, nil
	})
}

func TestSchedulerInsufficientCPUAndTaints(t *testing.T) {
	small := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("4Gi"), corev1.ResourcePods: resource.MustParse("110")}
	cp := []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}}
	s, c := schedStart(t, nodesim.Config{Nodes: []nodesim.NodeSpec{
		{Name: "worker", Capacity: small},
		{Name: "cp-1", Taints: cp, Roles: []string{"control-plane"}},
		{Name: "cp-2", Taints: cp, Roles: []string{"control-plane"}},
	}})
	createPods(t, c, schedPod("big", withCPU("2")))
	want := "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }. " +
		"preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.."
	if got := waitUnschedulable(t, c, "big"); got != want {
		t.Errorf("message\n got %q\nwant %q", got, want)
	}
	out := nodesimKubectl(t, s, "describe", "pod", "big")
	if !strings.Contains(strings.Join(strings.Fields(out), " "), "Warning FailedScheduling") {
		t.Errorf("kubectl describe pod:\n%s", out)
	}
	// Tolerating the taint makes the control-plane nodes usable.
	createPods(t, c, schedPod("tolerant", withCPU("2"), func(p *corev1.Pod) {
		p.Spec.Tolerations = []corev1.Toleration{{Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
	}))
	eventually(t, wait, "tolerant bound to a control-plane node", func() (bool, error) {
		p, err := c.CoreV1().Pods("default").Get(context.Background(), "tolerant", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return strings.HasPrefix(p.Spec.NodeName, "cp-"), nil
	})
}
