// Package persistentvolume is the PersistentVolume binder
// (persistentvolume-binder upstream). It binds PersistentVolumeClaims to
// PersistentVolumes and keeps the phases of both:
//
//	claim:  Pending ──bind──▶ Bound ──volume gone / misbound──▶ Lost
//	volume: Pending ─▶ Available ──bind──▶ Bound ──claim deleted──▶ Released ─▶ (Retain: stays)
//	                                                               │            (Delete: deleted by its provisioner)
//	                                                               └─▶ Failed (no deleter / no recycler)
//
// Matching follows upstream: a volume pre-bound to the claim (claimRef)
// wins; otherwise the smallest Available volume with the claim's storage
// class, at least the requested capacity, every requested access mode
// (fewest extra modes first), the same volumeMode and labels matching the
// claim's selector. A claim that names a volume (spec.volumeName) gets
// only that one. Claims of a WaitForFirstConsumer class wait until the
// scheduler sets volume.kubernetes.io/selected-node; volumes with node
// affinity must then admit that node. When nothing matches and the claim
// has a class, the claim is annotated with the class's provisioner
// (volume.kubernetes.io/storage-provisioner and its beta spelling) for an
// external provisioner, such as internal/controller/localpath, to act on.
//
// Volumes provisioned by an external provisioner (pv.kubernetes.io/
// provisioned-by) with reclaim policy Delete are deleted by that
// provisioner once Released; other volumes with Delete or Recycle turn
// Failed, as upstream does without an in-tree plugin.
//
// Every sync is level-based: syncClaim and syncVolume read the caches and
// move one object a step, writing spec and annotations before status.
// Claims and volumes are also resynced every 15 seconds (upstream's
// --pvclaimbinder-sync-period). Only internal/server constructs the
// controller; it is safe for concurrent use once built.
package persistentvolume
