// Package nodeipam is the node IPAM controller: it gives every Node a pod
// CIDR (spec.podCIDR and spec.podCIDRs), a block of --node-cidr-mask-size
// bits (/24 for IPv4, /64 for IPv6) cut from the server's --cluster-cidr,
// as upstream's range allocator does. The node agent builds its pod
// network (CNI bridge and host-local IPAM) on that block.
//
// The set of blocks in use lives only in memory: at start, once the Node
// cache has synced, it is rebuilt from the podCIDRs the Nodes already
// carry, so a block is never handed out twice across restarts or
// leadership changes. Deleting a Node releases its block. Allocation
// goes round-robin from the last block handed out, so a released block is
// reused as late as possible. When the range is exhausted the Node gets a
// CIDRNotAvailable event (and CIDRAssignmentFailed when the update
// fails), upstream's reasons, and is retried with backoff.
//
// CIDRSet, the allocator, is pure and safe for concurrent use. Only
// internal/server constructs the controller (through Descriptor).
package nodeipam
