// Package localpath is Skiff's built-in dynamic provisioner,
// "skiff.io/local-path" (local-path-provisioner upstream of k3s): volumes
// that are directories on one node.
//
// At startup it creates, through the API and only if missing, the
// StorageClass `local-path`: the cluster default
// (storageclass.kubernetes.io/is-default-class "true"), binding
// WaitForFirstConsumer, reclaim policy Delete.
//
// Like an external provisioner it acts on the claims the binder
// (internal/controller/persistentvolume) hands to it with the
// volume.kubernetes.io/storage-provisioner annotation, once the scheduler
// has set volume.kubernetes.io/selected-node. For each it creates the
// PersistentVolume pvc-<claim UID>: type local, path
// <base>/<namespace>_<claim>_<volume>, required node affinity on the
// selected node's kubernetes.io/hostname, pre-bound to the claim, which the
// binder then binds. A Released volume of its own with reclaim policy
// Delete has its directory removed and is deleted.
//
// Directories are made and removed through the Directories interface:
// the node agent's job on a multi-node cluster, or NodeLocal's when the
// volume's node is this machine. Only internal/server constructs the
// controller; it is safe for concurrent use once built.
package localpath
