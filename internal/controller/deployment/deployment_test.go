package deployment

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type fixture struct {
	client   *fake.Clientset
	c        *Controller
	clock    *clocktesting.FakeClock
	recorder *record.FakeRecorder
	factory  informers.SharedInformerFactory
}

// newFixture builds a controller over fake clients with objs in both the
// clientset and the informer caches.
func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	t.Helper()
	clk := clocktesting.NewFakeClock(t0)
	client := fake.NewClientset(objs...)
	// The fake API assigns no UIDs; the controller tells ReplicaSets apart by UID.
	client.PrependReactor("create", "replicasets", func(a clienttesting.Action) (bool, runtime.Object, error) {
		rs := a.(clienttesting.CreateAction).GetObject().(*appsv1.ReplicaSet)
		rs.UID = types.UID("uid-" + rs.Name)
		rs.CreationTimestamp = metav1.NewTime(clk.Now())
		clk.Step(time.Second)
		return false, nil, nil
	})
	f := informers.NewSharedInformerFactory(client, 0)
	rec := record.NewFakeRecorder(100)
	c, err := New(Config{Client: client, Informers: f, Clock: clk, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{client: client, c: c, clock: clk, recorder: rec, factory: f}
	for _, o := range objs {
		fx.cache(o)
	}
	return fx
}

func (fx *fixture) cache(o runtime.Object) {
	switch o.(type) {
	case *appsv1.Deployment:
		_ = fx.factory.Apps().V1().Deployments().Informer().GetIndexer().Update(o)
	case *appsv1.ReplicaSet:
		_ = fx.factory.Apps().V1().ReplicaSets().Informer().GetIndexer().Update(o)
	}
}

// refresh copies every object from the fake API into the caches, as the
// informers would.
func (fx *fixture) refresh(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	ds, _ := fx.client.AppsV1().Deployments("").List(ctx, metav1.ListOptions{})
	for i := range ds.Items {
		fx.cache(&ds.Items[i])
	}
	rss, _ := fx.client.AppsV1().ReplicaSets("").List(ctx, metav1.ListOptions{})
	idx := fx.factory.Apps().V1().ReplicaSets().Informer().GetIndexer()
	for _, o := range idx.List() {
		_ = idx.Delete(o)
	}
	for i := range rss.Items {
		fx.cache(&rss.Items[i])
	}
}

func (fx *fixture) sync(t *testing.T) {
	t.Helper()
	if err := fx.c.sync(context.Background(), "ns/web"); err != nil {
		t.Fatal(err)
	}
	fx.refresh(t)
}

func (fx *fixture) deployment(t *testing.T) *appsv1.Deployment {
	t.Helper()
	d, err := fx.client.AppsV1().Deployments("ns").Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// replicaSets returns the ReplicaSets by revision.
func (fx *fixture) replicaSets(t *testing.T) map[string]*appsv1.ReplicaSet {
	t.Helper()
	l, err := fx.client.AppsV1().ReplicaSets("ns").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*appsv1.ReplicaSet{}
	for i := range l.Items {
		out[l.Items[i].Annotations[revisionAnnotation]] = &l.Items[i]
	}
	return out
}

// settle marks every ReplicaSet's replicas as created, ready and
// available, as the ReplicaSet controller and nodes would.
func (fx *fixture) settle(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for _, rs := range fx.replicaSets(t) {
		n := replicasOf(rs)
		rs.Status = appsv1.ReplicaSetStatus{Replicas: n, ReadyReplicas: n, AvailableReplicas: n, FullyLabeledReplicas: n, ObservedGeneration: rs.Generation}
		if _, err := fx.client.AppsV1().ReplicaSets("ns").UpdateStatus(ctx, rs, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	fx.refresh(t)
}

func deploymentObj(replicas int32, image string) *appsv1.Deployment {
	l := map[string]string{"app": "web"}
	one, zero := intstr.FromInt32(1), intstr.FromInt32(0)
	deadline, limit := int32(600), int32(10)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "uid-web", Generation: 1},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: l},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: l},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
			},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &one, MaxUnavailable: &zero}},
			ProgressDeadlineSeconds: &deadline,
			RevisionHistoryLimit:    &limit,
		},
	}
}

