// Package nodesim simulates Kubernetes nodes without containers, as kwok
// does, for controller and scheduler tests and for scale benchmarks. It
// talks to the API server only through client-go.
//
// A Simulator registers Nodes that look like a kubelet's (well-known
// labels, capacity, a pod CIDR, InternalIP, nodeInfo with kubeletVersion
// v1.37.2, the four conditions with the kubelet's reasons), renews one
// coordination.k8s.io Lease per node in kube-node-lease every
// HeartbeatInterval, and refreshes the conditions' lastHeartbeatTime every
// StatusInterval (5 minutes by default), as a kubelet with node leases
// does. For pods bound to its nodes (spec.nodeName) it plays the
// kubelet's part: Pending in ContainerCreating for PodStartDelay, then
// Running with a pod IP from the node's CIDR, container statuses and the
// kubelet's conditions; exits, restarts, readiness and deletion follow the
// conventions below.
//
//	sim, err := nodesim.New(nodesim.Config{Client: cs, Count: 3})
//	go sim.Run(ctx)
//	<-sim.Ready()
//
// # Cost
//
// One process can run thousands of nodes: one shared pod informer (all
// bound pods, indexed by node) and one workqueue serve every node, one
// timer drives every heartbeat from a heap, and the first heartbeats of
// nodes are spread over the period (golden-ratio offsets) so that renewals
// arrive at an even rate. Use NewClient for a client without a rate
// limit.
//
// # Conventions for pods
//
// Exit: a container exits when its command line (command followed by
// args) is `true`, `false`, `sleep N`, `exit N`, or a `sh -c` (bash -c)
// script made only of those (and echo, printf, :) joined by ";", "&&" or
// newlines. It exits after the sum of its sleeps, with the code of its
// exit statement or last command: ["sh","-c","sleep 5; exit 3"] runs 5s
// and exits 3. Anything else (no command, a server, `sleep infinity`)
// runs until the pod is deleted. The pod annotation
// nodesim.skiff.dev/exit-code (with nodesim.skiff.dev/run-for, a Go
// duration) overrides this for every container. A container that exits is
// terminated with reason Completed (code 0) or Error; whether it restarts
// follows the pod's restartPolicy (Always: yes; OnFailure: on a non-zero
// code; Never: no), with the kubelet's back-off (first restart at once,
// then 10s doubling to 5m, CrashLoopBackOff meanwhile). When every
// container has terminated for good the pod is Succeeded (all codes 0) or
// Failed.
//
// Readiness: a container is started when its startup probe (if any)
// passes and ready when its readiness probe passes. An exec probe whose
// command fails under the same convention (["false"],
// ["sh","-c","exit 1"]) never passes; every other probe (httpGet,
// tcpSocket, grpc, other commands) passes initialDelaySeconds (plus
// successThreshold-1 periods) after the container started, measured on
// the Config.Clock. The pod annotation nodesim.skiff.dev/ready "true" or
// "false" forces readiness, and Simulator.SetReady wins over both.
// Readiness gates are honoured: Ready waits for their conditions.
//
// Init containers complete at once with code 0. Liveness probes are not
// simulated.
//
// Deletion: a pod with a deletionTimestamp is stopped at once (running
// containers terminate with code 137, the pod turns Failed, or Succeeded
// if every container had already exited 0) and then deleted with
// gracePeriodSeconds=0 and a UID precondition, as the kubelet does once
// its containers are gone.
//
// Stop(node) pauses a node like a dead kubelet (no Lease renewals, no
// status, pods untouched); Resume(node) brings it back at once.
//
// Node InternalIPs come from 127.100.0.0/16 by default so that any
// connection to a simulated node stays on this machine.
//
// All methods of Simulator are safe for concurrent use. Run blocks until
// its context ends and waits for every goroutine it started. Any package
// may import nodesim; it imports only client-go and internal/controller.
package nodesim
