// Package resourcequota keeps status.hard and status.used of
// ResourceQuotas, as upstream's resource quota controller does. It counts
// objects (pods, services, configmaps, secrets, persistentvolumeclaims,
// replicationcontrollers, resourcequotas, and count/<resource>.<group> for
// any listable resource) and sums the compute resources of non-terminal
// pods (requests.cpu, requests.memory, limits.cpu, limits.memory, cpu,
// memory, ephemeral storage, hugepages and extended requests), honouring
// the quota's scopes and scopeSelector for pods. status.used holds only
// the resources status.hard names.
//
// Enforcement (rejecting a create that would exceed a quota) is the API
// server's admission, not this controller's.
//
// Only internal/server constructs the controller.
package resourcequota