func TestComputeHash(t *testing.T) {
	d := deploymentObj(1, "nginx:1")
	h := computeHash(&d.Spec.Template, nil)
	if h != computeHash(&d.Spec.Template, nil) {
		t.Fatal("hash not deterministic")
	}
	one := int32(1)
	if computeHash(&d.Spec.Template, &one) == h {
		t.Error("collisionCount does not change the hash")
	}
	d2 := deploymentObj(1, "nginx:2")
	if computeHash(&d2.Spec.Template, nil) == h {
		t.Error("different templates hash alike")
	}
	for _, r := range h {
		if strings.ContainsRune("aeiou013", r) {
			t.Errorf("hash %q uses a character outside the safe alphabet", h)
		}
	}
}

func TestResolveFenceposts(t *testing.T) {
	pct := func(s string) *intstr.IntOrString { v := intstr.FromString(s); return &v }
	num := func(n int32) *intstr.IntOrString { v := intstr.FromInt32(n); return &v }
	tests := []struct {
		name           string
		surge, unavail *intstr.IntOrString
		desired        int32
		wantS, wantU   int32
	}{
		{"defaults 25%", pct("25%"), pct("25%"), 10, 3, 2},
		{"both zero", num(0), num(0), 5, 0, 1},
		{"absolute", num(2), num(1), 5, 2, 1},
		{"percent rounds surge up", pct("10%"), pct("10%"), 3, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, u := resolveFenceposts(tc.surge, tc.unavail, tc.desired)
			if s != tc.wantS || u != tc.wantU {
				t.Errorf("got surge %d unavailable %d, want %d %d", s, u, tc.wantS, tc.wantU)
			}
		})
	}
}

func TestRolloutCreatesNamedReplicaSetAndStatus(t *testing.T) {
	d := deploymentObj(3, "nginx:1")
	d.Annotations = map[string]string{"kubernetes.io/change-cause": "first"}
	fx := newFixture(t, d)
	fx.sync(t)
	rss := fx.replicaSets(t)
	rs := rss["1"]
	if rs == nil || len(rss) != 1 {
		t.Fatalf("replica sets %v", rss)
	}
	hash := computeHash(&d.Spec.Template, nil)
	if rs.Name != "web-"+hash || rs.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != hash ||
		rs.Spec.Selector.MatchLabels[appsv1.DefaultDeploymentUniqueLabelKey] != hash ||
		rs.Spec.Template.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != hash {
		t.Errorf("replica set %s labels %v selector %v", rs.Name, rs.Labels, rs.Spec.Selector)
	}
	wantAnn := map[string]string{revisionAnnotation: "1", desiredReplicasAnnotation: "3", maxReplicasAnnotation: "4", "kubernetes.io/change-cause": "first"}
	if diff := cmp.Diff(wantAnn, rs.Annotations); diff != "" {
		t.Errorf("annotations (-want +got):\n%s", diff)
	}
	if *rs.Spec.Replicas != 3 {
		t.Errorf("replicas %d", *rs.Spec.Replicas)
	}
	got := fx.deployment(t)
	if got.Annotations[revisionAnnotation] != "1" {
		t.Errorf("deployment revision %q", got.Annotations[revisionAnnotation])
	}
	pr := getCondition(got.Status, appsv1.DeploymentProgressing)
	if pr == nil || pr.Reason != reasonNewRSCreated || pr.Message != `Created new replica set "web-`+hash+`"` {
		t.Errorf("Progressing %+v", pr)
	}
	if e := <-fx.recorder.Events; e != "Normal ScalingReplicaSet Scaled up replica set web-"+hash+" from 0 to 3" {
		t.Errorf("event %q", e)
	}

	fx.settle(t)
	fx.sync(t)
	got = fx.deployment(t)
	want := appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3}
	st := got.Status
	st.Conditions = nil
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	if pr := getCondition(got.Status, appsv1.DeploymentProgressing); pr == nil || pr.Reason != reasonNewRSAvailable {
		t.Errorf("Progressing %+v", pr)
	}
	if av := getCondition(got.Status, appsv1.DeploymentAvailable); av == nil || av.Reason != reasonMinimumAvailable {
		t.Errorf("Available %+v", av)
	}
}

