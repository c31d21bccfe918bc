//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff/skiff/internal/nodesim"
)

// preemptRS is a ReplicaSet of two 1-cpu low-priority pods pinned to
// node.
func preemptRS(name, node string) *appsv1.ReplicaSet {
	two := int32(2)
	lbl := map[string]string{"app": name}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: &two,
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbl},
				Spec: corev1.PodSpec{
					PriorityClassName: "low",
					NodeSelector:      map[string]string{corev1.LabelHostname: node},
					Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10",
						Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}}},
				},
			},
		},
	}
}

func preemptPods(t *testing.T, c kubernetes.Interface, app string) []corev1.Pod {
	t.Helper()
	l, err := c.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

func preemptRunningOn(pods []corev1.Pod, node string) int {
	n := 0
	for _, p := range pods {
		if p.DeletionTimestamp == nil && p.Spec.NodeName == node && p.Status.Phase == corev1.PodRunning {
			n++
		}
	}
	return n
}

// TestSchedulerPreemptionRespectsPDB fills two 2-cpu nodes with the
// low-priority pods of two ReplicaSets, one of them covered by a PDB
// that allows no disruption, and creates a high-priority pod: the victim
// comes from the node without PDB violation, the preemptor is nominated
// there and bound, and the ReplicaSet's replacement stays Pending with
// upstream's message.
func TestSchedulerPreemptionRespectsPDB(t *testing.T) {
	two := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi"), corev1.ResourcePods: resource.MustParse("110")}
	_, c := schedStart(t, nodesim.Config{Nodes: []nodesim.NodeSpec{{Name: "guarded", Capacity: two}, {Name: "open", Capacity: two}}})
	ctx := ctxT(t)
	for name, v := range map[string]int32{"low": 10, "high": 1000} {
		if _, err := c.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: v}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, name := range []string{"low", "high"} {
			_ = c.SchedulingV1().PriorityClasses().Delete(context.Background(), name, metav1.DeleteOptions{})
		}
	})
	for _, rs := range []*appsv1.ReplicaSet{preemptRS("db", "guarded"), preemptRS("web", "open")} {
		if _, err := c.AppsV1().ReplicaSets("default").Create(ctx, rs, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	minAvail := intstr.FromInt32(2)
	if _, err := c.PolicyV1().PodDisruptionBudgets("default").Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &minAvail, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, "both ReplicaSets running on their nodes", func() (bool, error) {
		db, web := preemptRunningOn(preemptPods(t, c, "db"), "guarded"), preemptRunningOn(preemptPods(t, c, "web"), "open")
		return db == 2 && web == 2, fmt.Errorf("db %d, web %d running", db, web)
	})
	eventually(t, wait, "the PDB to count both db pods healthy", func() (bool, error) {
		b, err := c.PolicyV1().PodDisruptionBudgets("default").Get(context.Background(), "db", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return b.Status.CurrentHealthy == 2 && b.Status.DisruptionsAllowed == 0 && b.Status.ObservedGeneration == b.Generation,
			fmt.Errorf("status %+v", b.Status)
	})
	dbBefore := map[string]bool{}
	for _, p := range preemptPods(t, c, "db") {
		dbBefore[p.Name] = true
		if p.Spec.Priority == nil || *p.Spec.Priority != 10 {
			t.Errorf("db pod %s: spec.priority %v, want 10 from PriorityClass low", p.Name, p.Spec.Priority)
		}
	}

	createPods(t, c, schedPod("vip", withCPU("1"), withLabels(map[string]string{"app": "vip"}), func(p *corev1.Pod) {
		p.Spec.PriorityClassName = "high"
	}))
	vip, err := c.CoreV1().Pods("default").Get(ctx, "vip", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if vip.Spec.Priority == nil || *vip.Spec.Priority != 1000 {
		t.Fatalf("vip: spec.priority %v, want 1000 from PriorityClass high", vip.Spec.Priority)
	}
	nodesimWaitPod(t, c, "default", "vip", func(p *corev1.Pod) bool {
		return p.Spec.NodeName == "open" && p.Status.Phase == corev1.PodRunning
	}, "bound to open and running")
	// Binding clears the nomination (upstream since 1.35).
	nodesimWaitPod(t, c, "default", "vip", func(p *corev1.Pod) bool { return p.Status.NominatedNodeName == "" },
		"bound with status.nominatedNodeName cleared")

	// Exactly one web pod was preempted, with upstream's event; the db
	// pods, protected by their PDB, are untouched.
	var victim string
	eventually(t, wait, "a Preempted event on a web pod", func() (bool, error) {
		l, err := c.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{FieldSelector: "reason=Preempted"})
		if err != nil {
			return false, err
		}
		for _, e := range l.Items {
			want := fmt.Sprintf("Preempted by pod %s on node open", vip.UID)
			if e.Message != want {
				return false, fmt.Errorf("event %q, want %q", e.Message, want)
			}
			if !strings.HasPrefix(e.InvolvedObject.Name, "web-") {
				return false, fmt.Errorf("event on %s", e.InvolvedObject.Name)
			}
			victim = e.InvolvedObject.Name
		}
		return len(l.Items) == 1, fmt.Errorf("%d Preempted events", len(l.Items))
	})
	for _, p := range preemptPods(t, c, "db") {
		if !dbBefore[p.Name] || p.DeletionTimestamp != nil {
			t.Errorf("db pod %s was disturbed (new %v, deleting %v)", p.Name, !dbBefore[p.Name], p.DeletionTimestamp != nil)
		}
	}

	// The ReplicaSet replaced its victim; the replacement cannot preempt
	// its peers and stays Pending with upstream's message.
	var replacement string
	eventually(t, wait, "the web ReplicaSet's replacement pod", func() (bool, error) {
		replacement = ""
		for _, p := range preemptPods(t, c, "web") {
			if p.Name == victim {
				return false, fmt.Errorf("victim %s still present (deleting %v)", victim, p.DeletionTimestamp != nil)
			}
			if p.Spec.NodeName == "" {
				replacement = p.Name
			}
		}
		return replacement != "", fmt.Errorf("no pending web pod")
	})
	msg := waitUnschedulable(t, c, replacement)
	want := "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node affinity/selector. " +
		"preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.."
	if msg != want {
		t.Errorf("replacement message\n got %q\nwant %q", msg, want)
	}
	p, err := c.CoreV1().Pods("default").Get(ctx, replacement, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status.Phase != corev1.PodPending || p.Spec.NodeName != "" {
		t.Errorf("replacement %s: phase %s node %q, want Pending and unbound", replacement, p.Status.Phase, p.Spec.NodeName)
	}

	// Clean up the workload so the simulator stops with no pods.
	for _, name := range []string{"db", "web"} {
		_ = c.AppsV1().ReplicaSets("default").Delete(ctx, name, metav1.DeleteOptions{})
	}
	_ = c.PolicyV1().PodDisruptionBudgets("default").Delete(ctx, "db", metav1.DeleteOptions{})
}
