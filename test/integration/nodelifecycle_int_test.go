//go:build integration

package integration

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/skiff/skiff/internal/config"
	"github.com/skiff/skiff/internal/nodesim"
	"github.com/skiff/skiff/internal/testutil"
)

// TestNodeLifecycle stops the heartbeats of one of two simulated nodes:
// it turns Unknown (NotReady in kubectl), is tainted unreachable, its
// pods turn not ready and the pod tolerating the taint for 2s is evicted
// while the one tolerating it forever stays; resumed heartbeats clear
// the taints.
func TestNodeLifecycle(t *testing.T) {
	s := testutil.StartServerWith(t, func(c *config.Server) { c.NodeMonitorGracePeriod = 2 * time.Second })
	cs := s.Client()
	ctx := ctxT(t)
	sim := nodesimStart(t, s, nodesim.Config{Count: 2, HeartbeatInterval: 200 * time.Millisecond})
	nodes := sim.Nodes()
	down, up := nodes[0], nodes[1]
	const ns = "nodelifecycle"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tolerate := func(secs *int64) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			for _, k := range []string{corev1.TaintNodeUnreachable, corev1.TaintNodeNotReady} {
				p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{
					Key: k, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: secs,
				})
			}
		}
	}
	on := func(node string) func(*corev1.Pod) { return func(p *corev1.Pod) { p.Spec.NodeName = node } }
	two := int64(2)
	for _, p := range []*corev1.Pod{
		nodesimPod("evicted", on(down), tolerate(&two)),
		nodesimPod("stays", on(down), tolerate(nil)),
		nodesimPod("elsewhere", on(up), tolerate(&two)),
	} {
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"evicted", "stays", "elsewhere"} {
		nodesimWaitPod(t, cs, ns, name, func(p *corev1.Pod) bool { return nodesimPodCond(p, corev1.PodReady) == corev1.ConditionTrue }, "ready")
	}

	if err := sim.Stop(down); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	var node *corev1.Node
	eventually(t, wait, "node "+down+" Unknown and tainted unreachable", func() (bool, error) {
		var err error
		node, err = cs.CoreV1().Nodes().Get(ctx, down, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return readyCond(node).Status == corev1.ConditionUnknown &&
			hasNodeTaint(node, corev1.TaintNodeUnreachable, corev1.TaintEffectNoExecute) &&
			hasNodeTaint(node, corev1.TaintNodeUnreachable, corev1.TaintEffectNoSchedule), nil
	})
	t.Logf("node %s Unknown and tainted %v after stopping its heartbeats", down, time.Since(stopped).Round(100*time.Millisecond))
	if rc := readyCond(node); rc.Reason != "NodeStatusUnknown" || rc.Message != "Kubelet stopped posting node status." {
		t.Errorf("Ready condition = %s %q, want NodeStatusUnknown %q", rc.Reason, rc.Message, "Kubelet stopped posting node status.")
	}
	for _, c := range node.Status.Conditions {
		if c.Status != corev1.ConditionUnknown && c.Type != corev1.NodeNetworkUnavailable {
			t.Errorf("condition %s = %s, want Unknown", c.Type, c.Status)
		}
	}
	out := nodesimKubectl(t, s, "get", "nodes", "--no-headers")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		want := "Ready"
		if f[0] == down {
			want = "NotReady"
		}
		if len(f) < 2 || f[1] != want {
			t.Errorf("kubectl get nodes: %q, want %s", line, want)
		}
	}
	if n, err := cs.CoreV1().Nodes().Get(ctx, up, metav1.GetOptions{}); err != nil || len(n.Spec.Taints) != 0 {
		t.Errorf("healthy node %s: taints %v, err %v", up, n.Spec.Taints, err)
	}

	nodesimWaitPod(t, cs, ns, "stays", func(p *corev1.Pod) bool { return nodesimPodCond(p, corev1.PodReady) == corev1.ConditionFalse }, "marked not ready")
	eventually(t, wait, "pod evicted", func() (bool, error) {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, "evicted", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return err == nil && p.DeletionTimestamp != nil, err
	})
	eventually(t, wait, "TaintManagerEviction event", func() (bool, error) {
		evs, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("involvedObject.name", "evicted").String()})
		if err != nil {
			return false, err
		}
		return slices.ContainsFunc(evs.Items, func(e corev1.Event) bool {
			return e.Reason == "TaintManagerEviction" && e.Message == "Marking for deletion Pod "+ns+"/evicted"
		}), nil
	})
	for _, name := range []string{"stays", "elsewhere"} {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil || p.DeletionTimestamp != nil {
			t.Errorf("pod %s should stay: err %v, deletionTimestamp %v", name, err, p.DeletionTimestamp)
		}
	}

	if err := sim.Resume(down); err != nil {
		t.Fatal(err)
	}
	eventually(t, wait, "node "+down+" Ready and untainted", func() (bool, error) {
		n, err := cs.CoreV1().Nodes().Get(ctx, down, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return readyCond(n).Status == corev1.ConditionTrue && len(n.Spec.Taints) == 0, nil
	})
}

func readyCond(n *corev1.Node) corev1.NodeCondition {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c
		}
	}
	return corev1.NodeCondition{}
}

func hasNodeTaint(n *corev1.Node, key string, effect corev1.TaintEffect) bool {
	return slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == key && t.Effect == effect })
}
