package server

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

// bootstrap creates the objects every cluster starts with, through the
// API like any other client, tolerating those that already exist.
func (s *Server) bootstrap(ctx context.Context) error {
	c, err := s.Client()
	if err != nil {
		return err
	}
	for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		_, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{FieldManager: "skiff"})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create namespace %s: %w", ns, err)
		}
	}
	if err := s.ensureKubernetesService(ctx, c); err != nil {
		return err
	}
	for _, pc := range []struct {
		name  string
		value int32
		desc  string
	}{
		{"system-node-critical", 2000001000, "Used for system critical pods that must not be moved from their current node."},
		{"system-cluster-critical", 2000000000, "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."},
	} {
		_, err := c.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{
			ObjectMeta: metav1.ObjectMeta{Name: pc.name}, Value: pc.value, Description: pc.desc,
		}, metav1.CreateOptions{FieldManager: "skiff"})
		if err != nil && !apierrors.IsAlreadyExists(err) && !apierrors.IsNotFound(err) {
			return fmt.Errorf("create priority class %s: %w", pc.name, err)
		}
	}
	return nil
}

func (s *Server) ensureKubernetesService(ctx context.Context, c kubernetes.Interface) error {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default",
			Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"}},
		Spec: corev1.ServiceSpec{
			ClusterIP: s.cfg.FirstServiceIP().String(),
			Ports: []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP,
				TargetPort: intstr.FromInt32(int32(s.cfg.HTTPSPort))}},
			SessionAffinity: corev1.ServiceAffinityNone,
			Type:            corev1.ServiceTypeClusterIP,
		},
	}
	if _, err := c.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{}); err == nil {
		return nil
	}
	_, err := c.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{FieldManager: "skiff"})
	if err != nil && !apierrors.IsAlreadyExists(err) && !apierrors.IsNotFound(err) {
		return fmt.Errorf("create the kubernetes service: %w", err)
	}
	return nil
}
