package apiserver

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestIPAllocator(t *testing.T) {
	t.Parallel()
	a, err := newIPAllocator("10.43.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	kube := &corev1.Service{Spec: corev1.ServiceSpec{ClusterIP: "10.43.0.1"}}
	if err := a.allocate(kube); err != nil {
		t.Fatalf("allocate the first IP: %v", err)
	}
	svc := &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80}}}}
	if err := a.allocate(svc); err != nil {
		t.Fatal(err)
	}
	if svc.Spec.ClusterIP != "10.43.0.2" || len(svc.Spec.ClusterIPs) != 1 || svc.Spec.Ports[0].NodePort != 30000 {
		t.Errorf("allocated %q %v node port %d, want 10.43.0.2 and 30000", svc.Spec.ClusterIP, svc.Spec.ClusterIPs, svc.Spec.Ports[0].NodePort)
	}
	dup := &corev1.Service{Spec: corev1.ServiceSpec{ClusterIP: "10.43.0.2"}}
	if err := a.allocate(dup); err == nil {
		t.Error("allocating a used IP succeeded")
	}
	outside := &corev1.Service{Spec: corev1.ServiceSpec{ClusterIP: "10.99.0.2"}}
	if err := a.allocate(outside); err == nil {
		t.Error("allocating an IP outside the range succeeded")
	}
	headless := &corev1.Service{Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone}}
	if err := a.allocate(headless); err != nil || headless.Spec.ClusterIPs[0] != "None" {
		t.Errorf("headless: %v %v", err, headless.Spec.ClusterIPs)
	}
	a.release(svc)
	again := &corev1.Service{Spec: corev1.ServiceSpec{ClusterIP: "10.43.0.2"}}
	if err := a.allocate(again); err != nil {
		t.Errorf("a released IP is not reusable: %v", err)
	}
}
