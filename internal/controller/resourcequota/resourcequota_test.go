package resourcequota

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func rl(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func computePod(name string, phase corev1.PodPhase, req, lim corev1.ResourceList) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: req, Limits: lim}}}},
		Status:     corev1.PodStatus{Phase: phase},
	}
}

func TestPodUsage(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	initPod := computePod("i", corev1.PodRunning, rl("cpu", "100m"), nil)
	initPod.Spec.InitContainers = []corev1.Container{{Name: "init", Resources: corev1.ResourceRequirements{Requests: rl("cpu", "1")}}}
	sidecar := computePod("s", corev1.PodRunning, rl("cpu", "100m"), nil)
	sidecar.Spec.InitContainers = []corev1.Container{{Name: "side", RestartPolicy: &always, Resources: corev1.ResourceRequirements{Requests: rl("cpu", "200m")}}}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want corev1.ResourceList
	}{
		{"running", computePod("a", corev1.PodRunning, rl("cpu", "250m", "memory", "64Mi"), rl("cpu", "500m", "memory", "128Mi")),
			rl("pods", "1", "count/pods", "1", "cpu", "250m", "requests.cpu", "250m", "memory", "64Mi", "requests.memory", "64Mi", "limits.cpu", "500m", "limits.memory", "128Mi")},
		{"terminal pods are free", computePod("b", corev1.PodSucceeded, rl("cpu", "1"), nil), rl()},
		{"init containers set a floor", initPod, rl("pods", "1", "count/pods", "1", "cpu", "1", "requests.cpu", "1")},
		{"sidecars add up", sidecar, rl("pods", "1", "count/pods", "1", "cpu", "300m", "requests.cpu", "300m")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := podUsage(tc.pod, t0)
			if !equal(got, tc.want) {
				t.Errorf("usage = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSync(t *testing.T) {
	best := computePod("best", corev1.PodPending, nil, nil)
	burst := computePod("burst", corev1.PodRunning, rl("cpu", "1", "memory", "1Gi"), rl("cpu", "2", "memory", "2Gi"))
	done := computePod("done", corev1.PodFailed, rl("cpu", "1"), nil)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "ns"}}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "svc", Namespace: "ns"}, Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80}, {Port: 443}},
	}}
	for _, tc := range []struct {
		name   string
		hard   corev1.ResourceList
		scopes []corev1.ResourceQuotaScope
		want   corev1.ResourceList
	}{
		{"counts and compute", rl("pods", "10", "configmaps", "5", "services", "5", "services.nodeports", "5", "requests.cpu", "4", "limits.memory", "8Gi", "secrets", "3"),
			nil, rl("pods", "2", "configmaps", "1", "services", "1", "services.nodeports", "2", "requests.cpu", "1", "limits.memory", "2Gi", "secrets", "0")},
		{"BestEffort scope", rl("pods", "10", "configmaps", "5"), []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort},
			rl("pods", "1", "configmaps", "0")},
		{"NotBestEffort scope", rl("pods", "10", "requests.memory", "4Gi"), []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeNotBestEffort},
			rl("pods", "1", "requests.memory", "1Gi")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rq := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "q", Namespace: "ns"}, Spec: corev1.ResourceQuotaSpec{Hard: tc.hard, Scopes: tc.scopes}}
			objs := []runtime.Object{rq, best, burst, done, cm, svc}
			client := fake.NewClientset(objs...)
			f := informers.NewSharedInformerFactory(client, 0)
			c, err := New(Config{Client: client, Informers: f, Clock: clocktesting.NewFakeClock(t0)})
			if err != nil {
				t.Fatal(err)
			}
			core := f.Core().V1()
			for _, o := range objs {
				var err error
				switch o.(type) {
				case *corev1.ResourceQuota:
					err = core.ResourceQuotas().Informer().GetIndexer().Add(o)
				case *corev1.Pod:
					err = core.Pods().Informer().GetIndexer().Add(o)
				case *corev1.ConfigMap:
					err = core.ConfigMaps().Informer().GetIndexer().Add(o)
				case *corev1.Service:
					err = core.Services().Informer().GetIndexer().Add(o)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := c.sync(context.Background(), "ns/q"); err != nil {
				t.Fatal(err)
			}
			got, err := client.CoreV1().ResourceQuotas("ns").Get(context.Background(), "q", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !equal(got.Status.Used, tc.want) || !equal(got.Status.Hard, tc.hard) {
				t.Errorf("status = hard %v used %v, want used %v", got.Status.Hard, got.Status.Used, tc.want)
			}
		})
	}
}
