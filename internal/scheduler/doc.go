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
// Configuration follows KubeSchedulerConfiguration (config.go). Only
// internal/server constructs a Scheduler; it imports scheduler/framework
// and scheduler/plugins. One goroutine runs the cycles; bindings run
// concurrently; Queue and Cache are safe for concurrent use.
package scheduler
