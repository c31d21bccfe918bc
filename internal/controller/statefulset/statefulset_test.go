package statefulset

import (
	"context"
	"fmt"
	"slices"
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
	core "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fixture is a controller over a fake clientset whose informer caches
// are filled by hand, so that each sync sees exactly the given world.
type fixture struct {
	t        *testing.T
	client   *fake.Clientset
	f        informers.SharedInformerFactory
	c        *Controller
	recorder *record.FakeRecorder
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	client := fake.NewClientset()
	f := informers.NewSharedInformerFactory(client, 0)
	rec := record.NewFakeRecorder(100)
	c, err := New(Config{Client: client, Informers: f, Recorder: rec, Clock: clocktesting.NewFakeClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, client: client, f: f, c: c, recorder: rec}
}

// add puts objects into the caches (and the fake API, so that writes to
// them succeed).
func (fx *fixture) add(objs ...runtime.Object) {
	fx.t.Helper()
	for _, o := range objs {
		var err error
		switch o := o.(type) {
		case *appsv1.StatefulSet:
			err = fx.f.Apps().V1().StatefulSets().Informer().GetIndexer().Add(o)
		case *corev1.Pod:
			err = fx.f.Core().V1().Pods().Informer().GetIndexer().Add(o)
		case *corev1.PersistentVolumeClaim:
			err = fx.f.Core().V1().PersistentVolumeClaims().Informer().GetIndexer().Add(o)
		case *appsv1.ControllerRevision:
			err = fx.f.Apps().V1().ControllerRevisions().Informer().GetIndexer().Add(o)
		}
		if err != nil {
			fx.t.Fatal(err)
		}
		if err := fx.client.Tracker().Add(o); err != nil {
			fx.t.Fatal(err)
		}
	}
}

// sync runs one sync of ns/web and returns the writes it made as
// "verb resource name" strings, and refills the caches from the fake API
// so that the next sync sees them.
func (fx *fixture) sync() []string {
	fx.t.Helper()
	fx.client.ClearActions()
	if err := fx.c.sync(context.Background(), "ns/web"); err != nil {
		fx.t.Fatalf("sync: %v", err)
	}
	var out []string
	for _, a := range fx.client.Actions() {
		if a.GetVerb() == "get" || a.GetVerb() == "list" || a.GetVerb() == "watch" {
			continue
		}
		name := ""
		switch a := a.(type) {
		case core.CreateAction:
			m, _ := metaOf(a.GetObject())
			name = m
		case core.DeleteAction:
			name = a.GetName()
		case core.UpdateAction:
			m, _ := metaOf(a.GetObject())
			name = m
		case core.PatchAction:
			name = a.GetName()
		}
		verb := a.GetVerb()
		if a.GetSubresource() != "" {
			verb += "/" + a.GetSubresource()
		}
		out = append(out, verb+" "+a.GetResource().Resource+" "+name)
	}
	fx.refresh()
	return out
}

func metaOf(o runtime.Object) (string, error) {
	m, ok := o.(metav1.Object)
	if !ok {
		return "", fmt.Errorf("%T", o)
	}
	return m.GetName(), nil
}

// refresh copies the fake API's objects into the caches.
func (fx *fixture) refresh() {
	fx.t.Helper()
	ctx := context.Background()
	pods, _ := fx.client.CoreV1().Pods("ns").List(ctx, metav1.ListOptions{})
	idx := fx.f.Core().V1().Pods().Informer().GetIndexer()
	for _, o := range idx.List() {
		_ = idx.Delete(o)
	}
	for i := range pods.Items {
		_ = idx.Add(&pods.Items[i])
	}
	pvcs, _ := fx.client.CoreV1().PersistentVolumeClaims("ns").List(ctx, metav1.ListOptions{})
	for i := range pvcs.Items {
		_ = fx.f.Core().V1().PersistentVolumeClaims().Informer().GetIndexer().Update(&pvcs.Items[i])
	}
	revs, _ := fx.client.AppsV1().ControllerRevisions("ns").List(ctx, metav1.ListOptions{})
	for i := range revs.Items {
		_ = fx.f.Apps().V1().ControllerRevisions().Informer().GetIndexer().Update(&revs.Items[i])
	}
	sets, _ := fx.client.AppsV1().StatefulSets("ns").List(ctx, metav1.ListOptions{})
	for i := range sets.Items {
		_ = fx.f.Apps().V1().StatefulSets().Informer().GetIndexer().Update(&sets.Items[i])
	}
}

// setReady marks pod name Running and Ready (or not) in the API and the
// cache.
func (fx *fixture) setReady(name string, ready bool) {
	fx.t.Helper()
	ctx := context.Background()
	p, err := fx.client.CoreV1().Pods("ns").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		fx.t.Fatal(err)
	}
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st, LastTransitionTime: metav1.NewTime(t0)}}
	if _, err := fx.client.CoreV1().Pods("ns").UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		fx.t.Fatal(err)
	}
	fx.refresh()
}