// TestRollingUpdateRespectsBounds walks a rollout step by step and checks
// that the total never exceeds replicas+maxSurge and availability never
// drops below replicas-maxUnavailable.
func TestRollingUpdateRespectsBounds(t *testing.T) {
	d := deploymentObj(4, "nginx:1")
	two, one := intstr.FromInt32(2), intstr.FromInt32(1)
	d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &two, MaxUnavailable: &one}
	fx := newFixture(t, d)
	fx.sync(t)
	fx.settle(t)
	fx.sync(t)

	cur := fx.deployment(t)
	cur.Spec.Template.Spec.Containers[0].Image = "nginx:2"
	cur.Generation++
	if _, err := fx.client.AppsV1().Deployments("ns").Update(context.Background(), cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	fx.refresh(t)
	for step := 0; step < 20; step++ {
		fx.client.ClearActions()
		fx.sync(t)
		for _, a := range fx.client.Actions() {
			if u, ok := a.(interface{ GetObject() runtime.Object }); ok {
				if rs, ok := u.GetObject().(*appsv1.ReplicaSet); ok {
					t.Logf("step %d: %s %s replicas %d", step, a.GetVerb(), rs.Name, replicasOf(rs))
				}
			}
		}
		rss := fx.replicaSets(t)
		var total, available int32
		for _, rs := range rss {
			total += replicasOf(rs)
			available += min(replicasOf(rs), rs.Status.AvailableReplicas)
		}
		for _, rs := range rss {
			t.Logf("step %d: %s rev %s replicas %d avail %d", step, rs.Name, rs.Annotations[revisionAnnotation], replicasOf(rs), rs.Status.AvailableReplicas)
		}
		if total > 6 {
			t.Fatalf("step %d: %d replicas, more than 4+2", step, total)
		}
		if available < 3 {
			t.Fatalf("step %d: %d available, fewer than 4-1", step, available)
		}
		fx.settle(t)
		if rss["2"] != nil && replicasOf(rss["2"]) == 4 && replicasOf(rss["1"]) == 0 {
			fx.sync(t)
			got := fx.deployment(t)
			if !deploymentComplete(got, &got.Status) || got.Annotations[revisionAnnotation] != "2" {
				t.Fatalf("not complete: %+v", got.Status)
			}
			return
		}
	}
	t.Fatal("rollout did not finish in 20 steps")
}

