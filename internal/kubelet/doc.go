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
// restart backoff of crashing containers and the probes' results, as
// upstream's kubelet keeps them (and a cache of sandbox IPs, which never
// change).
//
// Pod lifecycle follows upstream's: init containers run one at a time,
// each to success, before the app containers (sidecars, init containers
// with restartPolicy Always, keep running beside them and are stopped
// last); exited containers restart as restartPolicy says, with a
// CrashLoopBackOff of 10 s doubling to 5 min. Package prober runs the
// liveness, readiness and startup probes; their verdicts make containers
// ready and started, and a liveness or startup failure kills the
// container. Stopping a container runs its preStop hook within the grace
// period, then StopContainer with what remains (SIGTERM, then SIGKILL);
// stops that may take a grace period (deletion, liveness failure,
// activeDeadlineSeconds) run in a background task per pod (tasks.go).
// postStart runs right after the start; the termination message is a
// file of the pod's directory mounted at terminationMessagePath
// (termination.go). The kubelet records upstream's pod events (Pulled,
// Created, Started, Killing, BackOff, Unhealthy, ...) as "kubelet" on
// the node.
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
// Resources follow upstream's cgroupfs driver: each pod gets a cgroup
// under the node's /skiff-<node>/kubepods (by QoS class, package
// cgroups) limited as its class says, passed as the sandbox's cgroup
// parent, and each container cpu shares, CFS quota, a memory limit and an
// OOM score adjustment (package qos). Static pods come from the agent's
// pod-manifests directory (package staticpod), run like API pods, and are
// reflected in the API as mirror pods carrying their status (static.go).
//
// Volumes (package volume) are set up before the sandbox and again at
// every sync, under PodsDir/<uid>/volumes as upstream lays them out: a
// volume that fails keeps the pod in ContainerCreating with a FailedMount
// event, and configMap, secret, downwardAPI and projected files are
// rewritten atomically when their sources change (ConfigMaps and Secrets
// are fetched with a few seconds' cache). A container's environment
// (env.go: values with $(VAR) expansion, downward API fields and
// resources, ConfigMap and Secret keys, envFrom, the service link
// variables) and mounts are resolved when it is created; a missing
// reference keeps it waiting in CreateContainerConfigError. Volumes are
// unmounted and removed with the pod.
//
// Only internal/agent constructs a Kubelet. Its methods are safe for
// concurrent use; Run starts goroutines that end when its context does.
package kubelet