func (fx *fixture) set() *appsv1.StatefulSet {
	fx.t.Helper()
	s, err := fx.client.AppsV1().StatefulSets("ns").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		fx.t.Fatal(err)
	}
	return s
}

func newSet(replicas int32, mutate ...func(*appsv1.StatefulSet)) *appsv1.StatefulSet {
	labels := map[string]string{"app": "web"}
	s := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "set-uid", Generation: 1},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    &replicas,
			ServiceName: "web",
			Selector:    &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "v1"}}},
			},
			UpdateStrategy:      appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType},
			PodManagementPolicy: appsv1.OrderedReadyPodManagement,
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "www"},
			}},
		},
	}
	for _, m := range mutate {
		m(s)
	}
	return s
}

// The fake clientset gives created objects no UID; pods need one for
// the UID-guarded deletes.
func (fx *fixture) giveUIDs() {
	fx.client.PrependReactor("create", "pods", func(a core.Action) (bool, runtime.Object, error) {
		p := a.(core.CreateAction).GetObject().(*corev1.Pod)
		p.UID = types.UID("uid-" + p.Name + "-" + p.Labels["controller-revision-hash"])
		return false, nil, nil
	})
}

func TestOrderedReadyCreatesOneAtATime(t *testing.T) {
	fx := newFixture(t)
	fx.giveUIDs()
	fx.add(newSet(3))

	got := fx.sync()
	want := []string{"create controllerrevisions web-", "create persistentvolumeclaims www-web-0", "create pods web-0", "update/status statefulsets web"}
	if d := cmp.Diff(want, trimRevision(got)); d != "" {
		t.Fatalf("first sync (-want +got):\n%s", d)
	}
	// web-0 not ready yet: nothing more.
	if got := fx.sync(); slices.ContainsFunc(got, func(a string) bool { return a != "update/status statefulsets web" }) {
		t.Fatalf("sync while web-0 is not ready: %v", got)
	}
	fx.setReady("web-0", true)
	got = fx.sync()
	if !slices.Contains(got, "create pods web-1") || slices.Contains(got, "create pods web-2") {
		t.Fatalf("after web-0 ready: %v", got)
	}
	fx.setReady("web-1", true)
	fx.sync()
	fx.setReady("web-2", true)
	fx.sync()
	st := fx.set().Status
	if st.Replicas != 3 || st.ReadyReplicas != 3 || st.CurrentReplicas != 3 || st.UpdatedReplicas != 3 || st.AvailableReplicas != 3 ||
		st.CurrentRevision == "" || st.CurrentRevision != st.UpdateRevision || st.ObservedGeneration != 1 {
		t.Fatalf("status %+v", st)
	}
	p, _ := fx.client.CoreV1().Pods("ns").Get(context.Background(), "web-2", metav1.GetOptions{})
	if p.Spec.Hostname != "web-2" || p.Spec.Subdomain != "web" || p.Labels[labelPodName] != "web-2" || p.Labels[labelPodIndex] != "2" ||
		p.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != "www-web-2" {
		t.Fatalf("pod identity: %+v %v %+v", p.Spec.Hostname, p.Labels, p.Spec.Volumes)
	}
	events := drain(fx.recorder)
	if !slices.Contains(events, "Normal SuccessfulCreate create Pod web-0 in StatefulSet web successful") ||
		!slices.Contains(events, "Normal SuccessfulCreate create Claim www-web-0 Pod web-0 in StatefulSet web success") {
		t.Fatalf("events %v", events)
	}
}

