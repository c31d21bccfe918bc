package framework

import (
	"context"
	"time"

	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
)

// Node scores range from MinNodeScore to MaxNodeScore after
// normalization, before the plugin's weight is applied.
const (
	MinNodeScore int64 = 0
	MaxNodeScore int64 = 100
)

// Plugin is what every plugin is: a name, equal to its registered name.
type Plugin interface {
	Name() string
}

// PreFilterResult narrows the nodes worth filtering; nil NodeNames means
// all nodes.
type PreFilterResult struct {
	NodeNames sets.Set[string]
}

// PreFilterPlugin runs once per cycle before filtering, typically to
// precompute state for Filter. Returning Skip skips the plugin's Filter
// for this pod; a rejection makes every node fail with that status.
type PreFilterPlugin interface {
	Plugin
	PreFilter(ctx context.Context, state *CycleState, pod *v1.Pod, nodes []*NodeInfo) (*PreFilterResult, *Status)
	// PreFilterExtensions returns nil or the incremental updates of the
	// precomputed state used when pods are added or removed hypothetically
	// (nominated pods, preemption).
	PreFilterExtensions() PreFilterExtensions
}

// PreFilterExtensions update a PreFilter's state for a pod added to or
// removed from nodeInfo.
type PreFilterExtensions interface {
	AddPod(ctx context.Context, state *CycleState, pod *v1.Pod, add *PodInfo, nodeInfo *NodeInfo) *Status
	RemovePod(ctx context.Context, state *CycleState, pod *v1.Pod, remove *PodInfo, nodeInfo *NodeInfo) *Status
}

// FilterPlugin judges one node. It is called concurrently for different
// nodes and must not write to state.
type FilterPlugin interface {
	Plugin
	Filter(ctx context.Context, state *CycleState, pod *v1.Pod, nodeInfo *NodeInfo) *Status
}

// NodeToStatus maps node names to the status that rejected them.
type NodeToStatus map[string]*Status

// PostFilterResult is a PostFilter's decision, such as a nominated node.
type PostFilterResult struct {
	NominatedNodeName string
}

// PostFilterPlugin runs when no node passed Filter (preemption).
type PostFilterPlugin interface {
	Plugin
	PostFilter(ctx context.Context, state *CycleState, pod *v1.Pod, filtered NodeToStatus) (*PostFilterResult, *Status)
}

// PreScorePlugin runs once per cycle over the feasible nodes before
// scoring. Skip skips the plugin's Score for this pod.
type PreScorePlugin interface {
	Plugin
	PreScore(ctx context.Context, state *CycleState, pod *v1.Pod, nodes []*NodeInfo) *Status
}

// NodeScore is one node's score.
type NodeScore struct {
	Name  string
	Score int64
}

// NodeScoreList holds the scores of the feasible nodes of one plugin.
type NodeScoreList []NodeScore

// ScorePlugin ranks a feasible node. Score is called concurrently for
// different nodes.
type ScorePlugin interface {
	Plugin
	Score(ctx context.Context, state *CycleState, pod *v1.Pod, nodeInfo *NodeInfo) (int64, *Status)
	// ScoreExtensions returns nil or the plugin's NormalizeScore.
	ScoreExtensions() ScoreExtensions
}

// ScoreExtensions normalizes a plugin's scores into
// [MinNodeScore, MaxNodeScore], in place.
type ScoreExtensions interface {
	NormalizeScore(ctx context.Context, state *CycleState, pod *v1.Pod, scores NodeScoreList) *Status
}

// ReservePlugin is told when a node is chosen (Reserve) and when that
// choice is undone (Unreserve, which must be idempotent).
type ReservePlugin interface {
	Plugin
	Reserve(ctx context.Context, state *CycleState, pod *v1.Pod, nodeName string) *Status
	Unreserve(ctx context.Context, state *CycleState, pod *v1.Pod, nodeName string)
}

// PermitPlugin approves, rejects or delays (Wait, with a timeout) the
// binding of a pod.
type PermitPlugin interface {
	Plugin
	Permit(ctx context.Context, state *CycleState, pod *v1.Pod, nodeName string) (*Status, time.Duration)
}

// PreBindPlugin runs before binding (volumes, for example).
type PreBindPlugin interface {
	Plugin
	PreBind(ctx context.Context, state *CycleState, pod *v1.Pod, nodeName string) *Status
}

// BindPlugin binds a pod to a node. Skip passes the pod to the next
// bind plugin.
type BindPlugin interface {
	Plugin
	Bind(ctx context.Context, state *CycleState, pod *v1.Pod, nodeName string) *Status
}

// ActionType is a kind of change to a cluster object, as a bit set.
type ActionType int

// Actions.
const (
	Add ActionType = 1 << iota
	Delete
	Update
	All = Add | Delete | Update
)

// Resource kinds of ClusterEvents.
const (
	KindNode           = "Node"
	KindPod            = "Pod"
	KindAssignedPod    = "AssignedPod"
	KindPVC            = "PersistentVolumeClaim"
	KindPV             = "PersistentVolume"
	KindNamespace      = "Namespace"
	KindStorageClass   = "StorageClass"
	KindWildCard       = "*"
	KindUnschedulePod  = "UnschedulablePod"
	KindPodDisruptionB = "PodDisruptionBudget"
)

