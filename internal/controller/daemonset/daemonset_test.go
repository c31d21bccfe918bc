package daemonset

import (
	"context"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	core "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func node(name string, mutate ...func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}}}
	for _, m := range mutate {
		m(n)
	}
	return n
}

func taint(key string, effect corev1.TaintEffect) func(*corev1.Node) {
	return func(n *corev1.Node) { n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: key, Effect: effect}) }
}

func newDS(mutate ...func(*appsv1.DaemonSet)) *appsv1.DaemonSet {
	labels := map[string]string{"app": "agent"}
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "ns", UID: "ds-uid", Generation: 1},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "v1"}}},
			},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType},
		},
	}
	for _, m := range mutate {
		m(ds)
	}
	return ds
}

func TestShouldRun(t *testing.T) {
	for _, tc := range []struct {
		name              string
		ds                func(*appsv1.DaemonSet)
		node              *corev1.Node
		wantRun, wantKeep bool
	}{
		{"plain node", nil, node("a"), true, true},
		{"nodeSelector matches", func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": "a"}
		}, node("a"), true, true},
		{"nodeSelector does not match", func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": "b"}
		}, node("a"), false, false},
		{"required affinity NotIn", func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
					MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpNotIn, Values: []string{"a"}}},
				}}},
			}}
		}, node("a"), false, false},
		{"matchFields metadata.name", func(ds *appsv1.DaemonSet) {
			setNodeAffinity(&ds.Spec.Template.Spec, "a")
		}, node("a"), true, true},
		{"untolerated NoSchedule keeps a running pod", nil, node("a", taint("dedicated", corev1.TaintEffectNoSchedule)), false, true},
		{"untolerated NoExecute evicts", nil, node("a", taint("dedicated", corev1.TaintEffectNoExecute)), false, false},
		{"PreferNoSchedule is ignored", nil, node("a", taint("dedicated", corev1.TaintEffectPreferNoSchedule)), true, true},
		{"tolerated taint", func(ds *appsv1.DaemonSet) {
			ds.Spec.Template.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}
		}, node("a", taint("dedicated", corev1.TaintEffectNoExecute)), true, true},
		{"default: unschedulable tolerated", nil, node("a", taint(taintUnschedulable, corev1.TaintEffectNoSchedule)), true, true},
		{"default: not-ready tolerated", nil, node("a", taint(taintNotReady, corev1.TaintEffectNoExecute)), true, true},
		{"default: memory-pressure tolerated", nil, node("a", taint(taintMemoryPressure, corev1.TaintEffectNoSchedule)), true, true},
		{"network-unavailable needs hostNetwork", nil, node("a", taint(taintNetworkUnavailable, corev1.TaintEffectNoSchedule)), false, true},
		{"network-unavailable with hostNetwork", func(ds *appsv1.DaemonSet) { ds.Spec.Template.Spec.HostNetwork = true },
			node("a", taint(taintNetworkUnavailable, corev1.TaintEffectNoSchedule)), true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := newDS()
			if tc.ds != nil {
				tc.ds(ds)
			}
			run, keep := shouldRun(ds, tc.node)
			if run != tc.wantRun || keep != tc.wantKeep {
				t.Errorf("shouldRun = %v, %v; want %v, %v", run, keep, tc.wantRun, tc.wantKeep)
			}
		})
	}
}

func TestRollingLimits(t *testing.T) {
	pct := func(s string) *intstr.IntOrString { v := intstr.FromString(s); return &v }
	num := func(n int) *intstr.IntOrString { v := intstr.FromInt(n); return &v }
	for _, tc := range []struct {
		name                string
		surge, unavail      *intstr.IntOrString
		desired             int
		wantSurge, wantUnav int
	}{
		{"defaults", nil, nil, 10, 0, 1},
		{"percent rounds up", pct("10%"), pct("25%"), 5, 1, 2},
		{"both zero", num(0), num(0), 5, 0, 1},
		{"surge only", num(2), num(0), 5, 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := newDS(func(ds *appsv1.DaemonSet) {
				ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxSurge: tc.surge, MaxUnavailable: tc.unavail}
			})
			s, u := rollingLimits(ds, tc.desired)
			if s != tc.wantSurge || u != tc.wantUnav {
				t.Errorf("rollingLimits = %d, %d; want %d, %d", s, u, tc.wantSurge, tc.wantUnav)
			}
		})
	}
}

// fixture is a controller over a fake clientset whose caches are filled
// from the fake API after each sync.
type fixture struct {
	t      *testing.T
	client *fake.Clientset
	f      informers.SharedInformerFactory
	c      *Controller
	n      int
}

