// Package deployment is the strategy of apps/v1 Deployments.
package deployment

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	extensionsv1beta1 "k8s.io/api/extensions/v1beta1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/podspec"
)

// Kind returns the apps/v1 Deployment kind.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:              appsv1.SchemeGroupVersion.WithKind("Deployment"),
		Resource:         "deployments",
		Singular:         "deployment",
		Namespaced:       true,
		ShortNames:       []string{"deploy"},
		Categories:       []string{"all"},
		New:              func() runtime.Object { return &appsv1.Deployment{} },
		NewList:          func() runtime.Object { return &appsv1.DeploymentList{} },
		HasStatus:        true,
		TracksGeneration: true,
		Scale: &kinds.Scale{
			SpecReplicas:   "spec.replicas",
			StatusReplicas: "status.replicas",
			Selector: func(obj runtime.Object) string {
				return kinds.ScaleSelector(obj.(*appsv1.Deployment).Spec.Selector)
			},
		},
		Strategy: kinds.Strategy{
			Default:          func(obj runtime.Object) { Default(obj.(*appsv1.Deployment)) },
			PrepareForCreate: func(obj runtime.Object) { obj.(*appsv1.Deployment).Status = appsv1.DeploymentStatus{} },
			PrepareForUpdate: func(obj, old runtime.Object) { prepareForUpdate(obj.(*appsv1.Deployment), old.(*appsv1.Deployment)) },
			Validate:         func(obj runtime.Object) field.ErrorList { return Validate(obj.(*appsv1.Deployment)) },
			ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*appsv1.Deployment), old.(*appsv1.Deployment))
			},
			Warnings: func(obj runtime.Object) []string { return kinds.PodNameWarnings(obj.(*appsv1.Deployment).Name) },
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.Column("Ready", "string", 0, "Number of the pod with ready state"),
				kinds.Column("Up-to-date", "string", 0, extensionsv1beta1.DeploymentStatus{}.SwaggerDoc()["updatedReplicas"]),
				kinds.Column("Available", "string", 0, extensionsv1beta1.DeploymentStatus{}.SwaggerDoc()["availableReplicas"]),
				kinds.AgeColumn,
				kinds.Column("Containers", "string", 1, kinds.ContainersDescription),
				kinds.Column("Images", "string", 1, kinds.ImagesDescription),
				kinds.Column("Selector", "string", 1, extensionsv1beta1.DeploymentSpec{}.SwaggerDoc()["selector"]),
			},
			Row: func(obj runtime.Object, now time.Time) []interface{} { return row(obj.(*appsv1.Deployment), now) },
		},
	}
}

// Default sets the apps/v1 defaults: replicas 1, a RollingUpdate strategy
// with 25% maxUnavailable and maxSurge, revisionHistoryLimit 10,
// progressDeadlineSeconds 600, and the pod template's defaults.
func Default(d *appsv1.Deployment) {
	if d.Spec.Replicas == nil {
		d.Spec.Replicas = ptr(int32(1))
	}
	s := &d.Spec.Strategy
	if s.Type == "" {
		s.Type = appsv1.RollingUpdateDeploymentStrategyType
	}
	if s.Type == appsv1.RollingUpdateDeploymentStrategyType {
		if s.RollingUpdate == nil {
			s.RollingUpdate = &appsv1.RollingUpdateDeployment{}
		}
		if s.RollingUpdate.MaxUnavailable == nil {
			v := intstr.FromString("25%")
			s.RollingUpdate.MaxUnavailable = &v
		}
		if s.RollingUpdate.MaxSurge == nil {
			v := intstr.FromString("25%")
			s.RollingUpdate.MaxSurge = &v
		}
	}
	if d.Spec.RevisionHistoryLimit == nil {
		d.Spec.RevisionHistoryLimit = ptr(int32(10))
	}
	if d.Spec.ProgressDeadlineSeconds == nil {
		d.Spec.ProgressDeadlineSeconds = ptr(int32(600))
	}
	podspec.DefaultTemplate(&d.Spec.Template)
}

// prepareForUpdate bumps the generation when only the annotations change:
// they are copied to the ReplicaSets, so the controller must act on them.
// Spec changes bump it in the API server.
func prepareForUpdate(d, old *appsv1.Deployment) {
	if apiequality.Semantic.DeepEqual(d.Spec, old.Spec) && !apiequality.Semantic.DeepEqual(d.Annotations, old.Annotations) {
		d.Generation = old.Generation + 1
	}
}

// Validate checks a Deployment's spec.
func Validate(d *appsv1.Deployment) field.ErrorList {
	return validateSpec(&d.Spec, field.NewPath("spec"))
}

