// Package statefulset is the strategy of apps/v1 StatefulSets.
package statefulset

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/podspec"
)

// Kind returns the apps/v1 StatefulSet kind.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:              appsv1.SchemeGroupVersion.WithKind("StatefulSet"),
		Resource:         "statefulsets",
		Singular:         "statefulset",
		Namespaced:       true,
		ShortNames:       []string{"sts"},
		Categories:       []string{"all"},
		New:              func() runtime.Object { return &appsv1.StatefulSet{} },
		Restore:          restoreTemplateKinds,
		NewList:          func() runtime.Object { return &appsv1.StatefulSetList{} },
		HasStatus:        true,
		TracksGeneration: true,
		Scale: &kinds.Scale{
			SpecReplicas:   "spec.replicas",
			StatusReplicas: "status.replicas",
			Selector: func(obj runtime.Object) string {
				return kinds.ScaleSelector(obj.(*appsv1.StatefulSet).Spec.Selector)
			},
		},
		Strategy: kinds.Strategy{
			ValidateName:     apivalidation.NameIsDNSLabel,
			Default:          func(obj runtime.Object) { Default(obj.(*appsv1.StatefulSet)) },
			PrepareForCreate: func(obj runtime.Object) { obj.(*appsv1.StatefulSet).Status = appsv1.StatefulSetStatus{} },
			Validate:         func(obj runtime.Object) field.ErrorList { return Validate(obj.(*appsv1.StatefulSet)) },
			ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*appsv1.StatefulSet), old.(*appsv1.StatefulSet))
			},
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.Column("Ready", "string", 0, "Number of the pod with ready state"),
				kinds.AgeColumn,
				kinds.Column("Containers", "string", 1, kinds.ContainersDescription),
				kinds.Column("Images", "string", 1, kinds.ImagesDescription),
			},
			Row: func(obj runtime.Object, now time.Time) []interface{} { return row(obj.(*appsv1.StatefulSet), now) },
		},
	}
}

// Default sets the apps/v1 defaults: podManagementPolicy OrderedReady, a
// RollingUpdate strategy with partition 0, the Retain/Retain PVC retention
// policy, replicas 1, revisionHistoryLimit 10, and the defaults of the pod
// template and of the volume claim templates.
func Default(s *appsv1.StatefulSet) {
	spec := &s.Spec
	if spec.PodManagementPolicy == "" {
		spec.PodManagementPolicy = appsv1.OrderedReadyPodManagement
	}
	if spec.UpdateStrategy.Type == "" {
		spec.UpdateStrategy.Type = appsv1.RollingUpdateStatefulSetStrategyType
		if spec.UpdateStrategy.RollingUpdate == nil {
			spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{}
		}
	}
	if ru := spec.UpdateStrategy.RollingUpdate; spec.UpdateStrategy.Type == appsv1.RollingUpdateStatefulSetStrategyType && ru != nil && ru.Partition == nil {
		ru.Partition = new(int32)
	}
	if spec.PersistentVolumeClaimRetentionPolicy == nil {
		spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{}
	}
	if p := spec.PersistentVolumeClaimRetentionPolicy; p.WhenDeleted == "" {
		p.WhenDeleted = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if p := spec.PersistentVolumeClaimRetentionPolicy; p.WhenScaled == "" {
		p.WhenScaled = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	}
	if spec.Replicas == nil {
		one := int32(1)
		spec.Replicas = &one
	}
	if spec.RevisionHistoryLimit == nil {
		ten := int32(10)
		spec.RevisionHistoryLimit = &ten
	}
	podspec.DefaultTemplate(&spec.Template)
	for i := range spec.VolumeClaimTemplates {
		pvc := &spec.VolumeClaimTemplates[i]
		setTemplateKind(pvc)
		podspec.DefaultPersistentVolumeClaimSpec(&pvc.Spec)
		if pvc.Status.Phase == "" {
			pvc.Status.Phase = corev1.ClaimPending
		}
	}
}

// Validate checks a StatefulSet's spec.
func Validate(s *appsv1.StatefulSet) field.ErrorList {
	return validateSpec(&s.Spec, field.NewPath("spec"))
}

// ValidateUpdate checks the new spec and that only replicas, ordinals,
// template, updateStrategy, persistentVolumeClaimRetentionPolicy and
// minReadySeconds changed.
func ValidateUpdate(s, old *appsv1.StatefulSet) field.ErrorList {
	errs := validateSpec(&s.Spec, field.NewPath("spec"))
	clone := s.Spec.DeepCopy()
	clone.Replicas = old.Spec.Replicas
	clone.Template = old.Spec.Template
	clone.UpdateStrategy = old.Spec.UpdateStrategy
	clone.MinReadySeconds = old.Spec.MinReadySeconds
	clone.Ordinals = old.Spec.Ordinals
	clone.PersistentVolumeClaimRetentionPolicy = old.Spec.PersistentVolumeClaimRetentionPolicy
	if !apiequality.Semantic.DeepEqual(*clone, old.Spec) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"), "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"))
	}
	return errs
}