func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	t.Helper()
	client := fake.NewClientset(objs...)
	f := informers.NewSharedInformerFactory(client, 0)
	c, err := New(Config{Client: client, Informers: f, Clock: clocktesting.NewFakeClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{t: t, client: client, f: f, c: c}
	// Give created pods a name, a UID and their node, as the API server
	// and the scheduler would.
	client.PrependReactor("create", "pods", func(a core.Action) (bool, runtime.Object, error) {
		p := a.(core.CreateAction).GetObject().(*corev1.Pod)
		fx.n++
		p.Name = p.GenerateName + string(rune('a'+fx.n))
		p.UID = types.UID(p.Name)
		p.Spec.NodeName = nodeOfPod(p)
		return false, nil, nil
	})
	fx.refresh()
	return fx
}

func (fx *fixture) refresh() {
	fx.t.Helper()
	ctx := context.Background()
	reset := func(idx interface {
		List() []any
		Delete(any) error
		Add(any) error
	}, objs []runtime.Object) {
		for _, o := range idx.List() {
			_ = idx.Delete(o)
		}
		for _, o := range objs {
			_ = idx.Add(o)
		}
	}
	var objs []runtime.Object
	pods, _ := fx.client.CoreV1().Pods("ns").List(ctx, metav1.ListOptions{})
	for i := range pods.Items {
		objs = append(objs, &pods.Items[i])
	}
	reset(fx.f.Core().V1().Pods().Informer().GetIndexer(), objs)
	objs = nil
	nodes, _ := fx.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	for i := range nodes.Items {
		objs = append(objs, &nodes.Items[i])
	}
	reset(fx.f.Core().V1().Nodes().Informer().GetIndexer(), objs)
	objs = nil
	dss, _ := fx.client.AppsV1().DaemonSets("ns").List(ctx, metav1.ListOptions{})
	for i := range dss.Items {
		objs = append(objs, &dss.Items[i])
	}
	reset(fx.f.Apps().V1().DaemonSets().Informer().GetIndexer(), objs)
	objs = nil
	revs, _ := fx.client.AppsV1().ControllerRevisions("ns").List(ctx, metav1.ListOptions{})
	for i := range revs.Items {
		objs = append(objs, &revs.Items[i])
	}
	reset(fx.f.Apps().V1().ControllerRevisions().Informer().GetIndexer(), objs)
}

// sync syncs ns/agent (expectations are reset first: the fake cache
// is refreshed by hand, not through handlers) and returns the pods
// created (by node) and deleted (by node).
func (fx *fixture) sync() (created, deleted []string) {
	fx.t.Helper()
	fx.refresh()
	fx.c.expectations.Forget("ns/agent")
	before := fx.pods()
	fx.client.ClearActions()
	if err := fx.c.sync(context.Background(), "ns/agent"); err != nil {
		fx.t.Fatalf("sync: %v", err)
	}
	for _, a := range fx.client.Actions() {
		switch a := a.(type) {
		case core.CreateAction:
			if p, ok := a.GetObject().(*corev1.Pod); ok {
				created = append(created, nodeOfPod(p))
			}
		case core.DeleteAction:
			if a.GetResource().Resource == "pods" {
				deleted = append(deleted, before[a.GetName()].Spec.NodeName)
			}
		}
	}
	sort.Strings(created)
	sort.Strings(deleted)
	fx.refresh()
	return created, deleted
}

func (fx *fixture) pods() map[string]*corev1.Pod {
	l, _ := fx.client.CoreV1().Pods("ns").List(context.Background(), metav1.ListOptions{})
	m := map[string]*corev1.Pod{}
	for i := range l.Items {
		m[l.Items[i].Name] = &l.Items[i]
	}
	return m
}

// readyAll marks every pod Running and Ready.
func (fx *fixture) readyAll() {
	for _, p := range fx.pods() {
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		if _, err := fx.client.CoreV1().Pods("ns").UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
			fx.t.Fatal(err)
		}
	}
}

func (fx *fixture) status() appsv1.DaemonSetStatus {
	ds, err := fx.client.AppsV1().DaemonSets("ns").Get(context.Background(), "agent", metav1.GetOptions{})
	if err != nil {
		fx.t.Fatal(err)
	}
	return ds.Status
}

