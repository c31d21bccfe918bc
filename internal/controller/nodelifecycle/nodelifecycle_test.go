package nodelifecycle

import (
	"context"
	"errors"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/skiff/skiff/internal/controller"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func readyNode(name, zone string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelTopologyZone: zone}},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{
			{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: metav1.NewTime(t0)},
			{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse, LastHeartbeatTime: metav1.NewTime(t0)},
		}},
	}
}

func lease(name string, renew time.Time) *coordinationv1.Lease {
	rt := metav1.NewMicroTime(renew)
	return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: LeaseNamespace}, Spec: coordinationv1.LeaseSpec{RenewTime: &rt}}
}

func readyPod(name, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:       corev1.PodSpec{NodeName: node},
		Status:     corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
}

// fixture holds a Controller over a fake clientset whose informer caches
// are filled by hand.
type fixture struct {
	t      *testing.T
	client *fake.Clientset
	f      informers.SharedInformerFactory
	clock  *clocktesting.FakeClock
	c      *Controller
	te     *TaintEviction
	rec    *record.FakeRecorder
}

func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	t.Helper()
	fx := &fixture{t: t, client: fake.NewClientset(objs...), clock: clocktesting.NewFakeClock(t0), rec: record.NewFakeRecorder(100)}
	fx.f = informers.NewSharedInformerFactory(fx.client, 0)
	var err error
	fx.c, err = New(Config{
		Client: fx.client, Nodes: fx.f.Core().V1().Nodes(), Leases: fx.f.Coordination().V1().Leases(), Pods: fx.f.Core().V1().Pods(),
		Recorder: fx.rec, GracePeriod: 40 * time.Second, Clock: fx.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	fx.te, err = NewTaintEviction(TaintEvictionConfig{
		Client: fx.client, Nodes: fx.f.Core().V1().Nodes(), Pods: fx.f.Core().V1().Pods(), Recorder: fx.rec, Clock: fx.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		fx.add(o)
	}
	return fx
}

// add puts o into its informer's cache.
func (fx *fixture) add(o runtime.Object) {
	var err error
	switch o := o.(type) {
	case *corev1.Node:
		err = fx.f.Core().V1().Nodes().Informer().GetIndexer().Update(o)
	case *corev1.Pod:
		err = fx.f.Core().V1().Pods().Informer().GetIndexer().Update(o)
	case *coordinationv1.Lease:
		err = fx.f.Coordination().V1().Leases().Informer().GetIndexer().Update(o)
	}
	if err != nil {
		fx.t.Fatal(err)
	}
}

// actions returns "verb resource[/subresource]" of the recorded writes.
func (fx *fixture) writes() []k8stesting.Action {
	var out []k8stesting.Action
	for _, a := range fx.client.Actions() {
		if a.GetVerb() != "list" && a.GetVerb() != "watch" && a.GetVerb() != "get" {
			out = append(out, a)
		}
	}
	fx.client.ClearActions()
	return out
}

func (fx *fixture) node(name string) *corev1.Node {
	n, err := fx.client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		fx.t.Fatal(err)
	}
	return n
}

func TestMonitorMarksSilentNodeUnknown(t *testing.T) {
	nodes := []*corev1.Node{readyNode("a", "z"), readyNode("b", "z")}
	fx := newFixture(t, nodes[0], nodes[1], lease("a", t0), lease("b", t0))
	ctx := context.Background()
	if err := fx.c.monitor(ctx); err != nil {
		t.Fatal(err)
	}
	if w := fx.writes(); len(w) != 0 {
		t.Fatalf("first pass wrote %v", w)
	}
	// b keeps renewing its Lease; a goes silent past the grace period.
	fx.clock.Step(41 * time.Second)
	fx.add(lease("b", t0.Add(41*time.Second)))
	if err := fx.c.monitor(ctx); err != nil {
		t.Fatal(err)
	}
	w := fx.writes()
	if len(w) != 1 || w[0].GetSubresource() != "status" {
		t.Fatalf("writes = %v, want one node status update", w)
	}
	a := fx.node("a")
	for _, c := range a.Status.Conditions {
		if c.Type != corev1.NodeReady && c.Type != corev1.NodeMemoryPressure {
			continue
		}
		if c.Status != corev1.ConditionUnknown || c.Reason != reasonUnknown || c.Message != messageUnknown {
			t.Errorf("condition %s = %s %s %q", c.Type, c.Status, c.Reason, c.Message)
		}
	}
	if c := condition(&a.Status, corev1.NodeDiskPressure); c == nil || c.Reason != reasonNeverUpdated {
		t.Errorf("missing condition not added as NeverUpdated: %+v", c)
	}
	if b := fx.node("b"); readyStatus(b) != corev1.ConditionTrue {
		t.Errorf("node b Ready = %s", readyStatus(b))
	}
}

func TestSyncTaintsAndMarksPods(t *testing.T) {
	down := readyNode("a", "z")
	markUnknown(down, t0)
	pod := readyPod("p", "a")
	fx := newFixture(t, down, readyNode("b", "z"), pod)
	ctx := context.Background()
	if err := fx.c.sync(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	a := fx.node("a")
	if !hasTaint(a.Spec.Taints, unreachableNoExecute) || !hasTaint(a.Spec.Taints, corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoSchedule}) {
		t.Errorf("taints = %v", a.Spec.Taints)
	}
	p, _ := fx.client.CoreV1().Pods("default").Get(ctx, "p", metav1.GetOptions{})
	if podReady(p) {
		t.Errorf("pod still ready: %+v", p.Status.Conditions)
	}
	// Back to Ready: the taints go, without a token.
	healed := a.DeepCopy()
	healed.Status = readyNode("a", "z").Status
	fx.add(healed)
	if err := fx.c.sync(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if a := fx.node("a"); len(a.Spec.Taints) != 0 {
		t.Errorf("taints after recovery = %v", a.Spec.Taints)
	}
}

func TestNoExecuteTaintingIsRateLimited(t *testing.T) {
	var objs []runtime.Object
	for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
		node := readyNode(n, "z")
		if n < "c" {
			markUnknown(node, t0)
		}
		objs = append(objs, node)
	}
	fx := newFixture(t, objs...)
	ctx := context.Background()
	if err := fx.c.sync(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	err := fx.c.sync(ctx, "b")
	var re *controller.RequeueError
	if !errors.As(err, &re) || re.After != 10*time.Second {
		t.Fatalf("second node in the same zone: err %v, want requeue after 10s", err)
	}
	if b := fx.node("b"); hasTaint(b.Spec.Taints, unreachableNoExecute) {
		t.Errorf("b tainted NoExecute before its token")
	}
	fx.clock.Step(10 * time.Second)
	if err := fx.c.sync(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if b := fx.node("b"); !hasTaint(b.Spec.Taints, unreachableNoExecute) {
		t.Errorf("b not tainted after 10s: %v", b.Spec.Taints)
	}
}

func TestAllZonesDownEvictsNothing(t *testing.T) {
	a := readyNode("a", "z")
	markUnknown(a, t0)
	fx := newFixture(t, a)
	ctx := context.Background()
	if err := fx.c.monitor(ctx); err != nil {
		t.Fatal(err)
	}
	if err := fx.c.sync(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	n := fx.node("a")
	if hasTaint(n.Spec.Taints, unreachableNoExecute) || !hasTaint(n.Spec.Taints, corev1.Taint{Key: corev1.TaintNodeUnreachable, Effect: corev1.TaintEffectNoSchedule}) {
		t.Errorf("taints = %v, want NoSchedule only", n.Spec.Taints)
	}
}

func TestZoneState(t *testing.T) {
	for _, tc := range []struct {
		name string
		z    zoneCounts
		want zoneState
	}{
		{"healthy", zoneCounts{ready: 3}, stateNormal},
		{"all down", zoneCounts{notReady: 2}, stateFullDisruption},
		{"two of three down is not enough nodes", zoneCounts{ready: 1, notReady: 2}, stateNormal},
		{"three of five down", zoneCounts{ready: 2, notReady: 3}, statePartialDisruption},
		{"three of ten down", zoneCounts{ready: 7, notReady: 3}, stateNormal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.z.state(DefaultUnhealthyZoneThreshold); got != tc.want {
				t.Errorf("state = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTaintEviction(t *testing.T) {
	node := readyNode("a", "z")
	node.Spec.Taints = []corev1.Taint{unreachableNoExecute}
	secs := int64(30)
	tolerating := readyPod("tolerating", "a")
	tolerating.Spec.Tolerations = []corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &secs}}
	forever := readyPod("forever", "a")
	forever.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
	intolerant := readyPod("intolerant", "a")
	fx := newFixture(t, node, tolerating, forever, intolerant)
	ctx := context.Background()

	if err := fx.te.sync(ctx, "default/intolerant"); err != nil {
		t.Fatal(err)
	}
	if err := fx.te.sync(ctx, "default/forever"); err != nil {
		t.Fatal(err)
	}
	err := fx.te.sync(ctx, "default/tolerating")
	var re *controller.RequeueError
	if !errors.As(err, &re) || re.After != 30*time.Second {
		t.Fatalf("tolerating pod: err %v, want requeue after 30s", err)
	}
	fx.clock.Step(30 * time.Second)
	if err := fx.te.sync(ctx, "default/tolerating"); err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for _, a := range fx.writes() {
		if d, ok := a.(k8stesting.DeleteAction); ok {
			deleted = append(deleted, d.GetName())
		}
	}
	if len(deleted) != 2 || deleted[0] != "intolerant" || deleted[1] != "tolerating" {
		t.Errorf("deleted %v, want [intolerant tolerating]", deleted)
	}
	if got := <-fx.rec.Events; got != "Normal TaintManagerEviction Marking for deletion Pod default/intolerant" {
		t.Errorf("event %q", got)
	}
}

func TestReconcileTaints(t *testing.T) {
	user := corev1.Taint{Key: "dedicated", Value: "x", Effect: corev1.TaintEffectNoSchedule}
	got, changed := reconcileTaints([]corev1.Taint{user, {Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute}},
		ownedNoExecute, []corev1.Taint{unreachableNoExecute}, t0)
	if !changed || len(got) != 2 || got[0] != user || got[1].Key != corev1.TaintNodeUnreachable || got[1].TimeAdded == nil {
		t.Errorf("reconcileTaints = %v, %v", got, changed)
	}
	if _, changed := reconcileTaints(got, ownedNoExecute, []corev1.Taint{unreachableNoExecute}, t0); changed {
		t.Error("a second pass changed the taints")
	}
}
