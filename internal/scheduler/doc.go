// Package scheduler is Skiff's pod scheduler: it watches pending pods
// whose spec.schedulerName one of its profiles serves and binds each to
// the best node, through the API only (client-go).
//
//	informers ──▶ Queue (activeQ by priority then age; backoffQ 1s→10s;
//	   │          unschedulable pods, moved back on cluster events)
//	   ▼                     │ Pop
//	 Cache (nodes, bound and │
//	 assumed pods) ──snapshot▶ cycle: PreFilter → Filter (parallel, stop at
//	                           percentageOfNodesToScore, rotating start)
//	                           → Score → select host → assume → Reserve →
//	                           Permit ──go──▶ PreBind → Bind (pods/binding)
//
// A pod that fits nowhere gets a FailedScheduling event and the
// PodScheduled=False condition with upstream's message, and waits in the
// unschedulable set until an event one of its rejecting plugins
// registered (node added or changed, pod deleted…) could help. Before
// that, DefaultPreemption (PostFilter) may pick a node where evicting
// lower-priority pods makes room (fewest PDB violations first); the
// scheduler then evicts them (preemption.go: DisruptionTarget condition,
// graceful delete, Preempted event), writes status.nominatedNodeName and
// keeps the pod in the nominator, so that pods of lower priority see the
// room as taken while the victims terminate.
//
// Volumes: the VolumeBinding plugin (plugins/volumebinding) reads
// claims, volumes and classes through framework.Handle.Volumes, which
// volumes.go implements over the scheduler's informers. Bound claims
// restrict the pod to their volume's nodes; claims of
// WaitForFirstConsumer classes are matched per node to an Available
// volume or to the class's provisioner. In PreBind the scheduler writes
// the volume's claimRef (static) or the claim's
// volume.kubernetes.io/selected-node (provisioning), leaves the rest to
// the PersistentVolume controller and the provisioner, and waits (up to
// bindTimeoutSeconds, 600 s) until every claim is Bound before binding
// the pod. PV, PVC and StorageClass events move rejected pods back.
//
// Borg's techniques (equivalence.go), each on by default and switched off
// in the configuration's skiff section (see config.go); upstream
// configuration files load unchanged:
//
//   - equivalence classes: pods whose filtering depends only on
//     themselves and the node (no pod affinity, no DoNotSchedule spread
//     constraint, no volumes, and no pod in the cluster with required
//     anti-affinity) are hashed on what the filters read (requests,
//     ports, node selector and affinity, tolerations, priority,
//     schedulerName, nodeName). A node's filter status is reused for the
//     class while the node's generation is unchanged. Generations are
//     the cache's global change counter at the node's last change (node
//     update, pod added, assumed, forgotten or removed), so any change to
//     the node invalidates exactly that node. A class's results are kept
//     in slices indexed by the node's slot (NodeInfo.Slot, a small
//     number the cache gives each node and reuses once it is gone), so
//     that a cycle's lookups are neither map accesses nor locked. The
//     class key is an exact encoding of those fields, not a hash.
//   - score caching: the raw scores of node-local score plugins
//     (framework.NodeLocalScorer: NodeResourcesFit,
//     NodeResourcesBalancedAllocation, TaintToleration, NodeAffinity) are
//     kept per class and node generation; plugins whose scores depend on
//     other nodes (PodTopologySpread, InterPodAffinity, ImageLocality) and
//     every NormalizeScore run on each cycle.
//   - relaxed randomization: filtering stops once
//     percentageOfNodesToScore (upstream's adaptive default) feasible
//     nodes are found, starting where the last cycle stopped. Off, every
//     node is filtered and every feasible node scored. Workers filter
//     chunks of nodes in order and the results are read in order, so
//     that which nodes a cycle finds does not depend on the number of
//     workers or their timing.
//
// Binding clears nothing itself: the API server's pods/binding clears
// status.nominatedNodeName, as upstream since 1.35.
//
// Configuration follows KubeSchedulerConfiguration (config.go). Only
// internal/server constructs a Scheduler; it imports scheduler/framework
// and scheduler/plugins. One goroutine runs the cycles; bindings run
// concurrently; Queue and Cache are safe for concurrent use.
package scheduler