func TestSyncFollowsNodes(t *testing.T) {
	fx := newFixture(t, newDS(), node("a"), node("b"), node("c", taint("dedicated", corev1.TaintEffectNoSchedule)))
	created, _ := fx.sync()
	if d := cmp.Diff([]string{"a", "b"}, created); d != "" {
		t.Fatalf("created (-want +got):\n%s", d)
	}
	p := fx.pods()
	for _, pod := range p {
		if pod.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == "" || pod.Labels[labelTemplateGeneration] != "1" {
			t.Errorf("pod labels %v", pod.Labels)
		}
		if !slices.ContainsFunc(pod.Spec.Tolerations, func(t corev1.Toleration) bool {
			return t.Key == taintUnreachable && t.Effect == corev1.TaintEffectNoExecute && t.TolerationSeconds == nil
		}) {
			t.Errorf("pod tolerations %+v", pod.Spec.Tolerations)
		}
	}
	fx.readyAll()
	if created, deleted := fx.sync(); len(created)+len(deleted) != 0 {
		t.Fatalf("steady state changed pods: +%v -%v", created, deleted)
	}
	st := fx.status()
	want := appsv1.DaemonSetStatus{DesiredNumberScheduled: 2, CurrentNumberScheduled: 2, NumberReady: 2, NumberAvailable: 2, UpdatedNumberScheduled: 2, ObservedGeneration: 1}
	if d := cmp.Diff(want, st); d != "" {
		t.Fatalf("status (-want +got):\n%s", d)
	}

	// Node b leaves; node a stops matching through a NoExecute taint.
	if err := fx.client.CoreV1().Nodes().Delete(context.Background(), "b", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	a := node("a", taint("gone", corev1.TaintEffectNoExecute))
	if _, err := fx.client.CoreV1().Nodes().Update(context.Background(), a, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, deleted := fx.sync()
	if d := cmp.Diff([]string{"a", "b"}, deleted); d != "" {
		t.Fatalf("deleted (-want +got):\n%s", d)
	}
}

func TestSyncRollingUpdateMaxUnavailable(t *testing.T) {
	two := intstr.FromInt(2)
	fx := newFixture(t, newDS(func(ds *appsv1.DaemonSet) {
		ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &two}
	}), node("a"), node("b"), node("c"), node("d"))
	fx.sync()
	fx.readyAll()
	fx.sync()

	ds, _ := fx.client.AppsV1().DaemonSets("ns").Get(context.Background(), "agent", metav1.GetOptions{})
	ds.Generation = 2
	ds.Spec.Template.Spec.Containers[0].Image = "v2"
	if _, err := fx.client.AppsV1().DaemonSets("ns").Update(context.Background(), ds, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, deleted := fx.sync()
	if len(deleted) != 2 {
		t.Fatalf("first update sync deleted %v, want 2 pods", deleted)
	}
	// The deleted pods go; their successors come but are not ready: no
	// more deletions until they are.
	for _, p := range fx.pods() {
		if p.DeletionTimestamp == nil && slices.Contains(deleted, p.Spec.NodeName) {
			_ = fx.client.CoreV1().Pods("ns").Delete(context.Background(), p.Name, metav1.DeleteOptions{})
		}
	}
	created, again := fx.sync()
	if d := cmp.Diff(deleted, created); d != "" || len(again) != 0 {
		t.Fatalf("replacement sync: created %v deleted %v", created, again)
	}
	if _, more := fx.sync(); len(more) != 0 {
		t.Fatalf("deleted %v while 2 nodes are unavailable", more)
	}
	fx.readyAll()
	if _, more := fx.sync(); len(more) != 2 {
		t.Fatalf("second batch deleted %v", more)
	}
}

func TestSyncSurgeKeepsOldUntilNewAvailable(t *testing.T) {
	one, zero := intstr.FromInt(1), intstr.FromInt(0)
	fx := newFixture(t, newDS(func(ds *appsv1.DaemonSet) {
		ds.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxSurge: &one, MaxUnavailable: &zero}
	}), node("a"), node("b"))
	fx.sync()
	fx.readyAll()
	fx.sync()
	ds, _ := fx.client.AppsV1().DaemonSets("ns").Get(context.Background(), "agent", metav1.GetOptions{})
	ds.Spec.Template.Spec.Containers[0].Image = "v2"
	if _, err := fx.client.AppsV1().DaemonSets("ns").Update(context.Background(), ds, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	created, deleted := fx.sync()
	if len(created) != 1 || len(deleted) != 0 {
		t.Fatalf("surge sync: created %v deleted %v", created, deleted)
	}
	if created, deleted := fx.sync(); len(created)+len(deleted) != 0 {
		t.Fatalf("while the surge pod is not ready: created %v deleted %v", created, deleted)
	}
	if st := fx.status(); st.NumberAvailable != 2 || st.UpdatedNumberScheduled != 0 {
		t.Fatalf("status during surge %+v", st)
	}
	fx.readyAll()
	_, deleted = fx.sync()
	if d := cmp.Diff(created, deleted); d != "" {
		t.Fatalf("old pod of the surged node not deleted (-want +got):\n%s", d)
	}
}
