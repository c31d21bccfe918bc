package podgc

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
)

type fixture struct {
	t      *testing.T
	client *fake.Clientset
	clock  *clocktesting.FakeClock
	ctl    *Controller
}

func newFixture(t *testing.T, threshold int, objs ...runtime.Object) *fixture {
	t.Helper()
	client := fake.NewClientset(objs...)
	inf := informers.NewSharedInformerFactory(client, 0)
	clk := clocktesting.NewFakeClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	ctl := New(Config{Client: client, Pods: inf.Core().V1().Pods(), Nodes: inf.Core().V1().Nodes(), TerminatedPodThreshold: threshold, Clock: clk})
	for _, o := range objs {
		switch o := o.(type) {
		case *corev1.Pod:
			_ = inf.Core().V1().Pods().Informer().GetIndexer().Add(o)
		case *corev1.Node:
			_ = inf.Core().V1().Nodes().Informer().GetIndexer().Add(o)
		}
	}
	return &fixture{t: t, client: client, clock: clk, ctl: ctl}
}

func (f *fixture) run() {
	f.t.Helper()
	f.client.ClearActions()
	if err := f.ctl.gc(context.Background()); err != nil {
		f.t.Fatalf("gc: %v", err)
	}
}

// deleted returns the names of the pods deleted in the last run.
func (f *fixture) deleted() []string {
	var out []string
	for _, a := range f.client.Actions() {
		if d, ok := a.(clienttesting.DeleteAction); ok && d.GetResource().Resource == "pods" {
			out = append(out, d.GetName())
		}
	}
	slices.Sort(out)
	return out
}

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func pod(name string, age int, phase corev1.PodPhase, node string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", CreationTimestamp: metav1.NewTime(t0.Add(-time.Duration(age) * time.Minute))},
		Spec:       corev1.PodSpec{NodeName: node},
		Status:     corev1.PodStatus{Phase: phase},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func node(name string, ready bool, taints ...corev1.Taint) *corev1.Node {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.NodeSpec{Taints: taints},
		Status:     corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: st}}},
	}
}

func TestGC(t *testing.T) {
	now := metav1.NewTime(t0)
	terminating := func(p *corev1.Pod) { p.DeletionTimestamp = &now }
	evictedPod := func(p *corev1.Pod) { p.Status.Reason = "Evicted" }
	tests := []struct {
		name      string
		threshold int
		objs      []runtime.Object
		want      []string
	}{{
		name:      "terminated over threshold, evicted then oldest",
		threshold: 2,
		objs: []runtime.Object{
			node("n1", true),
			pod("old", 10, corev1.PodSucceeded, "n1"),
			pod("older", 20, corev1.PodFailed, "n1"),
			pod("new-evicted", 1, corev1.PodFailed, "n1", evictedPod),
			pod("newest", 0, corev1.PodSucceeded, "n1"),
			pod("running", 30, corev1.PodRunning, "n1"),
		},
		want: []string{"new-evicted", "older"},
	}, {
		name:      "threshold zero keeps terminated pods",
		threshold: 0,
		objs:      []runtime.Object{node("n1", true), pod("a", 1, corev1.PodSucceeded, "n1")},
	}, {
		name:      "unscheduled terminating",
		threshold: 10,
		objs: []runtime.Object{
			node("n1", true),
			pod("pending-deleting", 1, corev1.PodPending, "", terminating),
			pod("pending", 1, corev1.PodPending, ""),
			pod("bound-deleting", 1, corev1.PodRunning, "n1", terminating),
		},
		want: []string{"pending-deleting"},
	}, {
		name:      "terminating on out-of-service node",
		threshold: 10,
		objs: []runtime.Object{
			node("down", false, corev1.Taint{Key: corev1.TaintNodeOutOfService, Effect: corev1.TaintEffectNoExecute}),
			node("flaky", false),
			pod("a", 1, corev1.PodRunning, "down", terminating),
			pod("b", 1, corev1.PodRunning, "down"),
			pod("c", 1, corev1.PodRunning, "flaky", terminating),
		},
		want: []string{"a"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.threshold, tc.objs...)
			f.run()
			if diff := cmp.Diff(tc.want, f.deleted()); diff != "" {
				t.Errorf("deleted (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOrphanedAfterQuarantine(t *testing.T) {
	f := newFixture(t, 0, node("n1", true), pod("kept", 1, corev1.PodRunning, "n1"), pod("orphan", 1, corev1.PodRunning, "gone"))
	f.run()
	if got := f.deleted(); len(got) != 0 {
		t.Fatalf("deleted %v before the quarantine", got)
	}
	f.clock.Step(DefaultQuarantine)
	f.run()
	if diff := cmp.Diff([]string{"orphan"}, f.deleted()); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
	// The pod was marked Failed with the DisruptionTarget condition first.
	var marked *corev1.Pod
	for _, a := range f.client.Actions() {
		if u, ok := a.(clienttesting.UpdateAction); ok && u.GetSubresource() == "status" {
			marked = u.GetObject().(*corev1.Pod)
		}
	}
	if marked == nil || marked.Status.Phase != corev1.PodFailed || len(marked.Status.Conditions) != 1 ||
		marked.Status.Conditions[0].Reason != "DeletionByPodGC" {
		t.Errorf("status before delete = %+v", marked)
	}
}

func TestOrphanNodeComesBack(t *testing.T) {
	f := newFixture(t, 0, pod("p", 1, corev1.PodRunning, "n2"))
	f.run()
	// The node exists on the server though the cache has not seen it.
	if _, err := f.client.CoreV1().Nodes().Create(context.Background(), node("n2", true), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.clock.Step(DefaultQuarantine)
	f.run()
	if got := f.deleted(); len(got) != 0 {
		t.Errorf("deleted %v of a node that exists", got)
	}
	if len(f.ctl.missingSince) != 0 {
		t.Errorf("node still quarantined: %v", f.ctl.missingSince)
	}
}
