package ingress

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func newIngress() *networkingv1.Ingress {
	prefix := networkingv1.PathTypePrefix
	class := "skiff"
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: networkingv1.IngressSpec{
			IngressClassName: &class,
			Rules: []networkingv1.IngressRule{{
				Host: "example.com",
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
					Path: "/", PathType: &prefix,
					Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}},
				}}}},
			}},
		},
	}
}

func errPaths(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+": "+e.Field)
	}
	return out
}

func TestValidate(t *testing.T) {
	path := func(ing *networkingv1.Ingress) *networkingv1.HTTPIngressPath {
		return &ing.Spec.Rules[0].HTTP.Paths[0]
	}
	tests := []struct {
		name   string
		modify func(*networkingv1.Ingress)
		want   []string
	}{
		{name: "valid", modify: func(*networkingv1.Ingress) {}},
		{name: "nothing", modify: func(ing *networkingv1.Ingress) { ing.Spec.Rules = nil },
			want: []string{"FieldValueInvalid: spec"}},
		{name: "no path type", modify: func(ing *networkingv1.Ingress) { path(ing).PathType = nil },
			want: []string{"FieldValueRequired: spec.rules[0].http.paths[0].pathType"}},
		{name: "relative path", modify: func(ing *networkingv1.Ingress) { path(ing).Path = "api" },
			want: []string{"FieldValueInvalid: spec.rules[0].http.paths[0].path"}},
		{name: "ip host", modify: func(ing *networkingv1.Ingress) { ing.Spec.Rules[0].Host = "10.0.0.1" },
			want: []string{"FieldValueInvalid: spec.rules[0].host"}},
		{name: "wildcard host", modify: func(ing *networkingv1.Ingress) { ing.Spec.Rules[0].Host = "*.example.com" }},
		{name: "no port", modify: func(ing *networkingv1.Ingress) { path(ing).Backend.Service.Port = networkingv1.ServiceBackendPort{} },
			want: []string{"FieldValueRequired: spec.rules[0].http.paths[0].backend"}},
		{name: "no backend", modify: func(ing *networkingv1.Ingress) { path(ing).Backend = networkingv1.IngressBackend{} },
			want: []string{"FieldValueInvalid: spec.rules[0].http.paths[0].backend"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ing := newIngress()
			tc.modify(ing)
			if diff := cmp.Diff(tc.want, errPaths(Validate(ing))); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRow(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	ing := newIngress()
	ing.CreationTimestamp = metav1.NewTime(now.Add(-time.Hour))
	ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"example.com"}}}
	for _, h := range []string{"a.example.com", "b.example.com", "c.example.com"} {
		ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{Host: h})
	}
	ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: "192.168.1.20"}, {Hostname: "lb.example.com"}, {IP: "192.168.1.10"}}
	want := []interface{}{"web", "skiff", "example.com,a.example.com,b.example.com + 1 more...", "192.168.1.10,192.168.1.20,lb.example.com", "80, 443", "60m"}
	if diff := cmp.Diff(want, Kind().Strategy.Row(ing, now)); diff != "" {
		t.Errorf("row (-want +got):\n%s", diff)
	}
	bare := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "x"}}
	want = []interface{}{"x", "<none>", "*", "", "80", "<unknown>"}
	if diff := cmp.Diff(want, Kind().Strategy.Row(bare, now)); diff != "" {
		t.Errorf("bare row (-want +got):\n%s", diff)
	}
}
