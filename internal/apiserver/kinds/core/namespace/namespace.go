// Package namespace is the strategy of core/v1 Namespaces.
package namespace

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
)

// Kind returns the Namespace kind. Besides the usual verbs, upstream serves
// namespaces/status and namespaces/finalize (a PUT that may change only
// spec.finalizers); the API server provides those subresources.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:                 corev1.SchemeGroupVersion.WithKind("Namespace"),
		Resource:            "namespaces",
		Singular:            "namespace",
		ShortNames:          []string{"ns"},
		New:                 func() runtime.Object { return &corev1.Namespace{} },
		NewList:             func() runtime.Object { return &corev1.NamespaceList{} },
		HasStatus:           true,
		ReturnDeletedObject: true,
		Strategy: kinds.Strategy{
			ValidateName:     apivalidation.NameIsDNSLabel,
			Default:          func(obj runtime.Object) { Default(obj.(*corev1.Namespace)) },
			PrepareForCreate: func(obj runtime.Object) { PrepareForCreate(obj.(*corev1.Namespace)) },
			PrepareForUpdate: func(obj, old runtime.Object) {
				PrepareForUpdate(obj.(*corev1.Namespace), old.(*corev1.Namespace))
			},
			Validate: func(obj runtime.Object) field.ErrorList { return Validate(obj.(*corev1.Namespace)) },
			ValidateUpdate: func(obj, _ runtime.Object) field.ErrorList {
				return Validate(obj.(*corev1.Namespace))
			},
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.Column("Status", "string", 0, "The status of the namespace"),
				kinds.AgeColumn,
			},
			Row: func(obj runtime.Object, now time.Time) []interface{} {
				ns := obj.(*corev1.Namespace)
				return []interface{}{ns.Name, string(ns.Status.Phase), kinds.Age(ns.CreationTimestamp, now)}
			},
			Fields: func(obj runtime.Object) fields.Set {
				ns := obj.(*corev1.Namespace)
				return fields.Set{"status.phase": string(ns.Status.Phase), "name": ns.Name}
			},
		},
	}
}

// Default sets status.phase Active when empty and the
// kubernetes.io/metadata.name label to the namespace's name.
func Default(ns *corev1.Namespace) {
	if ns.Status.Phase == "" {
		ns.Status.Phase = corev1.NamespaceActive
	}
	setNameLabel(ns)
}

func setNameLabel(ns *corev1.Namespace) {
	if ns.Name == "" {
		return
	}
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	ns.Labels[corev1.LabelMetadataName] = ns.Name
}

// PrepareForCreate makes the namespace Active and adds the "kubernetes"
// finalizer that the namespace controller removes after emptying it.
func PrepareForCreate(ns *corev1.Namespace) {
	ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
	for _, f := range ns.Spec.Finalizers {
		if f == corev1.FinalizerKubernetes {
			setNameLabel(ns)
			return
		}
	}
	ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
	setNameLabel(ns)
}

// PrepareForUpdate keeps spec.finalizers, which only the finalize
// subresource changes, and the status.
func PrepareForUpdate(ns, old *corev1.Namespace) {
	ns.Spec.Finalizers = old.Spec.Finalizers
	ns.Status = old.Status
	setNameLabel(ns)
}

// Validate checks the spec finalizer names.
func Validate(ns *corev1.Namespace) field.ErrorList {
	return ValidateFinalizers(ns.Spec.Finalizers, field.NewPath("spec", "finalizers"))
}

// ValidateFinalizers checks namespace spec finalizers: qualified names,
// either "kubernetes" or domain-prefixed. The finalize subresource uses it.
func ValidateFinalizers(finalizers []corev1.FinalizerName, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, f := range finalizers {
		p := fldPath.Index(i)
		s := string(f)
		msgs := validation.IsQualifiedName(s)
		for _, msg := range msgs {
			errs = append(errs, field.Invalid(p, s, msg))
		}
		if len(msgs) == 0 && !strings.Contains(s, "/") && f != corev1.FinalizerKubernetes {
			errs = append(errs, field.Invalid(p, s, "name is neither a standard finalizer name nor is it fully qualified"))
		}
	}
	return errs
}
