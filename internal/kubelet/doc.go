// Package kubelet is Skiff's node agent core: it registers its Node,
// renews the node's Lease, and runs the pods bound to the node through a
// CRI runtime (package cri), reporting their status back to the API.
//
//	API (client-go) ──informer(spec.nodeName=N)──▶ queue ──▶ syncPod(pod)
//	                                                     │
//	   pod status ◀── computePodStatus ◀── CRI state ◀───┘ RunPodSandbox,
//	                                                       Create/Start/StopContainer
//
// Every sync reads the runtime's sandboxes and containers (found by the
// io.kubernetes.pod.uid and io.kubernetes.container.name labels) and moves
// the pod one step toward its spec, so a restarted agent re-adopts running
// containers instead of restarting them. The only in-memory state is the
// restart backoff of crashing containers, as upstream's kubelet keeps it.
//
// This first slice runs every pod in the node's network namespace (host
// network) and reports the node IP as the pod IP, whatever
// spec.hostNetwork says: pod networking through CNI comes later. Volumes,
// probes, init containers, lifecycle hooks and resources are not handled
// yet.
//
// Only internal/agent constructs a Kubelet. Its methods are safe for
// concurrent use; Run starts goroutines that end when its context does.
package kubelet
