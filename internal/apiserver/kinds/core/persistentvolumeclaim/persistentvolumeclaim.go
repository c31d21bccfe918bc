// Package persistentvolumeclaim is the strategy of core/v1
// PersistentVolumeClaims.
package persistentvolumeclaim

import (
	"fmt"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/persistentvolume"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/podspec"
)

// Kind returns the PersistentVolumeClaim kind.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:        corev1.SchemeGroupVersion.WithKind("PersistentVolumeClaim"),
		Resource:   "persistentvolumeclaims",
		Singular:   "persistentvolumeclaim",
		Namespaced: true,
		ShortNames: []string{"pvc"},
		New:        func() runtime.Object { return &corev1.PersistentVolumeClaim{} },
		NewList:    func() runtime.Object { return &corev1.PersistentVolumeClaimList{} },
		HasStatus:  true,
		Strategy: kinds.Strategy{
			Default: func(obj runtime.Object) { Default(obj.(*corev1.PersistentVolumeClaim)) },
			PrepareForCreate: func(obj runtime.Object) {
				obj.(*corev1.PersistentVolumeClaim).Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}
			},
			Validate: func(obj runtime.Object) field.ErrorList {
				pvc := obj.(*corev1.PersistentVolumeClaim)
				return ValidateSpec(&pvc.Spec, field.NewPath("spec"))
			},
			ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*corev1.PersistentVolumeClaim), old.(*corev1.PersistentVolumeClaim))
			},
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.Column("Status", "string", 0, corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()["phase"]),
				kinds.Column("Volume", "string", 0, corev1.PersistentVolumeClaimSpec{}.SwaggerDoc()["volumeName"]),
				kinds.Column("Capacity", "string", 0, corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()["capacity"]),
				kinds.Column("Access Modes", "string", 0, corev1.PersistentVolumeClaimStatus{}.SwaggerDoc()["accessModes"]),
				kinds.Column("StorageClass", "string", 0, "StorageClass of the pvc"),
				kinds.Column("VolumeAttributesClass", "string", 0, corev1.PersistentVolumeClaimSpec{}.SwaggerDoc()["volumeAttributesClassName"]),
				kinds.AgeColumn,
				kinds.Column("VolumeMode", "string", 1, corev1.PersistentVolumeClaimSpec{}.SwaggerDoc()["volumeMode"]),
			},
			Row: row,
		},
	}
}

// Default sets volumeMode Filesystem and phase Pending.
func Default(pvc *corev1.PersistentVolumeClaim) {
	podspec.DefaultPersistentVolumeClaimSpec(&pvc.Spec)
	if pvc.Status.Phase == "" {
		pvc.Status.Phase = corev1.ClaimPending
	}
}

// ValidateSpec validates a claim spec at fldPath; StatefulSet
// volumeClaimTemplates and ephemeral volumes use it too.
func ValidateSpec(s *corev1.PersistentVolumeClaimSpec, fldPath *field.Path) field.ErrorList {
	errs := persistentvolume.ValidateAccessModes(s.AccessModes, fldPath.Child("accessModes"), "at least 1 access mode is required")
	if s.Selector != nil {
		errs = append(errs, metav1validation.ValidateLabelSelector(s.Selector, metav1validation.LabelSelectorValidationOptions{}, fldPath.Child("selector"))...)
	}
	storagePath := fldPath.Child("resources").Key(string(corev1.ResourceStorage))
	if q, ok := s.Resources.Requests[corev1.ResourceStorage]; !ok {
		errs = append(errs, field.Required(storagePath, ""))
	} else if q.Sign() <= 0 {
		errs = append(errs, field.Invalid(storagePath, q.String(), "must be greater than zero"))
	}
	if s.VolumeMode != nil && *s.VolumeMode != corev1.PersistentVolumeFilesystem && *s.VolumeMode != corev1.PersistentVolumeBlock {
		errs = append(errs, field.NotSupported(fldPath.Child("volumeMode"), *s.VolumeMode, []string{"Block", "Filesystem"}))
	}
	return errs
}

// ValidateUpdate allows only binding (volumeName from empty), storage
// requests that grow, and volumeAttributesClassName to change.
func ValidateUpdate(pvc, old *corev1.PersistentVolumeClaim) field.ErrorList {
	errs := ValidateSpec(&pvc.Spec, field.NewPath("spec"))
	newSpec, oldSpec := pvc.Spec.DeepCopy(), old.Spec.DeepCopy()
	if oldSpec.VolumeName == "" {
		oldSpec.VolumeName = newSpec.VolumeName
	}
	if old.Status.Phase == corev1.ClaimBound {
		oldSpec.Resources.Requests = newSpec.Resources.Requests
		newQ := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
		if capQ, ok := old.Status.Capacity[corev1.ResourceStorage]; ok && newQ.Cmp(capQ) < 0 {
			errs = append(errs, field.Forbidden(field.NewPath("spec", "resources", "requests", "storage"), "field can not be less than status.capacity"))
		}
	}
	oldSpec.VolumeAttributesClassName = newSpec.VolumeAttributesClassName
	if !equality.Semantic.DeepEqual(newSpec, oldSpec) {
		errs = append(errs, field.Forbidden(field.NewPath("spec"), fmt.Sprintf("spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n%v", cmp.Diff(*oldSpec, *newSpec))))
	}
	return errs
}

func row(obj runtime.Object, now time.Time) []interface{} {
	pvc := obj.(*corev1.PersistentVolumeClaim)
	phase := string(pvc.Status.Phase)
	if pvc.DeletionTimestamp != nil {
		phase = "Terminating"
	}
	capacity, modes := "", ""
	if pvc.Spec.VolumeName != "" {
		modes = persistentvolume.AccessModesString(pvc.Status.AccessModes)
		q := pvc.Status.Capacity[corev1.ResourceStorage]
		capacity = q.String()
	}
	vac := "<unset>"
	if pvc.Spec.VolumeAttributesClassName != nil {
		vac = *pvc.Spec.VolumeAttributesClassName
	}
	mode := "<unset>"
	if pvc.Spec.VolumeMode != nil {
		mode = string(*pvc.Spec.VolumeMode)
	}
	class := ""
	if c, ok := pvc.Annotations[persistentvolume.BetaStorageClassAnnotation]; ok {
		class = c
	} else if pvc.Spec.StorageClassName != nil {
		class = *pvc.Spec.StorageClassName
	}
	return []interface{}{pvc.Name, phase, pvc.Spec.VolumeName, capacity, modes, class, vac, kinds.Age(pvc.CreationTimestamp, now), mode}
}
