// Package ingressclass is the strategy of networking.k8s.io/v1 IngressClasses.
package ingressclass

import (
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/networking/ingress"
)

// maxControllerLength is the longest spec.controller upstream accepts.
const maxControllerLength = 250

// Kind returns the networking.k8s.io/v1 IngressClass kind.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:                networkingv1.SchemeGroupVersion.WithKind("IngressClass"),
		Resource:           "ingressclasses",
		Singular:           "ingressclass",
		New:                func() runtime.Object { return &networkingv1.IngressClass{} },
		NewList:            func() runtime.Object { return &networkingv1.IngressClassList{} },
		KeepStatusOnCreate: true,
		TracksGeneration:   true,
		Strategy: kinds.Strategy{
			Default:  func(obj runtime.Object) { Default(obj.(*networkingv1.IngressClass)) },
			Validate: func(obj runtime.Object) field.ErrorList { return Validate(obj.(*networkingv1.IngressClass)) },
			ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
				ic, o := obj.(*networkingv1.IngressClass), old.(*networkingv1.IngressClass)
				errs := Validate(ic)
				return append(errs, apivalidation.ValidateImmutableField(ic.Spec.Controller, o.Spec.Controller, field.NewPath("spec", "controller"))...)
			},
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.Column("Controller", "string", 0, "Controller that is responsible for handling this class"),
				kinds.Column("Parameters", "string", 0, "A reference to a resource with additional parameters"),
				kinds.AgeColumn,
			},
			Row: func(obj runtime.Object, now time.Time) []interface{} {
				ic := obj.(*networkingv1.IngressClass)
				return []interface{}{ic.Name, ic.Spec.Controller, parametersCell(ic.Spec.Parameters), kinds.Age(ic.CreationTimestamp, now)}
			},
		},
	}
}

// Default sets parameters.scope to Cluster when parameters are given
// without a scope.
func Default(ic *networkingv1.IngressClass) {
	if p := ic.Spec.Parameters; p != nil && p.Scope == nil {
		s := networkingv1.IngressClassParametersReferenceScopeCluster
		p.Scope = &s
	}
}

// Validate checks spec.controller and spec.parameters.
func Validate(ic *networkingv1.IngressClass) field.ErrorList {
	fldPath := field.NewPath("spec")
	var errs field.ErrorList
	if len(ic.Spec.Controller) > maxControllerLength {
		errs = append(errs, field.TooLong(fldPath.Child("controller"), ic.Spec.Controller, maxControllerLength))
	}
	errs = append(errs, validation.IsDomainPrefixedPath(fldPath.Child("controller"), ic.Spec.Controller)...)
	p := ic.Spec.Parameters
	if p == nil {
		return errs
	}
	pp := fldPath.Child("parameters")
	errs = append(errs, ingress.ValidateTypedReference(p.APIGroup, p.Kind, p.Name, pp)...)
	if p.Scope == nil {
		return append(errs, field.Required(pp.Child("scope"), ""))
	}
	switch *p.Scope {
	case networkingv1.IngressClassParametersReferenceScopeNamespace:
		if p.Namespace == nil {
			errs = append(errs, field.Required(pp.Child("namespace"), "`parameters.scope` is set to 'Namespace'"))
		} else {
			for _, msg := range apivalidation.NameIsDNSLabel(*p.Namespace, false) {
				errs = append(errs, field.Invalid(pp.Child("namespace"), *p.Namespace, msg))
			}
		}
	case networkingv1.IngressClassParametersReferenceScopeCluster:
		if p.Namespace != nil {
			errs = append(errs, field.Forbidden(pp.Child("namespace"), "`parameters.scope` is set to 'Cluster'"))
		}
	default:
		errs = append(errs, field.NotSupported(pp.Child("scope"), *p.Scope, []string{
			networkingv1.IngressClassParametersReferenceScopeCluster, networkingv1.IngressClassParametersReferenceScopeNamespace}))
	}
	return errs
}

// parametersCell formats parameters as "Kind.group/name", or "<none>".
func parametersCell(p *networkingv1.IngressClassParametersReference) string {
	if p == nil {
		return "<none>"
	}
	s := p.Kind
	if p.APIGroup != nil {
		s += "." + *p.APIGroup
	}
	return s + "/" + p.Name
}
