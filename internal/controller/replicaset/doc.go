// Package replicaset runs the ReplicaSet and ReplicationController
// controllers: one implementation that keeps spec.replicas active pods
// matching each object's selector, as upstream's replicaset and
// replication controllers do.
//
// A ReplicationController is converted to the ReplicaSet shape on the
// way in (its map selector becomes matchLabels) and its status written
// back as a ReplicationController; everything in between is shared.
//
//	pod / RS events ─▶ key ─▶ sync: claim pods (adopt orphans, release
//	non-matching) ─▶ create (slow start) or delete (ranked) ─▶ status
//
// Expectations remember the creations and deletions a sync asked for, so
// the next sync does not act again before the informer has seen them.
//
// Only internal/server constructs these controllers (through Descriptor
// and ReplicationControllerDescriptor). A Controller is safe for
// concurrent use; the Runner never syncs one key on two workers at once.
package replicaset
