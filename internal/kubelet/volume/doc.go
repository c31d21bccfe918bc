// Package volume prepares the volumes of the pods a node agent runs and
// turns a container's volumeMounts into CRI mounts.
//
// Every volume the agent manages lives under the pods dir, laid out as
// upstream's kubelet lays out /var/lib/kubelet/pods:
//
//	<PodsDir>/<pod uid>/volumes/kubernetes.io~empty-dir/<volume name>
//	<PodsDir>/<pod uid>/volumes/kubernetes.io~configmap/<volume name>
//	...
//
// hostPath and persistentVolumeClaim volumes (local or hostPath
// PersistentVolumes) are host directories of their own and are used in
// place. configMap, secret, downwardAPI and projected volumes are written
// by an atomic writer (see WriteAtomic): a reader inside a container sees
// either the old or the new set of files, never a mix. Manager.SetUp is
// meant to be called at every pod sync: it is idempotent and rewrites
// those volumes only when their content changed, which is how updates of
// ConfigMaps and Secrets reach running pods.
//
// Secret and projected volumes, and emptyDirs of medium Memory, are
// tmpfs mounts; TearDown unmounts everything under a pod's directory
// before removing it. Mounting goes through the Mounter interface so that
// the logic is testable without root.
//
// Only internal/kubelet uses this package. A Manager is safe for
// concurrent use by different pods; calls for one pod must not overlap
// (the kubelet syncs a pod from one worker at a time).
package volume
