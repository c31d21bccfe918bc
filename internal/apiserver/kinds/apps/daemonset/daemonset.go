// Package daemonset is the strategy of apps/v1 DaemonSets.
package daemonset

import (
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	extensionsv1beta1 "k8s.io/api/extensions/v1beta1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/podspec"
)

// Kind returns the apps/v1 DaemonSet kind.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:              appsv1.SchemeGroupVersion.WithKind("DaemonSet"),
		Resource:         "daemonsets",
		Singular:         "daemonset",
		Namespaced:       true,
		ShortNames:       []string{"ds"},
		Categories:       []string{"all"},
		New:              func() runtime.Object { return &appsv1.DaemonSet{} },
		NewList:          func() runtime.Object { return &appsv1.DaemonSetList{} },
		HasStatus:        true,
		TracksGeneration: true,
		Strategy: kinds.Strategy{
			Default:          func(obj runtime.Object) { Default(obj.(*appsv1.DaemonSet)) },
			PrepareForCreate: func(obj runtime.Object) { prepareForCreate(obj.(*appsv1.DaemonSet)) },
			PrepareForUpdate: func(obj, old runtime.Object) { prepareForUpdate(obj.(*appsv1.DaemonSet), old.(*appsv1.DaemonSet)) },
			Validate:         func(obj runtime.Object) field.ErrorList { return Validate(obj.(*appsv1.DaemonSet)) },
			ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*appsv1.DaemonSet), old.(*appsv1.DaemonSet))
			},
			Warnings: func(obj runtime.Object) []string { return kinds.PodNameWarnings(obj.(*appsv1.DaemonSet).Name) },
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.Column("Desired", "integer", 0, extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()["desiredNumberScheduled"]),
				kinds.Column("Current", "integer", 0, extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()["currentNumberScheduled"]),
				kinds.Column("Ready", "integer", 0, extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()["numberReady"]),
				kinds.Column("Up-to-date", "integer", 0, extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()["updatedNumberScheduled"]),
				kinds.Column("Available", "integer", 0, extensionsv1beta1.DaemonSetStatus{}.SwaggerDoc()["numberAvailable"]),
				kinds.Column("Node Selector", "string", 0, corev1.PodSpec{}.SwaggerDoc()["nodeSelector"]),
				kinds.AgeColumn,
				kinds.Column("Containers", "string", 1, kinds.ContainersDescription),
				kinds.Column("Images", "string", 1, kinds.ImagesDescription),
				kinds.Column("Selector", "string", 1, extensionsv1beta1.DaemonSetSpec{}.SwaggerDoc()["selector"]),
			},
			Row: func(obj runtime.Object, now time.Time) []interface{} { return row(obj.(*appsv1.DaemonSet), now) },
		},
	}
}

// Default sets the apps/v1 defaults: a RollingUpdate strategy with
// maxUnavailable 1 and maxSurge 0, revisionHistoryLimit 10, and the pod
// template's defaults.
func Default(ds *appsv1.DaemonSet) {
	s := &ds.Spec.UpdateStrategy
	if s.Type == "" {
		s.Type = appsv1.RollingUpdateDaemonSetStrategyType
	}
	if s.Type == appsv1.RollingUpdateDaemonSetStrategyType {
		if s.RollingUpdate == nil {
			s.RollingUpdate = &appsv1.RollingUpdateDaemonSet{}
		}
		if s.RollingUpdate.MaxUnavailable == nil {
			v := intstr.FromInt32(1)
			s.RollingUpdate.MaxUnavailable = &v
		}
		if s.RollingUpdate.MaxSurge == nil {
			v := intstr.FromInt32(0)
			s.RollingUpdate.MaxSurge = &v
		}
	}
	if ds.Spec.RevisionHistoryLimit == nil {
		ten := int32(10)
		ds.Spec.RevisionHistoryLimit = &ten
	}
	podspec.DefaultTemplate(&ds.Spec.Template)
}

// templateGeneration reads the deprecated template generation annotation
// upstream still maintains (0 when absent or unparsable).
func templateGeneration(ds *appsv1.DaemonSet) int64 {
	n, _ := strconv.ParseInt(ds.Annotations[appsv1.DeprecatedTemplateGeneration], 10, 64)
	return n
}

func setTemplateGeneration(ds *appsv1.DaemonSet, n int64) {
	if ds.Annotations == nil {
		ds.Annotations = map[string]string{}
	}
	ds.Annotations[appsv1.DeprecatedTemplateGeneration] = strconv.FormatInt(n, 10)
}

func prepareForCreate(ds *appsv1.DaemonSet) {
	ds.Status = appsv1.DaemonSetStatus{}
	setTemplateGeneration(ds, 1)
}

// prepareForUpdate keeps the template generation, bumping it when the
// template changes; clients may not set it.
func prepareForUpdate(ds, old *appsv1.DaemonSet) {
	gen := templateGeneration(old)
	if !apiequality.Semantic.DeepEqual(ds.Spec.Template, old.Spec.Template) {
		gen++
	}
	setTemplateGeneration(ds, gen)
}