func validateSpec(spec *appsv1.StatefulSetSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch spec.PodManagementPolicy {
	case "":
		errs = append(errs, field.Required(fldPath.Child("podManagementPolicy"), ""))
	case appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement:
	default:
		errs = append(errs, field.Invalid(fldPath.Child("podManagementPolicy"), spec.PodManagementPolicy,
			fmt.Sprintf("must be '%s' or '%s'", appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement)))
	}
	us := fldPath.Child("updateStrategy")
	switch spec.UpdateStrategy.Type {
	case "":
		errs = append(errs, field.Required(us, ""))
	case appsv1.OnDeleteStatefulSetStrategyType:
		if spec.UpdateStrategy.RollingUpdate != nil {
			errs = append(errs, field.Invalid(us.Child("rollingUpdate"), spec.UpdateStrategy.RollingUpdate,
				fmt.Sprintf("only allowed for updateStrategy '%s'", appsv1.RollingUpdateStatefulSetStrategyType)))
		}
	case appsv1.RollingUpdateStatefulSetStrategyType:
		if ru := spec.UpdateStrategy.RollingUpdate; ru != nil {
			errs = append(errs, validateRollingUpdate(ru, us.Child("rollingUpdate"))...)
		}
	default:
		errs = append(errs, field.Invalid(us, spec.UpdateStrategy,
			fmt.Sprintf("must be '%s' or '%s'", appsv1.RollingUpdateStatefulSetStrategyType, appsv1.OnDeleteStatefulSetStrategyType)))
	}
	if p := spec.PersistentVolumeClaimRetentionPolicy; p != nil {
		pp := fldPath.Child("persistentVolumeClaimRetentionPolicy")
		errs = append(errs, validateRetention(p.WhenDeleted, pp.Child("whenDeleted"))...)
		errs = append(errs, validateRetention(p.WhenScaled, pp.Child("whenScaled"))...)
	}
	replicas := int32(1)
	if spec.Replicas != nil {
		replicas = *spec.Replicas
	}
	errs = append(errs, kinds.ValidateNonnegative(int64(replicas), fldPath.Child("replicas"))...)
	errs = append(errs, kinds.ValidateNonnegative(int64(spec.MinReadySeconds), fldPath.Child("minReadySeconds"))...)
	if spec.Ordinals != nil {
		// Upstream reports this path as a single segment.
		errs = append(errs, kinds.ValidateNonnegative(int64(spec.Ordinals.Start), fldPath.Child("ordinals.start"))...)
	}
	if spec.RevisionHistoryLimit != nil {
		errs = append(errs, kinds.ValidateNonnegative(int64(*spec.RevisionHistoryLimit), fldPath.Child("revisionHistoryLimit"))...)
	}
	sel, selErrs := kinds.ValidateWorkloadSelector(spec.Selector, "statefulset", fldPath.Child("selector"))
	errs = append(errs, selErrs...)
	tp := fldPath.Child("template")
	if sel == nil {
		errs = append(errs, field.Invalid(fldPath.Child("selector"), spec.Selector, ""))
	} else {
		errs = append(errs, kinds.ValidateSelectorMatchesTemplate(sel, spec.Template.Labels, tp.Child("metadata", "labels"))...)
		// As upstream, the template's pod spec is not validated here: its
		// volume mounts may name volume claim templates.
		errs = append(errs, metavalidation.ValidateLabels(spec.Template.Labels, tp.Child("labels"))...)
		errs = append(errs, apivalidation.ValidateAnnotations(spec.Template.Annotations, tp.Child("annotations"))...)
	}
	errs = append(errs, kinds.ValidateWorkloadTemplateRestart(&spec.Template.Spec, "StatefulSet", tp.Child("spec"))...)
	return errs
}

func validateRollingUpdate(ru *appsv1.RollingUpdateStatefulSetStrategy, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if ru.Partition != nil {
		errs = append(errs, kinds.ValidateNonnegative(int64(*ru.Partition), fldPath.Child("partition"))...)
	}
	if ru.MaxUnavailable != nil {
		p := fldPath.Child("maxUnavailable")
		errs = append(errs, kinds.ValidatePositiveIntOrPercent(*ru.MaxUnavailable, p)...)
		if kinds.IntOrPercentValue(*ru.MaxUnavailable) == 0 {
			errs = append(errs, field.Invalid(p, *ru.MaxUnavailable, "cannot be 0"))
		}
		errs = append(errs, kinds.ValidateNotMoreThan100Percent(*ru.MaxUnavailable, p)...)
	}
	return errs
}

func validateRetention(t appsv1.PersistentVolumeClaimRetentionPolicyType, fldPath *field.Path) field.ErrorList {
	switch t {
	case appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType:
		return nil
	}
	return field.ErrorList{field.NotSupported(fldPath, t, []string{
		string(appsv1.RetainPersistentVolumeClaimRetentionPolicyType), string(appsv1.DeletePersistentVolumeClaimRetentionPolicyType)})}
}

func row(s *appsv1.StatefulSet, now time.Time) []interface{} {
	desired := int32(0)
	if s.Spec.Replicas != nil {
		desired = *s.Spec.Replicas
	}
	names, images := kinds.ContainerCells(s.Spec.Template.Spec.Containers)
	return []interface{}{
		s.Name, fmt.Sprintf("%d/%d", s.Status.ReadyReplicas, desired), kinds.Age(s.CreationTimestamp, now),
		names, images,
	}
}

// restoreTemplateKinds puts back the volumeClaimTemplates' apiVersion and
// kind, which protobuf storage drops (PersistentVolumeClaim's TypeMeta has
// no protobuf field) and upstream shows on every read.
func restoreTemplateKinds(obj runtime.Object) {
	if s, ok := obj.(*appsv1.StatefulSet); ok {
		for i := range s.Spec.VolumeClaimTemplates {
			setTemplateKind(&s.Spec.VolumeClaimTemplates[i])
		}
	}
}

func setTemplateKind(pvc *corev1.PersistentVolumeClaim) {
	pvc.APIVersion, pvc.Kind = "v1", "PersistentVolumeClaim"
}