// ClusterEvent is a change that may make unschedulable pods fit.
type ClusterEvent struct {
	Resource   string
	ActionType ActionType
}

// Match reports whether e covers o (same or wildcard kind, overlapping
// actions).
func (e ClusterEvent) Match(o ClusterEvent) bool {
	return (e.Resource == KindWildCard || e.Resource == o.Resource) && e.ActionType&o.ActionType != 0
}

// EnqueueExtensions lists the cluster events after which a pod rejected
// by the plugin is worth retrying. Plugins without it are retried on any
// event.
type EnqueueExtensions interface {
	Plugin
	EventsToRegister() []ClusterEvent
}

// NodeInfoLister reads the cycle's snapshot.
type NodeInfoLister interface {
	// List returns every node, in the snapshot's (zone-interleaved) order.
	List() []*NodeInfo
	// HavePodsWithAffinityList returns the nodes with a pod that has pod
	// (anti-)affinity terms.
	HavePodsWithAffinityList() []*NodeInfo
	// HavePodsWithRequiredAntiAffinityList returns the nodes with a pod
	// that has required anti-affinity terms.
	HavePodsWithRequiredAntiAffinityList() []*NodeInfo
	// Get returns one node or an error.
	Get(name string) (*NodeInfo, error)
	// EachPodCandidate calls fn once with each placed pod that sel may
	// select, and its node. Pods sel does not select may be included, so
	// fn must still match sel (and namespaces) itself; the cost is that
	// of the pods sharing sel's most selective equality requirement, or
	// of every pod when sel has none.
	EachPodCandidate(sel labels.Selector, fn func(pi *PodInfo, ni *NodeInfo))
	// EachTermCandidate calls fn once with each term of kind, of a placed
	// pod ex on node ni, that may select a pod with podLabels (weight is
	// 0 for required terms). Terms that do not select it may be included,
	// so fn must still match the term itself.
	EachTermCandidate(kind TermKind, podLabels map[string]string, fn func(ex *PodInfo, ni *NodeInfo, t *AffinityTerm, weight int32))
	// TopologyValues returns, for each of keys, the set of values it has
	// among the nodes that have all of keys. The sets are shared and must
	// not be modified.
	TopologyValues(keys []string) []map[string]struct{}
}

// Handle is what plugins get from the framework that runs them.
type Handle interface {
	// SnapshotSharedLister returns the snapshot of the current cycle.
	SnapshotSharedLister() NodeInfoLister
	// NamespaceLabels returns a namespace's labels (nil if unknown), for
	// namespaceSelectors.
	NamespaceLabels(ns string) labels.Set
	// DefaultSelector returns the union of the selectors of the Services,
	// ReplicationControllers, ReplicaSets and StatefulSets that select
	// pod (an empty selector when none), for default spreading.
	DefaultSelector(pod *v1.Pod) labels.Selector
	// RunFilterPlugins runs the profile's filters against one node,
	// for plugins (preemption) that try hypothetical node states.
	RunFilterPlugins(ctx context.Context, state *CycleState, pod *v1.Pod, nodeInfo *NodeInfo) *Status
	// RunPreFilterExtensionRemovePod tells PreFilter states that remove
	// was taken off nodeInfo.
	RunPreFilterExtensionRemovePod(ctx context.Context, state *CycleState, pod *v1.Pod, remove *PodInfo, nodeInfo *NodeInfo) *Status
	// RunPreFilterExtensionAddPod tells PreFilter states that add was
	// put on nodeInfo.
	RunPreFilterExtensionAddPod(ctx context.Context, state *CycleState, pod *v1.Pod, add *PodInfo, nodeInfo *NodeInfo) *Status
	// RunFilterPluginsWithNominatedPods runs the filters with the pods
	// nominated to the node at pod's priority or higher counted on it
	// (and, if that passes, once more without them), as upstream.
	RunFilterPluginsWithNominatedPods(ctx context.Context, state *CycleState, pod *v1.Pod, nodeInfo *NodeInfo) *Status
	// NominatedPodsForNode returns the pending pods nominated to a node
	// (by an earlier preemption).
	NominatedPodsForNode(node string) []*PodInfo
	// PodDisruptionBudgets returns the cluster's PodDisruptionBudgets
	// (from an informer; must not be modified).
	PodDisruptionBudgets() []*policyv1.PodDisruptionBudget
	// Preempt carries out a preemption decided by a PostFilter plugin:
	// it evicts the victims gracefully on behalf of preemptor (marking
	// them DisruptionTarget and recording Preempted events) and clears
	// the nomination of clearNominated pods. It is the only I/O a plugin
	// reaches, through the scheduler that owns the framework.
	Preempt(ctx context.Context, preemptor *v1.Pod, node string, victims, clearNominated []*v1.Pod) error
	// Volumes returns the storage objects and the volume binder, or nil
	// when the framework has none (plugin unit tests).
	Volumes() Volumes
}

// PluginFactory builds a plugin from its JSON arguments (nil means the
// defaults) and the handle of the framework that runs it.
type PluginFactory func(args []byte, h Handle) (Plugin, error)

// Registry maps plugin names to factories.
type Registry map[string]PluginFactory