// ValidateUpdate checks the new spec and that spec.selector is unchanged.
func ValidateUpdate(d, old *appsv1.Deployment) field.ErrorList {
	errs := validateSpec(&d.Spec, field.NewPath("spec"))
	return append(errs, apivalidation.ValidateImmutableField(d.Spec.Selector, old.Spec.Selector, field.NewPath("spec", "selector"))...)
}

func validateSpec(spec *appsv1.DeploymentSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	replicas := int32(1)
	if spec.Replicas != nil {
		replicas = *spec.Replicas
	}
	errs = append(errs, kinds.ValidateNonnegative(int64(replicas), fldPath.Child("replicas"))...)
	sel, selErrs := kinds.ValidateWorkloadSelector(spec.Selector, "deployment", fldPath.Child("selector"))
	errs = append(errs, selErrs...)
	if spec.Selector != nil && sel == nil {
		errs = append(errs, field.Invalid(fldPath.Child("selector"), spec.Selector, "invalid label selector"))
	}
	if sel != nil {
		tp := fldPath.Child("template")
		errs = append(errs, kinds.ValidateSelectorMatchesTemplate(sel, spec.Template.Labels, tp.Child("metadata", "labels"))...)
		errs = append(errs, podspec.ValidateTemplate(&spec.Template, tp)...)
		errs = append(errs, kinds.ValidateWorkloadTemplateRestart(&spec.Template.Spec, "ReplicaSet", tp.Child("spec"))...)
	}
	errs = append(errs, validateStrategy(&spec.Strategy, fldPath.Child("strategy"))...)
	errs = append(errs, kinds.ValidateNonnegative(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	if spec.RevisionHistoryLimit != nil {
		errs = append(errs, kinds.ValidateNonnegative(int64(*spec.RevisionHistoryLimit), fldPath.Child("revisionHistoryLimit"))...)
	}
	if spec.ProgressDeadlineSeconds != nil {
		p := fldPath.Child("progressDeadlineSeconds")
		errs = append(errs, kinds.ValidateNonnegative(int64(*spec.ProgressDeadlineSeconds), p)...)
		if *spec.ProgressDeadlineSeconds <= spec.MinReadySeconds {
			errs = append(errs, field.Invalid(p, spec.ProgressDeadlineSeconds, "must be greater than minReadySeconds"))
		}
	}
	return errs
}

func validateStrategy(s *appsv1.DeploymentStrategy, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch s.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if s.RollingUpdate != nil {
			errs = append(errs, field.Forbidden(fldPath.Child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'"))
		}
	case appsv1.RollingUpdateDeploymentStrategyType:
		if s.RollingUpdate == nil {
			return append(errs, field.Required(fldPath.Child("rollingUpdate"), "this should be defaulted and never be nil"))
		}
		ru := fldPath.Child("rollingUpdate")
		maxUnavailable := intOrZero(s.RollingUpdate.MaxUnavailable)
		maxSurge := intOrZero(s.RollingUpdate.MaxSurge)
		errs = append(errs, kinds.ValidatePositiveIntOrPercent(maxUnavailable, ru.Child("maxUnavailable"))...)
		errs = append(errs, kinds.ValidatePositiveIntOrPercent(maxSurge, ru.Child("maxSurge"))...)
		if kinds.IntOrPercentValue(maxUnavailable) == 0 && kinds.IntOrPercentValue(maxSurge) == 0 {
			errs = append(errs, field.Invalid(ru.Child("maxUnavailable"), maxUnavailable, "may not be 0 when `maxSurge` is 0"))
		}
		errs = append(errs, kinds.ValidateNotMoreThan100Percent(maxUnavailable, ru.Child("maxUnavailable"))...)
	default:
		errs = append(errs, field.NotSupported(fldPath, s, []string{string(appsv1.RecreateDeploymentStrategyType), string(appsv1.RollingUpdateDeploymentStrategyType)}))
	}
	return errs
}

func row(d *appsv1.Deployment, now time.Time) []interface{} {
	desired := int32(0)
	if d.Spec.Replicas != nil {
		desired = *d.Spec.Replicas
	}
	names, images := kinds.ContainerCells(d.Spec.Template.Spec.Containers)
	return []interface{}{
		d.Name,
		fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, desired),
		int64(d.Status.UpdatedReplicas),
		int64(d.Status.AvailableReplicas),
		kinds.Age(d.CreationTimestamp, now),
		names, images, kinds.SelectorCell(d.Spec.Selector),
	}
}

func intOrZero(v *intstr.IntOrString) intstr.IntOrString {
	if v == nil {
		return intstr.FromInt32(0)
	}
	return *v
}

func ptr[T any](v T) *T { return &v }
