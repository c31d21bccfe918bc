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
// restart backoff of crashing containers, as upstream's kubelet keeps it
// (and a cache of sandbox IPs, which never change).
//
// A pod gets its own network namespace unless spec.hostNetwork: the
// runtime creates it with the sandbox and wires it up through CNI (the
// agent configures a bridge on the node's pod CIDR), and the kubelet
// reports the sandbox's IPs as status.podIPs, the node IP as hostIPs (and
// as podIPs of host-network pods), passes hostPort mappings to CNI's
// portmap and sets the pod's hostname and DNS (the node's resolver until
// cluster DNS exists). See network.go. The node is Ready only once the
// runtime reports its network ready.
//
// Only internal/agent constructs a Kubelet. Its methods are safe for
// concurrent use; Run starts goroutines that end when its context does.
package kubelet
