//go:build integration

package integration

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiff/skiff/internal/nodesim"
)

func agentSet(ns, name string, mutate ...func(*appsv1.DaemonSet)) *appsv1.DaemonSet {
	labels := map[string]string{"app": name}
	one := intstr.FromInt32(1)
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "agent", Image: "agent:v1"}}},
			},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{
				Type:          appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &one},
			},
		},
	}
	for _, m := range mutate {
		m(ds)
	}
	return ds
}

func TestDaemonSetFollowsNodes(t *testing.T) {
	s, cs := start(t)
	sim := nodesimStart(t, s, nodesim.Config{Count: 2})
	ctx := ctxT(t)
	const ns = "ds"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AppsV1().DaemonSets(ns).Create(ctx, agentSet(ns, "agent"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// placed maps node → the agent pods (not being deleted) on it.
	placed := func(app string) (map[string][]corev1.Pod, error) {
		l, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
		if err != nil {
			return nil, err
		}
		m := map[string][]corev1.Pod{}
		for _, p := range l.Items {
			if p.DeletionTimestamp == nil {
				m[p.Spec.NodeName] = append(m[p.Spec.NodeName], p)
			}
		}
		return m, nil
	}
	nodeNames := func(m map[string][]corev1.Pod) string {
		var out []string
		for n, ps := range m {
			out = append(out, fmt.Sprintf("%s×%d", n, len(ps)))
		}
		sort.Strings(out)
		return strings.Join(out, ",")
	}
	waitDS := func(name, what string, cond func(*appsv1.DaemonSet, map[string][]corev1.Pod) bool) *appsv1.DaemonSet {
		t.Helper()
		var ds *appsv1.DaemonSet
		eventually(t, wait, what, func() (bool, error) {
			var err error
			ds, err = cs.AppsV1().DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			m, err := placed(name)
			if err != nil {
				return false, err
			}
			ok := ds.Status.ObservedGeneration == ds.Generation && cond(ds, m)
			return ok, fmt.Errorf("status %+v pods %s", ds.Status, nodeNames(m))
		})
		return ds
	}
	onEvery := func(nodes ...string) func(*appsv1.DaemonSet, map[string][]corev1.Pod) bool {
		return func(ds *appsv1.DaemonSet, m map[string][]corev1.Pod) bool {
			n := int32(len(nodes))
			if len(m) != len(nodes) || ds.Status.DesiredNumberScheduled != n || ds.Status.CurrentNumberScheduled != n ||
				ds.Status.NumberReady != n || ds.Status.NumberAvailable != n || ds.Status.UpdatedNumberScheduled != n ||
				ds.Status.NumberMisscheduled != 0 {
				return false
			}
			for _, node := range nodes {
				if len(m[node]) != 1 {
					return false
				}
			}
			return true
		}
	}
	initial := sim.Nodes()
	waitDS("agent", "a ready pod on each of 2 nodes", onEvery(initial...))

	m, _ := placed("agent")
	p := m[initial[0]][0]
	terms := p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) != 1 || len(terms[0].MatchFields) != 1 || terms[0].MatchFields[0].Key != "metadata.name" ||
		terms[0].MatchFields[0].Values[0] != initial[0] {
		t.Errorf("pod node affinity %+v", terms)
	}
	tols := map[string]bool{}
	for _, tol := range p.Spec.Tolerations {
		tols[tol.Key+":"+string(tol.Effect)] = tol.TolerationSeconds == nil
	}
	for _, want := range []string{"node.kubernetes.io/not-ready:NoExecute", "node.kubernetes.io/unreachable:NoExecute",
		"node.kubernetes.io/disk-pressure:NoSchedule", "node.kubernetes.io/memory-pressure:NoSchedule",
		"node.kubernetes.io/pid-pressure:NoSchedule", "node.kubernetes.io/unschedulable:NoSchedule"} {
		if !tols[want] {
			t.Errorf("pod lacks default toleration %s without seconds: %+v", want, p.Spec.Tolerations)
		}
	}
	if p.Labels["pod-template-generation"] != "1" || p.Labels["controller-revision-hash"] == "" {
		t.Errorf("pod labels %v", p.Labels)
	}

	// Nodes join: a plain one gets a pod, a tainted one does not.
	if err := sim.AddNode(ctx, nodesim.NodeSpec{Name: "joiner"}); err != nil {
		t.Fatal(err)
	}
	waitDS("agent", "a pod on the node that joined", onEvery(append(initial, "joiner")...))
	taint := corev1.Taint{Key: "dedicated", Value: "infra", Effect: corev1.TaintEffectNoSchedule}
	if err := sim.AddNode(ctx, nodesim.NodeSpec{Name: "tainted", Taints: []corev1.Taint{taint}}); err != nil {
		t.Fatal(err)
	}
	if err := sim.AddNode(ctx, nodesim.NodeSpec{Name: "late"}); err != nil {
		t.Fatal(err)
	}
	// Once "late" has its pod the controller has seen "tainted" too.
	waitDS("agent", "pods on every untainted node", onEvery(append(initial, "joiner", "late")...))

	tolerant := agentSet(ns, "tolerant", func(ds *appsv1.DaemonSet) {
		ds.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "infra", Effect: corev1.TaintEffectNoSchedule}}
	})
	if _, err := cs.AppsV1().DaemonSets(ns).Create(ctx, tolerant, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitDS("tolerant", "a tolerating DaemonSet on the tainted node too", onEvery(append(initial, "joiner", "late", "tainted")...))

	// A node leaves: its pod is removed and the counts drop.
	if err := sim.RemoveNode(ctx, "joiner"); err != nil {
		t.Fatal(err)
	}
	waitDS("agent", "no pod for the node that left", onEvery(append(initial, "late")...))

	// A node stops matching: a nodeSelector keeps the set off the others.
	sel := `{"spec":{"template":{"spec":{"nodeSelector":{"kubernetes.io/hostname":"late"}}}}}`
	if _, err := cs.AppsV1().DaemonSets(ns).Patch(ctx, "tolerant", types.StrategicMergePatchType, []byte(sel), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitDS("tolerant", "only the selected node", onEvery("late"))

	// Rolling update, one node at a time.
	nodes := append(initial, "late")
	var minAvailable int32 = 99
	img := `{"spec":{"template":{"spec":{"containers":[{"name":"agent","image":"agent:v2"}]}}}}`
	if _, err := cs.AppsV1().DaemonSets(ns).Patch(ctx, "agent", types.StrategicMergePatchType, []byte(img), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitDS("agent", "every pod updated", func(ds *appsv1.DaemonSet, m map[string][]corev1.Pod) bool {
		minAvailable = min(minAvailable, ds.Status.NumberAvailable)
		if !onEvery(nodes...)(ds, m) {
			return false
		}
		for _, ps := range m {
			if ps[0].Spec.Containers[0].Image != "agent:v2" || ps[0].Labels["pod-template-generation"] != fmt.Sprint(ds.Generation) {
				return false
			}
		}
		return true
	})
	if minAvailable < int32(len(nodes))-1 {
		t.Errorf("availability fell to %d of %d with maxUnavailable 1", minAvailable, len(nodes))
	}
	out, _ := kubectl(t, s, false, "rollout", "status", "ds/agent", "-n", ns, "--timeout=30s")
	if !strings.Contains(out, `daemon set "agent" successfully rolled out`) {
		t.Errorf("rollout status: %s", out)
	}

	// Surge: the new pod starts beside the old one.
	surge := `{"spec":{"updateStrategy":{"rollingUpdate":{"maxSurge":1,"maxUnavailable":0}},"template":{"spec":{"containers":[{"name":"agent","image":"agent:v3"}]}}}}`
	if _, err := cs.AppsV1().DaemonSets(ns).Patch(ctx, "agent", types.StrategicMergePatchType, []byte(surge), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	minAvailable = 99
	sawSurge := false
	waitDS("agent", "every pod updated with surge", func(ds *appsv1.DaemonSet, m map[string][]corev1.Pod) bool {
		minAvailable = min(minAvailable, ds.Status.NumberAvailable)
		for _, ps := range m {
			sawSurge = sawSurge || len(ps) > 1
		}
		if !onEvery(nodes...)(ds, m) {
			return false
		}
		for _, ps := range m {
			if ps[0].Spec.Containers[0].Image != "agent:v3" {
				return false
			}
		}
		return true
	})
	if minAvailable < int32(len(nodes)) {
		t.Errorf("availability fell to %d of %d with maxUnavailable 0", minAvailable, len(nodes))
	}
	if !sawSurge {
		t.Log("no node was seen with two pods (the surge was quicker than the polls)")
	}
	revs, err := cs.AppsV1().ControllerRevisions(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=agent"})
	if err != nil || len(revs.Items) != 3 {
		t.Errorf("controller revisions of agent: %d, %v", len(revs.Items), err)
	}
}