func trimRevision(actions []string) []string {
	out := slices.Clone(actions)
	for i, a := range out {
		if len(a) > len("create controllerrevisions web-") && a[:len("create controllerrevisions web-")] == "create controllerrevisions web-" {
			out[i] = "create controllerrevisions web-"
		}
	}
	return out
}

func drain(r *record.FakeRecorder) []string {
	var out []string
	for {
		select {
		case e := <-r.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func TestParallelCreatesAllAndScalesDownInReverse(t *testing.T) {
	fx := newFixture(t)
	fx.giveUIDs()
	fx.add(newSet(3, func(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = appsv1.ParallelPodManagement }))
	got := fx.sync()
	for _, n := range []string{"web-0", "web-1", "web-2"} {
		if !slices.Contains(got, "create pods "+n) {
			t.Fatalf("parallel sync %v lacks %s", got, n)
		}
	}

	// OrderedReady scale-down from 3 to 1 removes web-2, then web-1.
	fx2 := newFixture(t)
	fx2.giveUIDs()
	fx2.add(newSet(3))
	for _, n := range []string{"web-0", "web-1", "web-2"} {
		fx2.sync()
		fx2.setReady(n, true)
	}
	s := fx2.set()
	s.Spec.Replicas = ptr(int32(1))
	if _, err := fx2.client.AppsV1().StatefulSets("ns").Update(context.Background(), s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	fx2.refresh()
	if got := fx2.sync(); !slices.Contains(got, "delete pods web-2") || slices.Contains(got, "delete pods web-1") {
		t.Fatalf("first scale-down sync: %v", got)
	}
	if got := fx2.sync(); !slices.Contains(got, "delete pods web-1") {
		t.Fatalf("second scale-down sync: %v", got)
	}
}

func ptr[T any](v T) *T { return &v }

func TestRollingUpdateWithPartition(t *testing.T) {
	fx := newFixture(t)
	fx.giveUIDs()
	fx.add(newSet(3))
	for _, n := range []string{"web-0", "web-1", "web-2"} {
		fx.sync()
		fx.setReady(n, true)
	}
	fx.sync()
	rev1 := fx.set().Status.CurrentRevision

	s := fx.set()
	s.Generation = 2
	s.Spec.Template.Spec.Containers[0].Image = "v2"
	s.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr(int32(2))}
	if _, err := fx.client.AppsV1().StatefulSets("ns").Update(context.Background(), s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	fx.refresh()
	got := fx.sync()
	if !slices.Contains(got, "delete pods web-2") || slices.Contains(got, "delete pods web-1") {
		t.Fatalf("canary sync: %v", got)
	}
	got = fx.sync() // web-2 is gone: recreated with the new revision
	if !slices.Contains(got, "create pods web-2") {
		t.Fatalf("recreate: %v", got)
	}
	fx.setReady("web-2", true)
	if got := fx.sync(); slices.ContainsFunc(got, func(a string) bool { return a[:6] == "delete" }) {
		t.Fatalf("partition 2 must stop at web-2: %v", got)
	}
	st := fx.set().Status
	if st.CurrentRevision != rev1 || st.UpdateRevision == rev1 || st.UpdatedReplicas != 1 || st.CurrentReplicas != 2 {
		t.Fatalf("canary status %+v", st)
	}

	s = fx.set()
	s.Generation = 3
	s.Spec.UpdateStrategy.RollingUpdate.Partition = ptr(int32(0))
	if _, err := fx.client.AppsV1().StatefulSets("ns").Update(context.Background(), s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	fx.refresh()
	var order []string
	for range 10 {
		for _, a := range fx.sync() {
			if len(a) > 12 && a[:12] == "delete pods " {
				order = append(order, a[12:])
			}
			if len(a) > 12 && a[:12] == "create pods " {
				fx.setReady(a[12:], true)
			}
		}
	}
	if d := cmp.Diff([]string{"web-1", "web-0"}, order); d != "" {
		t.Fatalf("update order (-want +got):\n%s", d)
	}
	st = fx.set().Status
	if st.CurrentRevision != st.UpdateRevision || st.UpdatedReplicas != 3 || st.CurrentReplicas != 3 {
		t.Fatalf("final status %+v", st)
	}
}

func TestOnDeleteLeavesPods(t *testing.T) {
	fx := newFixture(t)
	fx.giveUIDs()
	fx.add(newSet(1, func(s *appsv1.StatefulSet) {
		s.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
	}))
	fx.sync()
	fx.setReady("web-0", true)
	fx.sync()
	s := fx.set()
	s.Spec.Template.Spec.Containers[0].Image = "v2"
	if _, err := fx.client.AppsV1().StatefulSets("ns").Update(context.Background(), s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	fx.refresh()
	for _, a := range fx.sync() {
		if a == "delete pods web-0" {
			t.Fatal("OnDelete deleted a pod")
		}
	}
}

func TestRetentionPolicyOwnsClaims(t *testing.T) {
	fx := newFixture(t)
	fx.giveUIDs()
	fx.add(newSet(2, func(s *appsv1.StatefulSet) {
		s.Spec.PodManagementPolicy = appsv1.ParallelPodManagement
		s.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
			WhenDeleted: appsv1.DeletePersistentVolumeClaimRetentionPolicyType,
			WhenScaled:  appsv1.DeletePersistentVolumeClaimRetentionPolicyType,
		}
	}))
	fx.sync()
	pvc, err := fx.client.CoreV1().PersistentVolumeClaims("ns").Get(context.Background(), "www-web-1", metav1.GetOptions{})
	if err != nil || len(pvc.OwnerReferences) != 1 || pvc.OwnerReferences[0].UID != "set-uid" {
		t.Fatalf("claim owners %+v, %v", pvc.OwnerReferences, err)
	}
	s := fx.set()
	s.Spec.Replicas = ptr(int32(1))
	if _, err := fx.client.AppsV1().StatefulSets("ns").Update(context.Background(), s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	fx.refresh()
	fx.sync()
	pvc, _ = fx.client.CoreV1().PersistentVolumeClaims("ns").Get(context.Background(), "www-web-1", metav1.GetOptions{})
	var kinds []string
	for _, r := range pvc.OwnerReferences {
		kinds = append(kinds, r.Kind)
	}
	slices.Sort(kinds)
	if d := cmp.Diff([]string{"Pod", "StatefulSet"}, kinds); d != "" {
		t.Fatalf("condemned claim owners (-want +got):\n%s", d)
	}
}

func TestFailedPodIsRecreated(t *testing.T) {
	fx := newFixture(t)
	fx.giveUIDs()
	fx.add(newSet(1))
	fx.sync()
	p, _ := fx.client.CoreV1().Pods("ns").Get(context.Background(), "web-0", metav1.GetOptions{})
	p.Status.Phase = corev1.PodFailed
	if _, err := fx.client.CoreV1().Pods("ns").UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	fx.refresh()
	if got := fx.sync(); !slices.Contains(got, "delete pods web-0") {
		t.Fatalf("failed pod: %v", got)
	}
	if got := fx.sync(); !slices.Contains(got, "create pods web-0") {
		t.Fatalf("recreate: %v", got)
	}
}

func TestParentAndOrdinal(t *testing.T) {
	for _, tc := range []struct {
		name   string
		parent string
		ord    int
	}{
		{"web-0", "web", 0},
		{"my-web-12", "my-web", 12},
		{"web", "", -1},
		{"web-x", "", -1},
	} {
		p, o := parentAndOrdinal(tc.name)
		if p != tc.parent || o != tc.ord {
			t.Errorf("parentAndOrdinal(%q) = %q, %d; want %q, %d", tc.name, p, o, tc.parent, tc.ord)
		}
	}
}