// Validate checks a DaemonSet's spec.
func Validate(ds *appsv1.DaemonSet) field.ErrorList {
	return validateSpec(&ds.Spec, field.NewPath("spec"))
}

// ValidateUpdate checks the new spec and that spec.selector is unchanged.
func ValidateUpdate(ds, old *appsv1.DaemonSet) field.ErrorList {
	errs := validateSpec(&ds.Spec, field.NewPath("spec"))
	return append(errs, apivalidation.ValidateImmutableField(ds.Spec.Selector, old.Spec.Selector, field.NewPath("spec", "selector"))...)
}

func validateSpec(spec *appsv1.DaemonSetSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, metavalidation.ValidateLabelSelector(spec.Selector, metavalidation.LabelSelectorValidationOptions{}, fldPath.Child("selector"))...)
	tp := fldPath.Child("template")
	// A nil selector selects nothing, so it is reported through the
	// template's labels, as upstream does.
	if sel, err := metav1.LabelSelectorAsSelector(spec.Selector); err == nil && !sel.Matches(labels.Set(spec.Template.Labels)) {
		errs = append(errs, field.Invalid(tp.Child("metadata", "labels"), spec.Template.Labels, "`selector` does not match template `labels`"))
	}
	if spec.Selector != nil && len(spec.Selector.MatchLabels)+len(spec.Selector.MatchExpressions) == 0 {
		errs = append(errs, field.Invalid(fldPath.Child("selector"), spec.Selector, "empty selector is invalid for daemonset"))
	}
	errs = append(errs, podspec.ValidateTemplate(&spec.Template, tp)...)
	errs = append(errs, kinds.ValidateWorkloadTemplateRestart(&spec.Template.Spec, "DaemonSet", tp.Child("spec"))...)
	errs = append(errs, kinds.ValidateNonnegative(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	errs = append(errs, validateUpdateStrategy(&spec.UpdateStrategy, fldPath.Child("updateStrategy"))...)
	if spec.RevisionHistoryLimit != nil {
		errs = append(errs, kinds.ValidateNonnegative(int64(*spec.RevisionHistoryLimit), fldPath.Child("revisionHistoryLimit"))...)
	}
	return errs
}

func validateUpdateStrategy(s *appsv1.DaemonSetUpdateStrategy, fldPath *field.Path) field.ErrorList {
	switch s.Type {
	case appsv1.OnDeleteDaemonSetStrategyType:
		return nil
	case appsv1.RollingUpdateDaemonSetStrategyType:
		if s.RollingUpdate == nil {
			return field.ErrorList{field.Required(fldPath.Child("rollingUpdate"), "")}
		}
		return validateRollingUpdate(s.RollingUpdate, fldPath.Child("rollingUpdate"))
	}
	return field.ErrorList{field.NotSupported(fldPath, s, []string{string(appsv1.RollingUpdateDaemonSetStrategyType), string(appsv1.OnDeleteDaemonSetStrategyType)})}
}

func validateRollingUpdate(ru *appsv1.RollingUpdateDaemonSet, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	maxUnavailable, maxSurge := intstr.FromInt32(0), intstr.FromInt32(0)
	if ru.MaxUnavailable != nil {
		maxUnavailable = *ru.MaxUnavailable
	}
	if ru.MaxSurge != nil {
		maxSurge = *ru.MaxSurge
	}
	errs = append(errs, kinds.ValidatePositiveIntOrPercent(maxUnavailable, fldPath.Child("maxUnavailable"))...)
	errs = append(errs, kinds.ValidatePositiveIntOrPercent(maxSurge, fldPath.Child("maxSurge"))...)
	errs = append(errs, kinds.ValidateNotMoreThan100Percent(maxUnavailable, fldPath.Child("maxUnavailable"))...)
	errs = append(errs, kinds.ValidateNotMoreThan100Percent(maxSurge, fldPath.Child("maxSurge"))...)
	hasUnavailable := kinds.IntOrPercentValue(maxUnavailable) != 0
	hasSurge := kinds.IntOrPercentValue(maxSurge) != 0
	switch {
	case hasUnavailable && hasSurge:
		errs = append(errs, field.Invalid(fldPath.Child("maxSurge"), maxSurge, "may not be set when maxUnavailable is non-zero"))
	case !hasUnavailable && !hasSurge:
		errs = append(errs, field.Required(fldPath.Child("maxUnavailable"), "cannot be 0 when maxSurge is 0"))
	}
	return errs
}

func row(ds *appsv1.DaemonSet, now time.Time) []interface{} {
	st := ds.Status
	names, images := kinds.ContainerCells(ds.Spec.Template.Spec.Containers)
	return []interface{}{
		ds.Name,
		int64(st.DesiredNumberScheduled), int64(st.CurrentNumberScheduled), int64(st.NumberReady),
		int64(st.UpdatedNumberScheduled), int64(st.NumberAvailable),
		labels.FormatLabels(ds.Spec.Template.Spec.NodeSelector),
		kinds.Age(ds.CreationTimestamp, now),
		names, images, metav1.FormatLabelSelector(ds.Spec.Selector),
	}
}
