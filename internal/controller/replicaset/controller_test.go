package replicaset

import (
	"context"
	"errors"
	"fmt"
	"github.com/skiff/skiff/internal/controller"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fakePodControl records what the controller asked for.
type fakePodControl struct {
	mu        sync.Mutex
	creates   int
	deletes   []string
	patches   map[string]string
	createErr error
}

func (f *fakePodControl) CreatePod(_ context.Context, _ string, _ *corev1.PodTemplateSpec, _ runtime.Object, _ *metav1.OwnerReference) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.createErr != nil {
		return f.createErr
	}
	f.creates++
	return nil
}

func (f *fakePodControl) DeletePod(_ context.Context, _, name string, _ runtime.Object) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deletes = append(f.deletes, name)
	return nil
}

func (f *fakePodControl) PatchPod(_ context.Context, _, name string, patch []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.patches == nil {
		f.patches = map[string]string{}
	}
	f.patches[name] = string(patch)
	return nil
}

// fixture holds a controller over fake clients whose informer caches are
// preloaded with objects.
type fixture struct {
	t      *testing.T
	client *fake.Clientset
	c      *Controller
	pc     *fakePodControl
	clock  *clocktesting.FakeClock
}

func newFixture(t *testing.T, rc bool, objs ...runtime.Object) *fixture {
	t.Helper()
	client := fake.NewClientset(objs...)
	f := informers.NewSharedInformerFactory(client, 0)
	clk := clocktesting.NewFakeClock(t0)
	var (
		c   *Controller
		err error
	)
	cfg := Config{Client: client, Informers: f, Clock: clk}
	if rc {
		c, err = NewReplicationControllers(cfg)
	} else {
		c, err = NewReplicaSets(cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		switch o.(type) {
		case *corev1.Pod:
			_ = f.Core().V1().Pods().Informer().GetIndexer().Add(o)
		case *appsv1.ReplicaSet:
			_ = f.Apps().V1().ReplicaSets().Informer().GetIndexer().Add(o)
		case *corev1.ReplicationController:
			_ = f.Core().V1().ReplicationControllers().Informer().GetIndexer().Add(o)
		}
	}
	pc := &fakePodControl{}
	c.podControl = pc
	return &fixture{t: t, client: client, c: c, pc: pc, clock: clk}
}

func rsObj(name string, replicas int32) *appsv1.ReplicaSet {
	labels := map[string]string{"app": name}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name), Generation: 1},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}},
		},
	}
}

type podOpt func(*corev1.Pod)

func onNode(n string) podOpt { return func(p *corev1.Pod) { p.Spec.NodeName = n } }
func running() podOpt        { return func(p *corev1.Pod) { p.Status.Phase = corev1.PodRunning } }
func readySince(d time.Duration) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{
			Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0.Add(-d))})
	}
}
func created(d time.Duration) podOpt {
	return func(p *corev1.Pod) { p.CreationTimestamp = metav1.NewTime(t0.Add(-d)) }
}
func ownedBy(rs *appsv1.ReplicaSet) podOpt {
	return func(p *corev1.Pod) {
		t := true
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: &t}}
	}
}

func podObj(name string, labels map[string]string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name), Labels: labels}}
	for _, o := range opts {
		o(p)
	}
	return p
}

func TestSyncCreatesMissingPodsOnce(t *testing.T) {
	rs := rsObj("web", 3)
	f := newFixture(t, false, rs, podObj("a", rs.Spec.Template.Labels, ownedBy(rs), running(), readySince(time.Hour)))
	ctx := context.Background()
	if err := f.c.sync(ctx, "ns/web"); err != nil {
		t.Fatal(err)
	}
	if f.pc.creates != 2 {
		t.Fatalf("creates = %d, want 2", f.pc.creates)
	}
	// The informer has not seen the new pods: expectations hold the next sync back.
	if err := f.c.sync(ctx, "ns/web"); err != nil {
		t.Fatal(err)
	}
	if f.pc.creates != 2 {
		t.Fatalf("second sync created again: %d", f.pc.creates)
	}
	got, err := f.client.AppsV1().ReplicaSets("ns").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := appsv1.ReplicaSetStatus{Replicas: 1, FullyLabeledReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, ObservedGeneration: 1}
	if diff := cmp.Diff(want, got.Status); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	// After the TTL the controller stops waiting.
	f.clock.Step(controller.ExpectationsTTL + time.Second)
	if err := f.c.sync(ctx, "ns/web"); err != nil {
		t.Fatal(err)
	}
	if f.pc.creates != 4 {
		t.Fatalf("after expiry creates = %d, want 4", f.pc.creates)
	}
}

