package podspec

import (
	"path"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// validateVolumes checks pod volumes and returns the set of their names.
func validateVolumes(volumes []corev1.Volume, fldPath *field.Path) (sets.Set[string], field.ErrorList) {
	var errs field.ErrorList
	names := sets.New[string]()
	for i := range volumes {
		v := &volumes[i]
		p := fldPath.Index(i)
		namePath := p.Child("name")
		errs = append(errs, validateVolumeSource(&v.VolumeSource, p)...)
		if v.Name == "" {
			errs = append(errs, field.Required(namePath, ""))
		} else {
			errs = append(errs, dnsLabel(v.Name, namePath)...)
		}
		if names.Has(v.Name) {
			errs = append(errs, field.Duplicate(namePath, v.Name))
		}
		names.Insert(v.Name)
	}
	return names, errs
}

// volumeSources lists the set sources of s in upstream's checking order.
func volumeSources(s *corev1.VolumeSource) []string {
	var set []string
	for _, c := range []struct {
		name string
		on   bool
	}{
		{"hostPath", s.HostPath != nil},
		{"emptyDir", s.EmptyDir != nil},
		{"gitRepo", s.GitRepo != nil},
		{"gcePersistentDisk", s.GCEPersistentDisk != nil},
		{"awsElasticBlockStore", s.AWSElasticBlockStore != nil},
		{"secret", s.Secret != nil},
		{"nfs", s.NFS != nil},
		{"iscsi", s.ISCSI != nil},
		{"glusterfs", s.Glusterfs != nil},
		{"flocker", s.Flocker != nil},
		{"persistentVolumeClaim", s.PersistentVolumeClaim != nil},
		{"rbd", s.RBD != nil},
		{"quobyte", s.Quobyte != nil},
		{"cinder", s.Cinder != nil},
		{"cephfs", s.CephFS != nil},
		{"downwardAPI", s.DownwardAPI != nil},
		{"fc", s.FC != nil},
		{"azureFile", s.AzureFile != nil},
		{"configMap", s.ConfigMap != nil},
		{"vsphereVolume", s.VsphereVolume != nil},
		{"azureDisk", s.AzureDisk != nil},
		{"photonPersistentDisk", s.PhotonPersistentDisk != nil},
		{"projected", s.Projected != nil},
		{"portworxVolume", s.PortworxVolume != nil},
		{"scaleIO", s.ScaleIO != nil},
		{"storageos", s.StorageOS != nil},
		{"csi", s.CSI != nil},
		{"ephemeral", s.Ephemeral != nil},
		{"image", s.Image != nil},
	} {
		if c.on {
			set = append(set, c.name)
		}
	}
	return set
}

func validateVolumeSource(s *corev1.VolumeSource, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	set := volumeSources(s)
	if len(set) == 0 {
		return field.ErrorList{field.Required(fldPath, "must specify a volume type")}
	}
	for _, extra := range set[1:] {
		errs = append(errs, field.Forbidden(fldPath.Child(extra), "may not specify more than 1 volume type"))
	}
	if len(set) > 1 {
		return errs
	}
	switch {
	case s.HostPath != nil:
		if s.HostPath.Path == "" {
			errs = append(errs, field.Required(fldPath.Child("hostPath", "path"), ""))
		}
		if t := s.HostPath.Type; t != nil {
			switch *t {
			case corev1.HostPathUnset, corev1.HostPathDirectoryOrCreate, corev1.HostPathDirectory, corev1.HostPathFileOrCreate,
				corev1.HostPathFile, corev1.HostPathSocket, corev1.HostPathCharDev, corev1.HostPathBlockDev:
			default:
				errs = append(errs, field.NotSupported(fldPath.Child("hostPath", "type"), *t, []string{
					"", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"}))
			}
		}
	case s.EmptyDir != nil:
		if l := s.EmptyDir.SizeLimit; l != nil && l.Sign() < 0 {
			errs = append(errs, field.Forbidden(fldPath.Child("emptyDir", "sizeLimit"), "SizeLimit field must be a valid resource quantity"))
		}
		switch s.EmptyDir.Medium {
		case corev1.StorageMediumDefault, corev1.StorageMediumMemory, corev1.StorageMediumHugePages:
		default:
			if !isHugePages(corev1.ResourceName(s.EmptyDir.Medium)) {
				errs = append(errs, field.NotSupported(fldPath.Child("emptyDir", "medium"), s.EmptyDir.Medium, []string{"", "Memory", "HugePages"}))
			}
		}
	case s.Secret != nil:
		p := fldPath.Child("secret")
		if s.Secret.SecretName == "" {
			errs = append(errs, field.Required(p.Child("secretName"), ""))
		}
		errs = append(errs, validateMode(s.Secret.DefaultMode, p.Child("defaultMode"))...)
		errs = append(errs, validateKeyToPaths(s.Secret.Items, p.Child("items"))...)
	case s.ConfigMap != nil:
		p := fldPath.Child("configMap")
		if s.ConfigMap.Name == "" {
			errs = append(errs, field.Required(p.Child("name"), ""))
		}
		errs = append(errs, validateMode(s.ConfigMap.DefaultMode, p.Child("defaultMode"))...)
		errs = append(errs, validateKeyToPaths(s.ConfigMap.Items, p.Child("items"))...)
	case s.PersistentVolumeClaim != nil:
		if s.PersistentVolumeClaim.ClaimName == "" {
			errs = append(errs, field.Required(fldPath.Child("persistentVolumeClaim", "claimName"), ""))
		}
	case s.NFS != nil:
		p := fldPath.Child("nfs")
		if s.NFS.Server == "" {
			errs = append(errs, field.Required(p.Child("server"), ""))
		}
		if s.NFS.Path == "" {
			errs = append(errs, field.Required(p.Child("path"), ""))
		} else if !path.IsAbs(s.NFS.Path) {
			errs = append(errs, field.Invalid(p.Child("path"), s.NFS.Path, "must be an absolute path"))
		}
	case s.DownwardAPI != nil:
		p := fldPath.Child("downwardAPI")
		errs = append(errs, validateMode(s.DownwardAPI.DefaultMode, p.Child("defaultMode"))...)
		for i, item := range s.DownwardAPI.Items {
			ip := p.Child("items").Index(i)
			if item.Path == "" {
				errs = append(errs, field.Required(ip.Child("path"), ""))
			} else {
				errs = append(errs, validateLocalNonReservedPath(item.Path, ip.Child("path"))...)
			}
			errs = append(errs, validateMode(item.Mode, ip.Child("mode"))...)
		}
	case s.Projected != nil:
		p := fldPath.Child("projected")
		errs = append(errs, validateMode(s.Projected.DefaultMode, p.Child("defaultMode"))...)
		for i, src := range s.Projected.Sources {
			sp := p.Child("sources").Index(i)
			if src.Secret != nil {
				errs = append(errs, validateKeyToPaths(src.Secret.Items, sp.Child("secret", "items"))...)
			}
			if src.ConfigMap != nil {
				errs = append(errs, validateKeyToPaths(src.ConfigMap.Items, sp.Child("configMap", "items"))...)
			}
			if t := src.ServiceAccountToken; t != nil {
				if t.ExpirationSeconds != nil && *t.ExpirationSeconds < 600 {
					errs = append(errs, field.Invalid(sp.Child("serviceAccountToken", "expirationSeconds"), *t.ExpirationSeconds, "may not specify a duration less than 10 minutes"))
				}
				if t.Path == "" {
					errs = append(errs, field.Required(sp.Child("serviceAccountToken", "path"), ""))
				}
			}
		}
	case s.CSI != nil:
		if s.CSI.Driver == "" {
			errs = append(errs, field.Required(fldPath.Child("csi", "driver"), ""))
		}
	case s.Ephemeral != nil:
		if s.Ephemeral.VolumeClaimTemplate == nil {
			errs = append(errs, field.Required(fldPath.Child("ephemeral", "volumeClaimTemplate"), ""))
		}
	case s.Image != nil:
		if s.Image.Reference == "" {
			errs = append(errs, field.Required(fldPath.Child("image", "reference"), ""))
		}
	}
	return errs
}

func validateMode(mode *int32, fldPath *field.Path) field.ErrorList {
	if mode != nil && (*mode > 0o777 || *mode < 0) {
		return field.ErrorList{field.Invalid(fldPath, *mode, fileModeMessage)}
	}
	return nil
}

func validateKeyToPaths(items []corev1.KeyToPath, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, kp := range items {
		p := fldPath.Index(i)
		if kp.Key == "" {
			errs = append(errs, field.Required(p.Child("key"), ""))
		}
		if kp.Path == "" {
			errs = append(errs, field.Required(p.Child("path"), ""))
		} else {
			errs = append(errs, validateLocalNonReservedPath(kp.Path, p.Child("path"))...)
		}
		errs = append(errs, validateMode(kp.Mode, p.Child("mode"))...)
	}
	return errs
}
