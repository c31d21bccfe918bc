// Package nodelifecycle watches node heartbeats and acts on nodes that
// stop sending them, as upstream's node lifecycle and taint-eviction
// controllers do.
//
// Controller (name "nodelifecycle") keeps, in memory, when it last saw
// each node heartbeat: a renewal of the node's Lease in kube-node-lease
// or a new lastHeartbeatTime on its Ready condition. Every MonitorPeriod
// it sets the Ready, MemoryPressure, DiskPressure and PIDPressure
// conditions of nodes silent for longer than GracePeriod to Unknown
// (reason NodeStatusUnknown). Per node it then keeps the taints that
// follow from the conditions: node.kubernetes.io/unreachable (Ready
// Unknown) or node.kubernetes.io/not-ready (Ready False) with effects
// NoSchedule and NoExecute, the pressure taints and unschedulable. NoExecute
// taints are added at EvictionRate nodes per second per zone (the
// SecondaryEvictionRate in a large zone that is mostly down, none in a
// small one), and none while every zone is down, which is a control-plane
// partition more likely than a dead cluster. Pods on a node whose Ready
// is not True are marked Ready=False.
//
// TaintEviction (name "taint-eviction-controller") deletes pods on nodes
// with NoExecute taints they do not tolerate, or once the smallest
// tolerationSeconds of the tolerations they use has run out, counted from
// when it first saw the pod under the taints (upstream's semantics). It
// records TaintManagerEviction events.
//
// Only internal/server constructs the controllers. Both take a clock, so
// tests drive them without sleeping.
package nodelifecycle
