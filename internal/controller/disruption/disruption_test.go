package disruption

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func pod(name string, ready bool, owner *metav1.OwnerReference) *corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"app": "web"}},
		Status:     corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}},
	}
	if owner != nil {
		p.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	return p
}

func pdb(min, max *intstr.IntOrString) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", Generation: 2},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: min, MaxUnavailable: max, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		},
	}
}

func ptr[T any](v T) *T { return &v }

func TestSync(t *testing.T) {
	yes := true
	rsRef := &metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-1", UID: "rs", Controller: &yes}
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "ns", UID: "rs", OwnerReferences: []metav1.OwnerReference{
			{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", UID: "dep", Controller: &yes},
		}},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr(int32(3))},
	}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "dep"}, Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(4))}}
	two, pct := intstr.FromInt32(2), intstr.FromString("50%")
	for _, tc := range []struct {
		name                                string
		pdb                                 *policyv1.PodDisruptionBudget
		pods                                []*corev1.Pod
		expected, healthy, desired, allowed int32
		reason                              string
	}{
		{"minAvailable int counts pods", pdb(&two, nil), []*corev1.Pod{pod("a", true, nil), pod("b", true, nil), pod("c", true, nil)}, 3, 3, 2, 1, policyv1.SufficientPodsReason},
		{"not ready pods are unhealthy", pdb(&two, nil), []*corev1.Pod{pod("a", true, nil), pod("b", true, nil), pod("c", false, nil)}, 3, 2, 2, 0, policyv1.InsufficientPodsReason},
		{"maxUnavailable percent of the deployment scale", pdb(nil, &pct), []*corev1.Pod{pod("a", true, rsRef), pod("b", true, rsRef), pod("c", true, rsRef)}, 4, 3, 2, 1, policyv1.SufficientPodsReason},
		{"minAvailable percent rounds up", pdb(&pct, nil), []*corev1.Pod{pod("a", true, rsRef), pod("b", false, rsRef)}, 4, 1, 2, 0, policyv1.InsufficientPodsReason},
		{"a pod without controller fails safe", pdb(nil, &pct), []*corev1.Pod{pod("a", true, nil)}, 0, 0, 0, 0, policyv1.SyncFailedReason},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := []runtime.Object{tc.pdb, rs, dep}
			for _, p := range tc.pods {
				objs = append(objs, p)
			}
			client := fake.NewClientset(objs...)
			f := informers.NewSharedInformerFactory(client, 0)
			c, err := New(Config{
				Client: client, PDBs: f.Policy().V1().PodDisruptionBudgets(), Pods: f.Core().V1().Pods(),
				ReplicaSets: f.Apps().V1().ReplicaSets(), Deployments: f.Apps().V1().Deployments(),
				StatefulSets: f.Apps().V1().StatefulSets(), RCs: f.Core().V1().ReplicationControllers(),
				Clock: clocktesting.NewFakeClock(t0),
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range objs {
				var inf cache.SharedIndexInformer
				switch o.(type) {
				case *policyv1.PodDisruptionBudget:
					inf = f.Policy().V1().PodDisruptionBudgets().Informer()
				case *corev1.Pod:
					inf = f.Core().V1().Pods().Informer()
				case *appsv1.ReplicaSet:
					inf = f.Apps().V1().ReplicaSets().Informer()
				case *appsv1.Deployment:
					inf = f.Apps().V1().Deployments().Informer()
				}
				if err := inf.GetIndexer().Add(o); err != nil {
					t.Fatal(err)
				}
			}
			_ = c.sync(context.Background(), "ns/web")
			got, err := client.PolicyV1().PodDisruptionBudgets("ns").Get(context.Background(), "web", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			st := got.Status
			if st.ExpectedPods != tc.expected || st.CurrentHealthy != tc.healthy || st.DesiredHealthy != tc.desired || st.DisruptionsAllowed != tc.allowed {
				t.Errorf("status = expected %d healthy %d desired %d allowed %d, want %d %d %d %d",
					st.ExpectedPods, st.CurrentHealthy, st.DesiredHealthy, st.DisruptionsAllowed, tc.expected, tc.healthy, tc.desired, tc.allowed)
			}
			cond := meta.FindStatusCondition(st.Conditions, policyv1.DisruptionAllowedCondition)
			if cond == nil || cond.Reason != tc.reason {
				t.Errorf("condition = %+v, want reason %s", cond, tc.reason)
			}
			if tc.reason != policyv1.SyncFailedReason && st.ObservedGeneration != 2 {
				t.Errorf("observedGeneration = %d, want 2", st.ObservedGeneration)
			}
		})
	}
}

func TestDisruptedPods(t *testing.T) {
	p := pdb(nil, nil)
	p.Status.DisruptedPods = map[string]metav1.Time{
		"fresh": metav1.NewTime(t0.Add(-time.Minute)), "stale": metav1.NewTime(t0.Add(-3 * time.Minute)), "gone": metav1.NewTime(t0),
	}
	pods := []*corev1.Pod{pod("fresh", true, nil), pod("stale", true, nil)}
	got, recheck := disruptedPods(pods, p, t0)
	if _, ok := got["fresh"]; !ok || len(got) != 1 {
		t.Errorf("disrupted = %v, want only fresh", got)
	}
	if want := t0.Add(time.Minute); !recheck.Equal(want) {
		t.Errorf("recheck = %v, want %v", recheck, want)
	}
	if n := countHealthy(pods, got, t0); n != 1 {
		t.Errorf("healthy = %d, want 1 (fresh awaits its deletion)", n)
	}
}