func TestSyncAdoptsAndReleases(t *testing.T) {
	rs := rsObj("web", 2)
	other := map[string]string{"app": "other"}
	f := newFixture(t, false, rs,
		podObj("orphan", rs.Spec.Template.Labels, running()),
		podObj("moved", other, ownedBy(rs)),
		podObj("foreign", other),
	)
	if err := f.c.sync(context.Background(), "ns/web"); err != nil {
		t.Fatal(err)
	}
	if len(f.pc.patches) != 2 {
		t.Fatalf("patches %v, want orphan adopted and moved released", f.pc.patches)
	}
	wantAdopt := `{"metadata":{"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web","uid":"uid-web","controller":true,"blockOwnerDeletion":true}],"uid":"uid-orphan"}}`
	if diff := cmp.Diff(wantAdopt, f.pc.patches["orphan"]); diff != "" {
		t.Errorf("adopt patch (-want +got):\n%s", diff)
	}
	wantRelease := `{"metadata":{"ownerReferences":[{"$patch":"delete","uid":"uid-web"}],"uid":"uid-moved"}}`
	if diff := cmp.Diff(wantRelease, f.pc.patches["moved"]); diff != "" {
		t.Errorf("release patch (-want +got):\n%s", diff)
	}
	if f.pc.creates != 1 {
		t.Errorf("creates = %d, want 1 (one adopted of two)", f.pc.creates)
	}
}

