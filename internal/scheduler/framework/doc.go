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
// A Snapshot also indexes its pods by label and their affinity terms by
// the labels they may select (EachPodCandidate, EachTermCandidate), so
// that plugins counting matching pods (InterPodAffinity,
// PodTopologySpread) visit the pods that may match rather than all; the
// index is updated with the snapshot (ReplaceNode) between cycles.
//
// NodeInfo values inside a Snapshot must not be modified once the
// snapshot is handed to a cycle; Filter and Score plugins are called
// concurrently for different nodes and must only read CycleState.
package framework
