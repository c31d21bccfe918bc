// Package deployment runs the Deployment controller: it rolls a
// Deployment's pod template out through ReplicaSets, as upstream's
// deployment controller does.
//
// Each distinct template gets a ReplicaSet named <deployment>-<hash>, the
// hash (FNV-32a of the template and status.collisionCount) also being its
// pod-template-hash label and selector term. ReplicaSets carry the
// revision, desired-replicas and max-replicas annotations, plus the
// Deployment's own annotations (kubernetes.io/change-cause among them),
// which is what `kubectl rollout history|undo` read.
//
//	sync(key) ─▶ claim ReplicaSets ─▶ paused? scaling event? ─▶ sync (proportional scale)
//	                                   └─▶ Recreate | RollingUpdate ─▶ syncRolloutStatus
//
// The ReplicaSet controller (package replicaset) owns the pods; this
// controller only changes ReplicaSets and Deployment status.
//
// Only internal/server constructs the controller (through Descriptor). A
// Controller is safe for concurrent use.
package deployment
