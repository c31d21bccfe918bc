// Package volumeattachment is the strategy of storage.k8s.io/v1
// VolumeAttachments.
package volumeattachment

import (
	"math"
	"time"

	storagev1 "k8s.io/api/storage/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/storage/storagevalidation"
)

const (
	maxMetadataSize     = 256 * (1 << 10)
	maxErrorMessageSize = 1024
)

// Kind returns the VolumeAttachment kind.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:       storagev1.SchemeGroupVersion.WithKind("VolumeAttachment"),
		Resource:  "volumeattachments",
		Singular:  "volumeattachment",
		New:       func() runtime.Object { return &storagev1.VolumeAttachment{} },
		NewList:   func() runtime.Object { return &storagev1.VolumeAttachmentList{} },
		HasStatus: true,
		Strategy: kinds.Strategy{
			Validate: func(obj runtime.Object) field.ErrorList {
				va := obj.(*storagev1.VolumeAttachment)
				return append(validate(va), validateV1(va)...)
			},
			ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
				va, o := obj.(*storagev1.VolumeAttachment), old.(*storagev1.VolumeAttachment)
				errs := validate(va)
				if !apiequality.Semantic.DeepEqual(o.Spec, va.Spec) {
					errs = append(errs, field.Invalid(field.NewPath("spec"), va.Spec, "field is immutable"))
				}
				return errs
			},
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.Column("Attacher", "string", 0, storagev1.VolumeAttachmentSpec{}.SwaggerDoc()["attacher"]),
				kinds.Column("PV", "string", 0, storagev1.VolumeAttachmentSource{}.SwaggerDoc()["persistentVolumeName"]),
				kinds.Column("Node", "string", 0, storagev1.VolumeAttachmentSpec{}.SwaggerDoc()["nodeName"]),
				kinds.Column("Attached", "boolean", 0, storagev1.VolumeAttachmentStatus{}.SwaggerDoc()["attached"]),
				kinds.AgeColumn,
			},
			Row: func(obj runtime.Object, now time.Time) []interface{} {
				va := obj.(*storagev1.VolumeAttachment)
				pv := ""
				if va.Spec.Source.PersistentVolumeName != nil {
					pv = *va.Spec.Source.PersistentVolumeName
				}
				return []interface{}{va.Name, va.Spec.Attacher, pv, va.Spec.NodeName, va.Status.Attached, kinds.Age(va.CreationTimestamp, now)}
			},
		},
	}
}

func validate(va *storagev1.VolumeAttachment) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	if va.Spec.Attacher == "" {
		errs = append(errs, field.Required(spec.Child("attacher"), ""))
	}
	src := spec.Child("source")
	switch s := va.Spec.Source; {
	case s.InlineVolumeSpec == nil && s.PersistentVolumeName == nil:
		errs = append(errs, field.Required(src, "must specify exactly one of inlineVolumeSpec and persistentVolumeName"))
	case s.InlineVolumeSpec != nil && s.PersistentVolumeName != nil:
		errs = append(errs, field.Forbidden(src, "must specify exactly one of inlineVolumeSpec and persistentVolumeName"))
	case s.PersistentVolumeName != nil && *s.PersistentVolumeName == "":
		errs = append(errs, field.Required(src.Child("persistentVolumeName"), "must specify non empty persistentVolumeName"))
	}
	for _, msg := range apivalidation.NameIsDNSSubdomain(va.Spec.NodeName, false) {
		errs = append(errs, field.Invalid(spec.Child("nodeName"), va.Spec.NodeName, msg))
	}

	status := field.NewPath("status")
	size := 0
	for k, v := range va.Status.AttachmentMetadata {
		size += len(k) + len(v)
	}
	if size > maxMetadataSize {
		errs = append(errs, field.TooLong(status.Child("attachmentMetadata"), "", maxMetadataSize))
	}
	errs = append(errs, validateVolumeError(va.Status.AttachError, status.Child("attachError"))...)
	return append(errs, validateVolumeError(va.Status.DetachError, status.Child("detachError"))...)
}

func validateVolumeError(e *storagev1.VolumeError, fldPath *field.Path) field.ErrorList {
	if e == nil {
		return nil
	}
	var errs field.ErrorList
	if len(e.Message) > maxErrorMessageSize {
		errs = append(errs, field.TooLong(fldPath.Child("message"), "", maxMetadataSize))
	}
	if e.ErrorCode != nil && *e.ErrorCode < 0 {
		errs = append(errs, field.Invalid(fldPath.Child("errorCode"), *e.ErrorCode, validation.InclusiveRangeError(0, math.MaxInt32)))
	}
	return errs
}

// validateV1 holds the stricter checks upstream applies to newly created
// v1 attachments only.
func validateV1(va *storagev1.VolumeAttachment) field.ErrorList {
	errs := storagevalidation.ValidateCSIDriverName(va.Spec.Attacher, field.NewPath("spec", "attacher"))
	if pv := va.Spec.Source.PersistentVolumeName; pv != nil {
		for _, msg := range apivalidation.NameIsDNSSubdomain(*pv, false) {
			errs = append(errs, field.Invalid(field.NewPath("spec", "source", "persistentVolumeName"), *pv, msg))
		}
	}
	return errs
}
