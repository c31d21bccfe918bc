package networkpolicy

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func errPaths(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+": "+e.Field)
	}
	return out
}

func newPolicy() *networkingv1.NetworkPolicy {
	port := intstr.FromInt32(5432)
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "default"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				Ports: []networkingv1.NetworkPolicyPort{{Port: &port}},
				From:  []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/16", Except: []string{"10.0.1.0/24"}}}},
			}},
			Egress: []networkingv1.NetworkPolicyEgressRule{{}},
		},
	}
	Default(np)
	return np
}

func TestDefault(t *testing.T) {
	np := newPolicy()
	if diff := cmp.Diff([]networkingv1.PolicyType{"Ingress", "Egress"}, np.Spec.PolicyTypes); diff != "" {
		t.Errorf("policyTypes (-want +got):\n%s", diff)
	}
	if p := np.Spec.Ingress[0].Ports[0].Protocol; p == nil || *p != corev1.ProtocolTCP {
		t.Errorf("protocol = %v", p)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*networkingv1.NetworkPolicy)
		want   []string
	}{
		{name: "valid", modify: func(*networkingv1.NetworkPolicy) {}},
		{name: "empty peer", modify: func(np *networkingv1.NetworkPolicy) { np.Spec.Ingress[0].From[0] = networkingv1.NetworkPolicyPeer{} },
			want: []string{"FieldValueRequired: spec.ingress[0].from[0]"}},
		{name: "except outside cidr", modify: func(np *networkingv1.NetworkPolicy) {
			np.Spec.Ingress[0].From[0].IPBlock.Except = []string{"192.168.0.0/24"}
		},
			want: []string{"FieldValueInvalid: spec.ingress[0].from[0].ipBlock.except[0]"}},
		{name: "end port below port", modify: func(np *networkingv1.NetworkPolicy) { e := int32(80); np.Spec.Ingress[0].Ports[0].EndPort = &e },
			want: []string{"FieldValueInvalid: spec.ingress[0].ports[0].endPort"}},
		{name: "bad policy type", modify: func(np *networkingv1.NetworkPolicy) { np.Spec.PolicyTypes = []networkingv1.PolicyType{"Sideways"} },
			want: []string{"FieldValueNotSupported: spec.policyTypes[0]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			np := newPolicy()
			tc.modify(np)
			if diff := cmp.Diff(tc.want, errPaths(Validate(np))); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRow(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	np := newPolicy()
	np.CreationTimestamp = metav1.NewTime(now.Add(-time.Hour))
	if diff := cmp.Diff([]interface{}{"db", "app=db", "60m"}, Kind().Strategy.Row(np, now)); diff != "" {
		t.Errorf("row (-want +got):\n%s", diff)
	}
	np.Spec.PodSelector = metav1.LabelSelector{}
	if got := Kind().Strategy.Row(np, now)[1]; got != "<none>" {
		t.Errorf("empty selector cell = %v", got)
	}
}
