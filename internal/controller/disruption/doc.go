// Package disruption keeps the status of PodDisruptionBudgets, as
// upstream's disruption controller does: expectedPods, currentHealthy,
// desiredHealthy, disruptionsAllowed, observedGeneration, the
// DisruptionAllowed condition (SufficientPods or InsufficientPods, or
// SyncFailed when the budget cannot be computed) and the expiry of
// disruptedPods entries the API server's eviction subresource records.
//
// minAvailable as a number counts the matching pods; maxUnavailable and
// a percentage minAvailable are resolved against the scale of the pods'
// controllers (a Deployment through its ReplicaSet, a ReplicaSet, a
// StatefulSet, a ReplicationController). The eviction subresource spends
// disruptionsAllowed; this controller only recomputes it.
//
// Only internal/server constructs the controller.
package disruption
