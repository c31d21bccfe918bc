package framework

import (
	"context"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
)

// VolumeLister reads the cluster's storage objects from the scheduler's
// informer caches. A missing object is (nil, nil); the objects are shared
// and must not be modified.
type VolumeLister interface {
	PersistentVolumeClaim(namespace, name string) (*v1.PersistentVolumeClaim, error)
	PersistentVolume(name string) (*v1.PersistentVolume, error)
	PersistentVolumes() ([]*v1.PersistentVolume, error)
	StorageClass(name string) (*storagev1.StorageClass, error)
}

// VolumeBindings is what the VolumeBinding plugin decided for the
// unbound WaitForFirstConsumer claims of a pod on its node: claims bound
// to an existing volume (claim key "namespace/name" to volume name) and
// claims to be provisioned there.
type VolumeBindings struct {
	Static    map[string]string
	Provision []*v1.PersistentVolumeClaim
}

// VolumeBinder carries out VolumeBindings through the API, as upstream's
// volume binder does: it pre-binds each static volume to its claim
// (spec.claimRef), annotates each claim to provision with
// volume.kubernetes.io/selected-node, and then waits until the
// PersistentVolume controller has bound every claim of the pod. It
// returns an error when that fails or has not happened within timeout.
type VolumeBinder interface {
	BindVolumes(ctx context.Context, pod *v1.Pod, node string, b VolumeBindings, claims []*v1.PersistentVolumeClaim) error
}

// Volumes is the storage access a framework gives its plugins: reads
// from caches and the one write path of volume binding.
type Volumes interface {
	VolumeLister
	VolumeBinder
}
