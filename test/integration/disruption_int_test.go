//go:build integration

package integration

import (
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/skiff/skiff/internal/nodesim"
	"github.com/skiff/skiff/internal/testutil"
)

// TestDisruptionBudget follows a PDB's status through pod readiness and
// evictions: refused with 429 at disruptionsAllowed 0, allowed above it;
// and resolves maxUnavailable as a percentage of a Deployment's scale.
func TestDisruptionBudget(t *testing.T) {
	s := testutil.StartServer(t)
	cs := s.Client()
	ctx := ctxT(t)
	sim := nodesimStart(t, s, nodesim.Config{Count: 2})
	const ns = "disruption"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		p := nodesimPod(fmt.Sprintf("web-%d", i), func(p *corev1.Pod) {
			p.Labels = map[string]string{"app": "web"}
			p.Spec.NodeName = sim.Nodes()[i%2]
		})
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	minTwo := intstr.FromInt32(2)
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: &minTwo, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
		},
	}
	if _, err := cs.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPDB(t, cs, ns, "web", pdbWant{expected: 3, healthy: 3, desired: 2, allowed: 1, reason: policyv1.SufficientPodsReason})

	sim.SetReady(ns, "web-0", false)
	waitPDB(t, cs, ns, "web", pdbWant{expected: 3, healthy: 2, desired: 2, allowed: 0, reason: policyv1.InsufficientPodsReason})
	err := cs.PolicyV1().Evictions(ns).Evict(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: ns}})
	if !apierrors.IsTooManyRequests(err) {
		t.Fatalf("evict at disruptionsAllowed 0: err %v, want 429 TooManyRequests", err)
	}

	sim.SetReady(ns, "web-0", true)
	waitPDB(t, cs, ns, "web", pdbWant{expected: 3, healthy: 3, desired: 2, allowed: 1, reason: policyv1.SufficientPodsReason})
	if err := cs.PolicyV1().Evictions(ns).Evict(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: ns}}); err != nil {
		t.Fatalf("evict at disruptionsAllowed 1: %v", err)
	}
	eventually(t, wait, "web-1 gone", func() (bool, error) {
		_, err := cs.CoreV1().Pods(ns).Get(ctx, "web-1", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	waitPDB(t, cs, ns, "web", pdbWant{expected: 2, healthy: 2, desired: 2, allowed: 0, reason: policyv1.InsufficientPodsReason})

	// maxUnavailable 25% of a Deployment of 4: 3 must stay healthy.
	replicas := int32(4)
	labels := map[string]string{"app": "api"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "api"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	quarter := intstr.FromString("25%")
	api := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "api"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &quarter, Selector: &metav1.LabelSelector{MatchLabels: labels}},
	}
	if _, err := cs.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, api, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPDB(t, cs, ns, "api", pdbWant{expected: 4, healthy: 4, desired: 3, allowed: 1, reason: policyv1.SufficientPodsReason})
}

type pdbWant struct {
	expected, healthy, desired, allowed int32
	reason                              string
}

// waitPDB waits for the budget's status to match w (and observe its
// generation).
func waitPDB(t *testing.T, cs kubernetes.Interface, ns, name string, w pdbWant) {
	t.Helper()
	ctx := ctxT(t)
	var last policyv1.PodDisruptionBudgetStatus
	eventually(t, wait, fmt.Sprintf("pdb %s status %+v", name, w), func() (bool, error) {
		p, err := cs.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = p.Status
		c := meta.FindStatusCondition(p.Status.Conditions, policyv1.DisruptionAllowedCondition)
		ok := p.Status.ObservedGeneration == p.Generation && p.Status.ExpectedPods == w.expected &&
			p.Status.CurrentHealthy == w.healthy && p.Status.DesiredHealthy == w.desired &&
			p.Status.DisruptionsAllowed == w.allowed && c != nil && c.Reason == w.reason
		if !ok {
			return false, fmt.Errorf("status %+v", last)
		}
		return true, nil
	})
}
