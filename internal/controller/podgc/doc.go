// Package podgc is the pod garbage collector. Every period it force-deletes
// (grace period 0) pods nobody else will clean up:
//   - terminated pods (Succeeded or Failed) beyond a threshold, evicted
//     ones first, then the oldest;
//   - pods bound to a node that no longer exists, once a quarantine has
//     passed and a live GET confirms the node is gone;
//   - terminating pods never scheduled to a node;
//   - terminating pods on a not-ready node tainted
//     node.kubernetes.io/out-of-service.
//
// A pod not yet finished is first marked Failed (with a DisruptionTarget
// condition for orphans), as upstream does, so its owner sees why it went.
// Only internal/server constructs the controller.
package podgc
