// Package cgroups keeps the node's pod cgroup hierarchy with the cgroupfs
// driver, on cgroup v1 or v2:
//
//	/skiff-<node>/kubepods                  node allocatable (cpu, memory)
//	/skiff-<node>/kubepods/pod<uid>         Guaranteed pods
//	/skiff-<node>/kubepods/burstable/pod<uid>
//	/skiff-<node>/kubepods/besteffort/pod<uid>
//
// The agent passes a pod's cgroup as the sandbox's CgroupParent, so the
// runtime (runc through containerd, with SystemdCgroup = false) puts the
// pause container and every container of the pod below it. The node's
// name in the root keeps several agents on one machine apart.
//
// A Manager is safe for concurrent use. Only internal/kubelet (and tests
// cleaning up after a node) use it.
package cgroups