func TestRollbackReusesReplicaSet(t *testing.T) {
	d := deploymentObj(2, "nginx:1")
	fx := newFixture(t, d)
	fx.sync(t)
	fx.settle(t)
	for _, img := range []string{"nginx:2", "nginx:1"} {
		cur := fx.deployment(t)
		cur.Spec.Template.Spec.Containers[0].Image = img
		cur.Generation++
		if _, err := fx.client.AppsV1().Deployments("ns").Update(context.Background(), cur, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		fx.refresh(t)
		for range 10 {
			fx.sync(t)
			fx.settle(t)
		}
	}
	rss := fx.replicaSets(t)
	if len(rss) != 2 || rss["3"] == nil || rss["3"].Spec.Template.Spec.Containers[0].Image != "nginx:1" {
		t.Fatalf("revisions %v", keys(rss))
	}
	if got := rss["3"].Annotations[revisionHistoryAnnotation]; got != "1" {
		t.Errorf("revision-history = %q, want 1", got)
	}
	if replicasOf(rss["2"]) != 0 || replicasOf(rss["3"]) != 2 {
		t.Errorf("replicas: rev2 %d rev3 %d", replicasOf(rss["2"]), replicasOf(rss["3"]))
	}
}

func keys(m map[string]*appsv1.ReplicaSet) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestProgressDeadline(t *testing.T) {
	d := deploymentObj(2, "nginx:1")
	deadline := int32(30)
	d.Spec.ProgressDeadlineSeconds = &deadline
	fx := newFixture(t, d)
	fx.sync(t) // creates the ReplicaSet; its pods never become available
	fx.sync(t)
	if pr := getCondition(fx.deployment(t).Status, appsv1.DeploymentProgressing); pr == nil || pr.Status != corev1.ConditionTrue {
		t.Fatalf("Progressing %+v", pr)
	}
	fx.clock.Step(31 * time.Second)
	fx.sync(t)
	pr := getCondition(fx.deployment(t).Status, appsv1.DeploymentProgressing)
	if pr == nil || pr.Status != corev1.ConditionFalse || pr.Reason != reasonTimedOut || !strings.HasSuffix(pr.Message, "has timed out progressing.") {
		t.Fatalf("Progressing %+v", pr)
	}
}

func TestPausedDeploymentDoesNotRollOut(t *testing.T) {
	d := deploymentObj(2, "nginx:1")
	fx := newFixture(t, d)
	fx.sync(t)
	fx.settle(t)
	cur := fx.deployment(t)
	cur.Spec.Paused = true
	cur.Spec.Template.Spec.Containers[0].Image = "nginx:2"
	cur.Generation++
	if _, err := fx.client.AppsV1().Deployments("ns").Update(context.Background(), cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	fx.refresh(t)
	fx.sync(t)
	if rss := fx.replicaSets(t); len(rss) != 1 {
		t.Fatalf("paused deployment rolled out: %v", keys(rss))
	}
	got := fx.deployment(t)
	if pr := getCondition(got.Status, appsv1.DeploymentProgressing); pr == nil || pr.Reason != reasonPaused || pr.Status != corev1.ConditionUnknown {
		t.Errorf("Progressing %+v", pr)
	}
	if got.Status.ObservedGeneration != got.Generation {
		t.Errorf("observedGeneration %d, generation %d", got.Status.ObservedGeneration, got.Generation)
	}
}

func TestProportionalScaling(t *testing.T) {
	// Mid-rollout: old 6, new 4 for a Deployment of 10 (surge 3, unavailable 2).
	d := deploymentObj(10, "nginx:2")
	three, two := intstr.FromInt32(3), intstr.FromInt32(2)
	d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: &three, MaxUnavailable: &two}
	newTmpl := d.Spec.Template
	oldTmpl := *newTmpl.DeepCopy()
	oldTmpl.Spec.Containers[0].Image = "nginx:1"
	mk := func(name, rev string, n int32, tmpl corev1.PodTemplateSpec, age time.Duration) *appsv1.ReplicaSet {
		tr := true
		return &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name), Labels: map[string]string{"app": "web"},
				CreationTimestamp: metav1.NewTime(t0.Add(-age)),
				Annotations:       map[string]string{revisionAnnotation: rev, desiredReplicasAnnotation: "10", maxReplicasAnnotation: "13"},
				OwnerReferences:   []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", UID: "uid-web", Controller: &tr}}},
			Spec: appsv1.ReplicaSetSpec{Replicas: &n, Selector: d.Spec.Selector, Template: tmpl},
		}
	}
	fx := newFixture(t, d, mk("web-old", "1", 8, oldTmpl, time.Hour), mk("web-new", "2", 5, newTmpl, time.Minute))
	cur := fx.deployment(t)
	*cur.Spec.Replicas = 20
	if _, err := fx.client.AppsV1().Deployments("ns").Update(context.Background(), cur, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	fx.refresh(t)
	fx.sync(t)
	rss := fx.replicaSets(t)
	// 13 → 23 (20 + surge 3): +10 split 8:5 → old +6, new +4 (rounded).
	if o, n := replicasOf(rss["1"]), replicasOf(rss["2"]); o+n != 23 || o != 14 || n != 9 {
		t.Errorf("old %d new %d, want 14 and 9", o, n)
	}
}

func TestCleanupKeepsHistoryLimit(t *testing.T) {
	d := deploymentObj(1, "nginx:9")
	limit := int32(1)
	d.Spec.RevisionHistoryLimit = &limit
	var objs []runtime.Object
	objs = append(objs, d)
	tr := true
	for i, img := range []string{"nginx:1", "nginx:2", "nginx:3"} {
		n := int32(0)
		tmpl := *d.Spec.Template.DeepCopy()
		tmpl.Spec.Containers[0].Image = img
		objs = append(objs, &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: "web-" + img[6:], Namespace: "ns", UID: types.UID("u" + img), Labels: map[string]string{"app": "web"},
				Annotations:     map[string]string{revisionAnnotation: string(rune('1' + i))},
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", UID: "uid-web", Controller: &tr}}},
			Spec: appsv1.ReplicaSetSpec{Replicas: &n, Selector: d.Spec.Selector, Template: tmpl},
		})
	}
	fx := newFixture(t, objs...)
	for range 5 {
		fx.sync(t)
		fx.settle(t)
	}
	l, _ := fx.client.AppsV1().ReplicaSets("ns").List(context.Background(), metav1.ListOptions{LabelSelector: labels.Everything().String()})
	var names []string
	for _, rs := range l.Items {
		names = append(names, rs.Spec.Template.Spec.Containers[0].Image)
	}
	if diff := cmp.Diff([]string{"nginx:3", "nginx:9"}, sortStrings(names)); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
}

func sortStrings(s []string) []string {
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
