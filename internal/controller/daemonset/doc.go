// Package daemonset is the DaemonSet controller: it keeps one pod of each
// apps/v1 DaemonSet on every node that should run it, creates one for
// each node that joins or starts matching, and removes pods from nodes
// that leave or stop matching.
//
// A node should run a daemon pod when the pod's nodeSelector and required
// node affinity match it and every NoSchedule and NoExecute taint of the
// node is tolerated; a pod already there may stay as long as only
// NoSchedule taints are untolerated. Daemon pods get upstream's default
// tolerations (not-ready and unreachable NoExecute without a time limit,
// disk-, memory- and pid-pressure and unschedulable NoSchedule, and
// network-unavailable for host-network pods) and a required node affinity
// on metadata.name, so that the scheduler binds each to its node.
//
// Each template is recorded as a ControllerRevision named <ds>-<hash>;
// pods carry the hash in controller-revision-hash and the set's
// generation in pod-template-generation. The RollingUpdate strategy
// replaces old pods within maxUnavailable, or, with maxSurge, starts the
// new pod beside the old one and removes the old one once the new is
// available; OnDelete leaves replacement to the user.
//
//	sync(key): claim pods ─▶ revision ─▶ per node: create / delete ─▶
//	           rolling update ─▶ status
//
// Only internal/server constructs the controller. It imports
// internal/controller and client-go only. A Controller is safe for
// concurrent use; one key is never synced by two workers at once.
package daemonset