func TestSyncScaleDownPrefersWorstPods(t *testing.T) {
	rs := rsObj("web", 2)
	l := rs.Spec.Template.Labels
	f := newFixture(t, false, rs,
		podObj("ready-old", l, ownedBy(rs), onNode("n1"), running(), readySince(time.Hour), created(2*time.Hour)),
		podObj("unready", l, ownedBy(rs), onNode("n2"), running(), created(3*time.Hour)),
		podObj("pending", l, ownedBy(rs), onNode("n3"), created(4*time.Hour)),
		podObj("ready-new", l, ownedBy(rs), onNode("n4"), running(), readySince(time.Minute), created(time.Minute)),
	)
	if err := f.c.sync(context.Background(), "ns/web"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"pending", "unready"}, sorted(f.pc.deletes)); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestPodsToDeleteOrder(t *testing.T) {
	l := map[string]string{"app": "x"}
	tests := []struct {
		name string
		pods []*corev1.Pod
		want []string
	}{
		{"unscheduled first", []*corev1.Pod{podObj("a", l, onNode("n"), running()), podObj("b", l)}, []string{"b", "a"}},
		{"pending before running", []*corev1.Pod{podObj("a", l, onNode("n"), running()), podObj("b", l, onNode("n"))}, []string{"b", "a"}},
		{"not ready before ready", []*corev1.Pod{podObj("a", l, onNode("n"), running(), readySince(time.Hour)), podObj("b", l, onNode("n"), running())}, []string{"b", "a"}},
		{"doubled up first", []*corev1.Pod{podObj("a", l, onNode("n1"), running()), podObj("b", l, onNode("n2"), running()), podObj("c", l, onNode("n2"), running())}, []string{"b", "c", "a"}},
		{"ready for less time first", []*corev1.Pod{podObj("a", l, onNode("n1"), running(), readySince(time.Hour)), podObj("b", l, onNode("n2"), running(), readySince(time.Second))}, []string{"b", "a"}},
		{"newer first", []*corev1.Pod{podObj("a", l, onNode("n1"), running(), created(time.Hour)), podObj("b", l, onNode("n2"), running(), created(time.Second))}, []string{"b", "a"}},
		{"lower deletion cost first", []*corev1.Pod{
			podObj("a", l, onNode("n1"), running(), func(p *corev1.Pod) { p.Annotations = map[string]string{podDeletionCostAnnotation: "10"} }),
			podObj("b", l, onNode("n2"), running(), func(p *corev1.Pod) { p.Annotations = map[string]string{podDeletionCostAnnotation: "-5"} }),
		}, []string{"b", "a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := podsToDelete(tc.pods, tc.pods, len(tc.pods)-1, t0)
			var names []string
			for _, p := range got {
				names = append(names, p.Name)
			}
			if diff := cmp.Diff(tc.want[:len(tc.want)-1], names); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSlowStartBatch(t *testing.T) {
	tests := []struct {
		name      string
		count     int
		failAt    int // the call number (1-based) that fails first; 0 never
		wantOK    int
		wantCalls int
	}{
		{"all succeed", 10, 0, 10, 10},
		{"fails in first batch", 10, 1, 0, 1},
		{"fails in third batch", 10, 4, 3, 7}, // batches 1, 2, 4
		{"zero", 0, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			calls := 0
			ok, err := slowStartBatch(tc.count, 1, func() error {
				mu.Lock()
				defer mu.Unlock()
				calls++
				if tc.failAt > 0 && calls >= tc.failAt {
					return errors.New("boom")
				}
				return nil
			})
			if tc.failAt > 0 && err == nil {
				t.Error("want an error")
			}
			if tc.wantCalls != calls {
				t.Errorf("calls = %d, want %d", calls, tc.wantCalls)
			}
			if tc.failAt == 0 && ok != tc.wantOK {
				t.Errorf("successes = %d, want %d", ok, tc.wantOK)
			}
		})
	}
}

func TestCalculateStatus(t *testing.T) {
	rs := rsObj("web", 3)
	rs.Spec.MinReadySeconds = 10
	rs.Spec.Template.Labels = map[string]string{"app": "web", "tier": "fe"}
	full := rs.Spec.Template.Labels
	partial := map[string]string{"app": "web"}
	pods := []*corev1.Pod{
		podObj("a", full, running(), readySince(time.Minute)),
		podObj("b", full, running(), readySince(5*time.Second)),
		podObj("c", partial, running()),
	}
	got := calculateStatus(rs, pods, nil, t0)
	want := appsv1.ReplicaSetStatus{Replicas: 3, FullyLabeledReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	got = calculateStatus(rs, pods[:1], fmt.Errorf("quota exceeded"), t0)
	if c := getCondition(got, appsv1.ReplicaSetReplicaFailure); c == nil || c.Reason != "FailedCreate" || c.Message != "quota exceeded" {
		t.Errorf("ReplicaFailure = %+v", c)
	}
	rs.Status = got
	if c := getCondition(calculateStatus(rs, pods, nil, t0), appsv1.ReplicaSetReplicaFailure); c != nil {
		t.Errorf("ReplicaFailure not cleared: %+v", c)
	}
}

func TestReplicationControllerSync(t *testing.T) {
	n := int32(2)
	rc := &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: "legacy", Namespace: "ns", UID: "uid-rc", Generation: 3},
		Spec: corev1.ReplicationControllerSpec{
			Replicas: &n, Selector: map[string]string{"app": "legacy"},
			Template: &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "legacy"}}},
		},
	}
	f := newFixture(t, true, rc, podObj("orphan", map[string]string{"app": "legacy"}, running(), readySince(time.Hour)))
	ctx := context.Background()
	if err := f.c.sync(ctx, "ns/legacy"); err != nil {
		t.Fatal(err)
	}
	if want := `{"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"ReplicationController","name":"legacy","uid":"uid-rc","controller":true,"blockOwnerDeletion":true}],"uid":"uid-orphan"}}`; f.pc.patches["orphan"] != want {
		t.Errorf("adopt patch = %s", f.pc.patches["orphan"])
	}
	if f.pc.creates != 1 {
		t.Errorf("creates = %d, want 1", f.pc.creates)
	}
	got, err := f.client.CoreV1().ReplicationControllers("ns").Get(ctx, "legacy", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := corev1.ReplicationControllerStatus{Replicas: 1, FullyLabeledReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, ObservedGeneration: 3}
	if diff := cmp.Diff(want, got.Status); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(rc.Spec, rsToRC(rcToRS(rc)).Spec); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestPodFromTemplate(t *testing.T) {
	tr := true
	ref := &metav1.OwnerReference{Name: "web", Controller: &tr}
	tmpl := &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"a": "b"}, Annotations: map[string]string{"x": "y"}}}
	p := podFromTemplate(tmpl, ref)
	if p.GenerateName != "web-" || p.Labels["a"] != "b" || p.Annotations["x"] != "y" || len(p.OwnerReferences) != 1 {
		t.Errorf("pod %+v", p.ObjectMeta)
	}
	long := string(make([]byte, 70))
	if got := generatePrefix(long); len(got) != 58 {
		t.Errorf("prefix length %d, want 58", len(got))
	}
}
