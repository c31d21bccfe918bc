// Package persistentvolume is the strategy of core/v1 PersistentVolumes. It
// also exports the access-mode and storage-class helpers the claim kind
// prints with.
package persistentvolume

import (
	"path"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/podspec"
)

// BetaStorageClassAnnotation is the legacy annotation that wins over
// spec.storageClassName.
const BetaStorageClassAnnotation = "volume.beta.kubernetes.io/storage-class"

// Kind returns the PersistentVolume kind.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:        corev1.SchemeGroupVersion.WithKind("PersistentVolume"),
		Resource:   "persistentvolumes",
		Singular:   "persistentvolume",
		ShortNames: []string{"pv"},
		New:        func() runtime.Object { return &corev1.PersistentVolume{} },
		NewList:    func() runtime.Object { return &corev1.PersistentVolumeList{} },
		HasStatus:  true,
		Strategy: kinds.Strategy{
			Default: func(obj runtime.Object) { Default(obj.(*corev1.PersistentVolume)) },
			PrepareForCreate: func(obj runtime.Object) {
				obj.(*corev1.PersistentVolume).Status = corev1.PersistentVolumeStatus{Phase: corev1.VolumePending}
			},
			Validate: func(obj runtime.Object) field.ErrorList { return Validate(obj.(*corev1.PersistentVolume)) },
			ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*corev1.PersistentVolume), old.(*corev1.PersistentVolume))
			},
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.Column("Capacity", "string", 0, corev1.PersistentVolumeSpec{}.SwaggerDoc()["capacity"]),
				kinds.Column("Access Modes", "string", 0, corev1.PersistentVolumeSpec{}.SwaggerDoc()["accessModes"]),
				kinds.Column("Reclaim Policy", "string", 0, corev1.PersistentVolumeSpec{}.SwaggerDoc()["persistentVolumeReclaimPolicy"]),
				kinds.Column("Status", "string", 0, corev1.PersistentVolumeStatus{}.SwaggerDoc()["phase"]),
				kinds.Column("Claim", "string", 0, corev1.PersistentVolumeSpec{}.SwaggerDoc()["claimRef"]),
				kinds.Column("StorageClass", "string", 0, "StorageClass of the pv"),
				kinds.Column("VolumeAttributesClass", "string", 0, corev1.PersistentVolumeSpec{}.SwaggerDoc()["volumeAttributesClassName"]),
				kinds.Column("Reason", "string", 0, corev1.PersistentVolumeStatus{}.SwaggerDoc()["reason"]),
				kinds.AgeColumn,
				kinds.Column("VolumeMode", "string", 1, corev1.PersistentVolumeSpec{}.SwaggerDoc()["volumeMode"]),
			},
			Row: func(obj runtime.Object, now time.Time) []interface{} {
				pv := obj.(*corev1.PersistentVolume)
				claim := ""
				if pv.Spec.ClaimRef != nil {
					claim = pv.Spec.ClaimRef.Namespace + "/" + pv.Spec.ClaimRef.Name
				}
				phase := string(pv.Status.Phase)
				if pv.DeletionTimestamp != nil {
					phase = "Terminating"
				}
				storage := pv.Spec.Capacity[corev1.ResourceStorage]
				vac := "<unset>"
				if pv.Spec.VolumeAttributesClassName != nil {
					vac = *pv.Spec.VolumeAttributesClassName
				}
				mode := "<unset>"
				if pv.Spec.VolumeMode != nil {
					mode = string(*pv.Spec.VolumeMode)
				}
				class := pv.Spec.StorageClassName
				if c, ok := pv.Annotations[BetaStorageClassAnnotation]; ok {
					class = c
				}
				return []interface{}{
					pv.Name, storage.String(), AccessModesString(pv.Spec.AccessModes), string(pv.Spec.PersistentVolumeReclaimPolicy),
					phase, claim, class, vac, pv.Status.Reason, kinds.Age(pv.CreationTimestamp, now), mode,
				}
			},
		},
	}
}

// Default sets reclaim policy Retain, volumeMode Filesystem, phase Pending
// and the hostPath type.
func Default(pv *corev1.PersistentVolume) {
	if pv.Spec.PersistentVolumeReclaimPolicy == "" {
		pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRetain
	}
	if pv.Spec.VolumeMode == nil {
		m := corev1.PersistentVolumeFilesystem
		pv.Spec.VolumeMode = &m
	}
	if pv.Status.Phase == "" {
		pv.Status.Phase = corev1.VolumePending
	}
	if hp := pv.Spec.HostPath; hp != nil && hp.Type == nil {
		t := corev1.HostPathUnset
		hp.Type = &t
	}
	podspec.DefaultResourceList(pv.Spec.Capacity)
}

// AccessModesString abbreviates access modes as kubectl does, in the order
// RWO, ROX, RWX, RWOP, without duplicates.
func AccessModesString(modes []corev1.PersistentVolumeAccessMode) string {
	has := map[corev1.PersistentVolumeAccessMode]bool{}
	for _, m := range modes {
		has[m] = true
	}
	var out []string
	for _, m := range []struct {
		mode  corev1.PersistentVolumeAccessMode
		short string
	}{
		{corev1.ReadWriteOnce, "RWO"}, {corev1.ReadOnlyMany, "ROX"}, {corev1.ReadWriteMany, "RWX"}, {corev1.ReadWriteOncePod, "RWOP"},
	} {
		if has[m.mode] {
			out = append(out, m.short)
		}
	}
	return strings.Join(out, ",")
}

