// Package replicaset is the strategy of apps/v1 ReplicaSets.
package replicaset

import (
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	extensionsv1beta1 "k8s.io/api/extensions/v1beta1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/podspec"
)

// Kind returns the apps/v1 ReplicaSet kind.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:              appsv1.SchemeGroupVersion.WithKind("ReplicaSet"),
		Resource:         "replicasets",
		Singular:         "replicaset",
		Namespaced:       true,
		ShortNames:       []string{"rs"},
		Categories:       []string{"all"},
		New:              func() runtime.Object { return &appsv1.ReplicaSet{} },
		NewList:          func() runtime.Object { return &appsv1.ReplicaSetList{} },
		HasStatus:        true,
		TracksGeneration: true,
		Scale: &kinds.Scale{
			SpecReplicas:   "spec.replicas",
			StatusReplicas: "status.replicas",
			Selector: func(obj runtime.Object) string {
				return kinds.ScaleSelector(obj.(*appsv1.ReplicaSet).Spec.Selector)
			},
		},
		Strategy: kinds.Strategy{
			Default:          func(obj runtime.Object) { Default(obj.(*appsv1.ReplicaSet)) },
			PrepareForCreate: func(obj runtime.Object) { obj.(*appsv1.ReplicaSet).Status = appsv1.ReplicaSetStatus{} },
			Validate:         func(obj runtime.Object) field.ErrorList { return Validate(obj.(*appsv1.ReplicaSet)) },
			ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*appsv1.ReplicaSet), old.(*appsv1.ReplicaSet))
			},
			Warnings: func(obj runtime.Object) []string { return kinds.PodNameWarnings(obj.(*appsv1.ReplicaSet).Name) },
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.Column("Desired", "integer", 0, extensionsv1beta1.ReplicaSetSpec{}.SwaggerDoc()["replicas"]),
				kinds.Column("Current", "integer", 0, extensionsv1beta1.ReplicaSetStatus{}.SwaggerDoc()["replicas"]),
				kinds.Column("Ready", "integer", 0, extensionsv1beta1.ReplicaSetStatus{}.SwaggerDoc()["readyReplicas"]),
				kinds.AgeColumn,
				kinds.Column("Containers", "string", 1, kinds.ContainersDescription),
				kinds.Column("Images", "string", 1, kinds.ImagesDescription),
				kinds.Column("Selector", "string", 1, extensionsv1beta1.ReplicaSetSpec{}.SwaggerDoc()["selector"]),
			},
			Row: func(obj runtime.Object, now time.Time) []interface{} { return row(obj.(*appsv1.ReplicaSet), now) },
			Fields: func(obj runtime.Object) fields.Set {
				return fields.Set{"status.replicas": strconv.Itoa(int(obj.(*appsv1.ReplicaSet).Status.Replicas))}
			},
		},
	}
}

// Default sets replicas 1 and the pod template's defaults.
func Default(rs *appsv1.ReplicaSet) {
	if rs.Spec.Replicas == nil {
		one := int32(1)
		rs.Spec.Replicas = &one
	}
	podspec.DefaultTemplate(&rs.Spec.Template)
}

// Validate checks a ReplicaSet's spec.
func Validate(rs *appsv1.ReplicaSet) field.ErrorList {
	return validateSpec(&rs.Spec, field.NewPath("spec"))
}

// ValidateUpdate checks the new spec and that spec.selector is unchanged.
func ValidateUpdate(rs, old *appsv1.ReplicaSet) field.ErrorList {
	errs := validateSpec(&rs.Spec, field.NewPath("spec"))
	return append(errs, apivalidation.ValidateImmutableField(rs.Spec.Selector, old.Spec.Selector, field.NewPath("spec", "selector"))...)
}

func validateSpec(spec *appsv1.ReplicaSetSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	replicas := int32(1)
	if spec.Replicas != nil {
		replicas = *spec.Replicas
	}
	errs = append(errs, kinds.ValidateNonnegative(int64(replicas), fldPath.Child("replicas"))...)
	errs = append(errs, kinds.ValidateNonnegative(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	// Upstream names deployments in this message for ReplicaSets too.
	sel, selErrs := kinds.ValidateWorkloadSelector(spec.Selector, "deployment", fldPath.Child("selector"))
	errs = append(errs, selErrs...)
	if sel == nil {
		return append(errs, field.Invalid(fldPath.Child("selector"), spec.Selector, "invalid label selector"))
	}
	tp := fldPath.Child("template")
	errs = append(errs, kinds.ValidateSelectorMatchesTemplate(sel, spec.Template.Labels, tp.Child("metadata", "labels"))...)
	errs = append(errs, podspec.ValidateTemplate(&spec.Template, tp)...)
	errs = append(errs, kinds.ValidateWorkloadTemplateRestart(&spec.Template.Spec, "ReplicaSet", tp.Child("spec"))...)
	return errs
}

func row(rs *appsv1.ReplicaSet, now time.Time) []interface{} {
	desired := int32(0)
	if rs.Spec.Replicas != nil {
		desired = *rs.Spec.Replicas
	}
	names, images := kinds.ContainerCells(rs.Spec.Template.Spec.Containers)
	return []interface{}{
		rs.Name, int64(desired), int64(rs.Status.Replicas), int64(rs.Status.ReadyReplicas),
		kinds.Age(rs.CreationTimestamp, now),
		names, images, metav1.FormatLabelSelector(rs.Spec.Selector),
	}
}
