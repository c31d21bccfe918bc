package service

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var now = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

func newService() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", CreationTimestamp: metav1.NewTime(now.Add(-2 * time.Hour))},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Port: 80}},
		},
	}
}

func TestDefault(t *testing.T) {
	svc := newService()
	Default(svc)
	cluster := corev1.ServiceInternalTrafficPolicyCluster
	single := corev1.IPFamilyPolicySingleStack
	want := corev1.ServiceSpec{
		Selector:              map[string]string{"app": "web"},
		Ports:                 []corev1.ServicePort{{Port: 80, Protocol: "TCP", TargetPort: intstr.FromInt32(80)}},
		Type:                  corev1.ServiceTypeClusterIP,
		SessionAffinity:       corev1.ServiceAffinityNone,
		InternalTrafficPolicy: &cluster,
		IPFamilyPolicy:        &single,
		IPFamilies:            []corev1.IPFamily{corev1.IPv4Protocol},
	}
	if diff := cmp.Diff(want, svc.Spec); diff != "" {
		t.Errorf("Default (-want +got):\n%s", diff)
	}
	if errs := Validate(svc); len(errs) != 0 {
		t.Errorf("Validate: %v", errs)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(s *corev1.Service)
		want   []string
	}{
		{"no ports", func(s *corev1.Service) { s.Spec.Ports = nil }, []string{"spec.ports: Required value"}},
		{"bad type", func(s *corev1.Service) { s.Spec.Type = "Foo" }, []string{`spec.type: Unsupported value: "Foo": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"`}},
		{"two unnamed ports", func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Port: 443})
		}, []string{"spec.ports[0].name: Required value", "spec.ports[1].name: Required value"}},
		{"node port on cluster ip", func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30000 }, []string{"spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"}},
		{"bad cluster ip", func(s *corev1.Service) { s.Spec.ClusterIP = "x" }, []string{`spec.clusterIPs[0]: Invalid value: "x": must be empty, 'None', or a valid IP address`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := newService()
			tc.mutate(svc)
			Default(svc)
			var got []string
			for _, e := range Validate(svc) {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Validate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	old := newService()
	old.Spec.ClusterIP = "10.43.0.20"
	Default(old)
	keep := newService()
	Default(keep)
	PrepareForUpdate(keep, old)
	if keep.Spec.ClusterIP != "10.43.0.20" || len(keep.Spec.ClusterIPs) != 1 {
		t.Errorf("PrepareForUpdate dropped the cluster IP: %+v", keep.Spec)
	}
	changed := old.DeepCopy()
	changed.Spec.ClusterIP, changed.Spec.ClusterIPs = "10.43.0.21", []string{"10.43.0.21"}
	var got []string
	for _, e := range ValidateUpdate(changed, old) {
		got = append(got, e.Error())
	}
	want := []string{`spec.clusterIPs[0]: Invalid value: ["10.43.0.21"]: may not change once set`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ValidateUpdate (-want +got):\n%s", diff)
	}
}

func TestRow(t *testing.T) {
	lb := newService()
	lb.Spec.Type = corev1.ServiceTypeLoadBalancer
	lb.Spec.ClusterIP = "10.43.0.20"
	lb.Spec.Ports[0].NodePort = 30080
	Default(lb)
	if diff := cmp.Diff([]interface{}{"web", "LoadBalancer", "10.43.0.20", "<pending>", "80:30080/TCP", "120m", "app=web"}, Kind().Strategy.Row(lb, now)); diff != "" {
		t.Errorf("Row (-want +got):\n%s", diff)
	}
	ext := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "db"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"}}
	if diff := cmp.Diff([]interface{}{"db", "ExternalName", "<none>", "db.example.com", "<none>", "<unknown>", "<none>"}, Kind().Strategy.Row(ext, now)); diff != "" {
		t.Errorf("Row (-want +got):\n%s", diff)
	}
}