// ValidateAccessModes requires at least one supported access mode, and
// ReadWriteOncePod alone.
func ValidateAccessModes(modes []corev1.PersistentVolumeAccessMode, fldPath *field.Path, requiredMessage string) field.ErrorList {
	var errs field.ErrorList
	if len(modes) == 0 {
		errs = append(errs, field.Required(fldPath, requiredMessage))
	}
	rwop := false
	for _, m := range modes {
		switch m {
		case corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany:
		case corev1.ReadWriteOncePod:
			rwop = true
		default:
			errs = append(errs, field.NotSupported(fldPath, m, []string{"ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"}))
		}
	}
	if rwop && len(modes) > 1 {
		errs = append(errs, field.Forbidden(fldPath, "may not use ReadWriteOncePod with other access modes"))
	}
	return errs
}

// Validate checks access modes, capacity, reclaim policy and the volume source.
func Validate(pv *corev1.PersistentVolume) field.ErrorList {
	specPath := field.NewPath("spec")
	s := &pv.Spec
	errs := ValidateAccessModes(s.AccessModes, specPath.Child("accessModes"), "")
	if len(s.Capacity) == 0 {
		errs = append(errs, field.Required(specPath.Child("capacity"), ""))
	} else if _, ok := s.Capacity[corev1.ResourceStorage]; !ok || len(s.Capacity) > 1 {
		errs = append(errs, field.NotSupported(specPath.Child("capacity"), s.Capacity, []string{"storage"}))
	}
	for name, q := range s.Capacity {
		errs = append(errs, podspec.ValidateResourceQuantity(name, q, specPath.Child("capacity").Key(string(name)))...)
	}
	switch s.PersistentVolumeReclaimPolicy {
	case corev1.PersistentVolumeReclaimDelete, corev1.PersistentVolumeReclaimRecycle, corev1.PersistentVolumeReclaimRetain:
	default:
		errs = append(errs, field.NotSupported(specPath.Child("persistentVolumeReclaimPolicy"), s.PersistentVolumeReclaimPolicy, []string{"Delete", "Recycle", "Retain"}))
	}
	if s.VolumeMode != nil && *s.VolumeMode != corev1.PersistentVolumeFilesystem && *s.VolumeMode != corev1.PersistentVolumeBlock {
		errs = append(errs, field.NotSupported(specPath.Child("volumeMode"), *s.VolumeMode, []string{"Block", "Filesystem"}))
	}
	n := 0
	src := s.PersistentVolumeSource
	for _, set := range []bool{
		src.HostPath != nil, src.GCEPersistentDisk != nil, src.AWSElasticBlockStore != nil, src.Glusterfs != nil,
		src.NFS != nil, src.RBD != nil, src.Quobyte != nil, src.ISCSI != nil, src.CephFS != nil, src.Cinder != nil,
		src.FC != nil, src.Flocker != nil, src.AzureFile != nil, src.VsphereVolume != nil, src.AzureDisk != nil,
		src.PhotonPersistentDisk != nil, src.PortworxVolume != nil, src.ScaleIO != nil, src.Local != nil,
		src.StorageOS != nil, src.CSI != nil,
	} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		errs = append(errs, field.Required(specPath, "must specify a volume type"))
	case n > 1:
		errs = append(errs, field.Forbidden(specPath, "may not specify more than 1 volume type"))
	}
	if src.HostPath != nil {
		p := specPath.Child("hostPath", "path")
		if src.HostPath.Path == "" {
			errs = append(errs, field.Required(p, ""))
		} else if containsDotDot(src.HostPath.Path) {
			errs = append(errs, field.Invalid(p, src.HostPath.Path, "must not contain '..'"))
		}
	}
	if src.Local != nil {
		p := specPath.Child("local", "path")
		if src.Local.Path == "" {
			errs = append(errs, field.Required(p, ""))
		}
		if s.NodeAffinity == nil {
			errs = append(errs, field.Required(specPath.Child("nodeAffinity"), "Local volume requires node affinity"))
		}
	}
	if src.NFS != nil {
		p := specPath.Child("nfs")
		if src.NFS.Server == "" {
			errs = append(errs, field.Required(p.Child("server"), ""))
		}
		if src.NFS.Path == "" {
			errs = append(errs, field.Required(p.Child("path"), ""))
		} else if !path.IsAbs(src.NFS.Path) {
			errs = append(errs, field.Invalid(p.Child("path"), src.NFS.Path, "must be an absolute path"))
		}
	}
	if src.CSI != nil {
		if src.CSI.Driver == "" {
			errs = append(errs, field.Required(specPath.Child("csi", "driver"), ""))
		}
		if src.CSI.VolumeHandle == "" {
			errs = append(errs, field.Required(specPath.Child("csi", "volumeHandle"), ""))
		}
	}
	return errs
}

func containsDotDot(p string) bool {
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return true
		}
	}
	return false
}

// ValidateUpdate validates the new volume; its source and volumeMode may
// not change.
func ValidateUpdate(pv, old *corev1.PersistentVolume) field.ErrorList {
	errs := Validate(pv)
	if !equalSource(pv.Spec.PersistentVolumeSource, old.Spec.PersistentVolumeSource) {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "persistentvolumesource"), "spec.persistentvolumesource is forbidden once set"))
	}
	if (pv.Spec.VolumeMode == nil) != (old.Spec.VolumeMode == nil) || (pv.Spec.VolumeMode != nil && *pv.Spec.VolumeMode != *old.Spec.VolumeMode) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "volumeMode"), pv.Spec.VolumeMode, "field is immutable"))
	}
	return errs
}
