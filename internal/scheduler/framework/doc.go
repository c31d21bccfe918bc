// Package framework defines Skiff's scheduling framework: the extension
// points a plugin implements (PreFilter, Filter, PostFilter, PreScore,
// Score with NormalizeScore, Reserve, Permit, PreBind, Bind), the Status
// every extension point returns, the per-cycle CycleState, and NodeInfo,
// the immutable per-node view of the cluster a cycle reads.
//
//	queue ─▶ PreFilter ─▶ Filter (per node) ─▶ PostFilter (when none fits)
//	                           │
//	                           ▼
//	         PreScore ─▶ Score (per node) ─▶ NormalizeScore ─▶ select host
//	                                                             │
//	   Reserve ─▶ Permit ─▶ (async) PreBind ─▶ Bind ◀────────────┘
//
// A Framework runs the plugins of one profile in configured order. The
// package is pure: it does no I/O and reads no clock. Plugins import only
// this package (and k8s.io API types); internal/scheduler imports both.
//
// NodeInfo values inside a Snapshot must not be modified once the
// snapshot is handed to a cycle; Filter and Score plugins are called
// concurrently for different nodes and must only read CycleState.
package framework
