//go:build integration

package integration

import (
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/testutil"
)

// TestResourceQuotaUsage checks that a quota's status.used follows the
// objects of its namespace: counts, the compute of non-terminal pods, and
// a count/<resource>.<group> quota.
func TestResourceQuotaUsage(t *testing.T) {
	s := testutil.StartServer(t)
	cs := s.Client()
	ctx := ctxT(t)
	const ns = "quota"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The root CA ConfigMap arrives on its own; count from what is there.
	var baseCMs int
	eventually(t, wait, "kube-root-ca.crt", func() (bool, error) {
		l, err := cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
		baseCMs = len(l.Items)
		return err == nil && baseCMs > 0, err
	})
	rq := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "q"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
			"pods": resource.MustParse("10"), "configmaps": resource.MustParse("10"), "secrets": resource.MustParse("10"),
			"services": resource.MustParse("5"), "persistentvolumeclaims": resource.MustParse("5"),
			"requests.cpu": resource.MustParse("4"), "requests.memory": resource.MustParse("4Gi"),
			"limits.cpu": resource.MustParse("8"), "limits.memory": resource.MustParse("8Gi"),
			"count/deployments.apps": resource.MustParse("3"),
		}},
	}
	if _, err := cs.CoreV1().ResourceQuotas(ns).Create(ctx, rq, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUsed := func(want map[string]string) {
		t.Helper()
		eventually(t, wait, fmt.Sprintf("quota used %v", want), func() (bool, error) {
			q, err := cs.CoreV1().ResourceQuotas(ns).Get(ctx, "q", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if len(q.Status.Hard) != len(rq.Spec.Hard) {
				return false, fmt.Errorf("status.hard %v", q.Status.Hard)
			}
			for n, v := range want {
				got, ok := q.Status.Used[corev1.ResourceName(n)]
				if !ok || got.Cmp(resource.MustParse(v)) != 0 {
					return false, fmt.Errorf("used %v", q.Status.Used)
				}
			}
			return len(q.Status.Used) == len(rq.Spec.Hard), fmt.Errorf("used %v", q.Status.Used)
		})
	}
	cms := fmt.Sprint(baseCMs)
	waitUsed(map[string]string{"pods": "0", "configmaps": cms, "services": "0", "requests.cpu": "0", "count/deployments.apps": "0"})

	for i := range 2 {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%d", i)}}
		if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}, StringData: map[string]string{"k": "v"}}
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "svc"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
	if _, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		p := nodesimPod(fmt.Sprintf("p-%d", i), func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Requests: corev1.ResourceList{"cpu": resource.MustParse("250m"), "memory": resource.MustParse("64Mi")},
				Limits:   corev1.ResourceList{"cpu": resource.MustParse("500m"), "memory": resource.MustParse("128Mi")},
			}
		})
		if _, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	zero := int32(0)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "d"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &zero, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "d"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "d"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUsed(map[string]string{
		"pods": "2", "configmaps": fmt.Sprint(baseCMs + 2), "secrets": "1", "services": "1", "persistentvolumeclaims": "0",
		"requests.cpu": "500m", "requests.memory": "128Mi", "limits.cpu": "1", "limits.memory": "256Mi",
		"count/deployments.apps": "1",
	})

	// A terminal pod and deleted objects stop counting.
	p, err := cs.CoreV1().Pods(ns).Get(ctx, "p-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Status.Phase = corev1.PodFailed
	if _, err := cs.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cs.CoreV1().ConfigMaps(ns).Delete(ctx, "cm-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cs.AppsV1().Deployments(ns).Delete(ctx, "d", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUsed(map[string]string{
		"pods": "1", "configmaps": fmt.Sprint(baseCMs + 1), "requests.cpu": "250m", "limits.memory": "128Mi",
		"count/deployments.apps": "0",
	})
}
