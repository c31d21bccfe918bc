// Package statefulset is the StatefulSet controller: it keeps, for each
// apps/v1 StatefulSet, one pod per ordinal named <set>-<ordinal> with a
// stable hostname (the pod name) and subdomain (spec.serviceName), and one
// PersistentVolumeClaim per volumeClaimTemplate and ordinal named
// <template>-<set>-<ordinal>.
//
// Under the OrderedReady pod management policy pods are created one at a
// time in ordinal order, each waiting for its predecessors to be Running
// and Ready, and removed in reverse order; under Parallel they are created
// and removed all at once. Each distinct pod template is recorded as a
// ControllerRevision named <set>-<hash>; status.currentRevision and
// status.updateRevision name the old and the new one during an update.
// The RollingUpdate strategy replaces pods from the highest ordinal down
// to spec.updateStrategy.rollingUpdate.partition, one at a time; OnDelete
// leaves replacement to the user. persistentVolumeClaimRetentionPolicy is
// applied through owner references on the claims, so the garbage
// collector deletes them when the set is deleted or scaled down.
//
//	sync(key): claim pods ─▶ revisions ─▶ create/repair in order ─▶
//	           remove condemned (reverse) ─▶ rolling update ─▶ status
//
// Only internal/server constructs the controller. It imports
// internal/controller and client-go only. A Controller is safe for
// concurrent use; one key is never synced by two workers at once.
package statefulset
