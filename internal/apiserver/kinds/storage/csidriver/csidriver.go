// Package csidriver is the strategy of storage.k8s.io/v1 CSIDrivers.
package csidriver

import (
	"strings"
	"time"

	storagev1 "k8s.io/api/storage/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
)

// Kind returns the CSIDriver kind.
func Kind() kinds.Kind {
	doc := storagev1.CSIDriverSpec{}.SwaggerDoc()
	return kinds.Kind{
		GVK:      storagev1.SchemeGroupVersion.WithKind("CSIDriver"),
		Resource: "csidrivers",
		Singular: "csidriver",
		New:      func() runtime.Object { return &storagev1.CSIDriver{} },
		NewList:  func() runtime.Object { return &storagev1.CSIDriverList{} },
		Strategy: kinds.Strategy{
			Default:  defaults,
			Validate: func(obj runtime.Object) field.ErrorList { return validateSpec(&obj.(*storagev1.CSIDriver).Spec) },
			ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
				d, o := obj.(*storagev1.CSIDriver), old.(*storagev1.CSIDriver)
				errs := validateSpec(&d.Spec)
				errs = append(errs, apivalidation.ValidateImmutableField(d.Spec.AttachRequired, o.Spec.AttachRequired, field.NewPath("spec", "attachedRequired"))...)
				return append(errs, apivalidation.ValidateImmutableField(d.Spec.VolumeLifecycleModes, o.Spec.VolumeLifecycleModes, field.NewPath("spec", "volumeLifecycleModes"))...)
			},
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.Column("AttachRequired", "boolean", 0, doc["attachRequired"]),
				kinds.Column("PodInfoOnMount", "boolean", 0, doc["podInfoOnMount"]),
				kinds.Column("StorageCapacity", "boolean", 0, doc["storageCapacity"]),
				kinds.Column("TokenRequests", "string", 0, doc["tokenRequests"]),
				kinds.Column("RequiresRepublish", "boolean", 0, doc["requiresRepublish"]),
				kinds.Column("Modes", "string", 0, doc["volumeLifecycleModes"]),
				kinds.AgeColumn,
			},
			Row: row,
		},
	}
}

func boolOr(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

func defaults(obj runtime.Object) {
	spec := &obj.(*storagev1.CSIDriver).Spec
	set := func(p **bool, v bool) {
		if *p == nil {
			*p = &v
		}
	}
	set(&spec.AttachRequired, true)
	set(&spec.PodInfoOnMount, false)
	set(&spec.StorageCapacity, false)
	set(&spec.RequiresRepublish, false)
	set(&spec.SELinuxMount, false)
	if spec.FSGroupPolicy == nil {
		p := storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy
		spec.FSGroupPolicy = &p
	}
	if len(spec.VolumeLifecycleModes) == 0 {
		spec.VolumeLifecycleModes = []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent}
	}
}

func row(obj runtime.Object, now time.Time) []interface{} {
	d := obj.(*storagev1.CSIDriver)
	tokens := "<unset>"
	if len(d.Spec.TokenRequests) > 0 {
		var auds []string
		for _, t := range d.Spec.TokenRequests {
			auds = append(auds, t.Audience)
		}
		tokens = strings.Join(auds, ",")
	}
	var modes []string
	for _, m := range d.Spec.VolumeLifecycleModes {
		modes = append(modes, string(m))
	}
	modeCell := strings.Join(modes, ",")
	if modeCell == "" {
		modeCell = "<none>"
	}
	return []interface{}{
		d.Name,
		boolOr(d.Spec.AttachRequired, true),
		boolOr(d.Spec.PodInfoOnMount, false),
		boolOr(d.Spec.StorageCapacity, false),
		tokens,
		boolOr(d.Spec.RequiresRepublish, false),
		modeCell,
		kinds.Age(d.CreationTimestamp, now),
	}
}

func validateSpec(spec *storagev1.CSIDriverSpec) field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec")
	required := func(b *bool, name string) {
		if b == nil {
			errs = append(errs, field.Required(p.Child(name), ""))
		}
	}
	required(spec.AttachRequired, "attachedRequired")
	required(spec.PodInfoOnMount, "podInfoOnMount")
	required(spec.StorageCapacity, "storageCapacity")
	if spec.FSGroupPolicy != nil {
		switch *spec.FSGroupPolicy {
		case storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy, storagev1.FileFSGroupPolicy, storagev1.NoneFSGroupPolicy:
		default:
			errs = append(errs, field.NotSupported(p.Child("fsGroupPolicy"), *spec.FSGroupPolicy, []string{"File", "None", "ReadWriteOnceWithFSType"}))
		}
	}
	seen := map[string]bool{}
	for i, tr := range spec.TokenRequests {
		tp := p.Child("tokenRequests").Index(i)
		if seen[tr.Audience] {
			errs = append(errs, field.Duplicate(tp.Child("audience"), tr.Audience))
			continue
		}
		seen[tr.Audience] = true
		if tr.ExpirationSeconds == nil {
			continue
		}
		if *tr.ExpirationSeconds < 600 {
			errs = append(errs, field.Invalid(tp.Child("expirationSeconds"), *tr.ExpirationSeconds, "may not specify a duration less than 10 minutes"))
		}
		if *tr.ExpirationSeconds > 1<<32 {
			errs = append(errs, field.Invalid(tp.Child("expirationSeconds"), *tr.ExpirationSeconds, "may not specify a duration larger than 2^32 seconds"))
		}
	}
	for _, m := range spec.VolumeLifecycleModes {
		switch m {
		case storagev1.VolumeLifecyclePersistent, storagev1.VolumeLifecycleEphemeral:
		default:
			errs = append(errs, field.NotSupported(p.Child("volumeLifecycleModes"), m, []string{"Persistent", "Ephemeral"}))
		}
	}
	required(spec.SELinuxMount, "seLinuxMount")
	if s := spec.NodeAllocatableUpdatePeriodSeconds; s != nil && *s < 10 {
		errs = append(errs, field.Invalid(p.Child("nodeAllocatableUpdatePeriodSeconds"), *s, "must be greater than or equal to 10 seconds"))
	}
	return errs
}
