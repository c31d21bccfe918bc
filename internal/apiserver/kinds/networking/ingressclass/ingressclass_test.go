package ingressclass

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func errPaths(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+": "+e.Field)
	}
	return out
}

func TestValidateAndDefault(t *testing.T) {
	group := "k8s.example.com"
	ic := &networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: "skiff"},
		Spec: networkingv1.IngressClassSpec{
			Controller: "skiff.dev/ingress",
			Parameters: &networkingv1.IngressClassParametersReference{APIGroup: &group, Kind: "Params", Name: "p"},
		},
	}
	Default(ic)
	if ic.Spec.Parameters.Scope == nil || *ic.Spec.Parameters.Scope != "Cluster" {
		t.Errorf("scope = %v", ic.Spec.Parameters.Scope)
	}
	if errs := Validate(ic); len(errs) != 0 {
		t.Errorf("valid class: %v", errs)
	}
	ns := "Namespace"
	bad := ic.DeepCopy()
	bad.Spec.Controller = ""
	bad.Spec.Parameters.Scope = &ns
	want := []string{"FieldValueRequired: spec.controller", "FieldValueRequired: spec.parameters.namespace"}
	if diff := cmp.Diff(want, errPaths(Validate(bad))); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	moved := ic.DeepCopy()
	moved.Spec.Controller = "other.dev/ingress"
	if diff := cmp.Diff([]string{"FieldValueInvalid: spec.controller"}, errPaths(Kind().Strategy.ValidateUpdate(moved, ic))); diff != "" {
		t.Errorf("update errors (-want +got):\n%s", diff)
	}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	ic.CreationTimestamp = metav1.NewTime(now.Add(-time.Minute))
	wantRow := []interface{}{"skiff", "skiff.dev/ingress", "Params.k8s.example.com/p", "60s"}
	if diff := cmp.Diff(wantRow, Kind().Strategy.Row(ic, now)); diff != "" {
		t.Errorf("row (-want +got):\n%s", diff)
	}
}
