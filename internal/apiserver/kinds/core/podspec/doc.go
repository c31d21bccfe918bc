// Package podspec holds the defaulting and validation of core/v1 PodSpecs
// and PodTemplateSpecs shared by every kind that embeds a pod template:
// Pods, PodTemplates, ReplicationControllers, Deployments, ReplicaSets,
// StatefulSets, DaemonSets, Jobs and CronJobs.
//
// Default and DefaultTemplate apply the defaults of the versioned core/v1
// types (what upstream's generated defaulters plus SetDefaults_PodSpec do);
// defaults upstream applies to Pods only (enableServiceLinks, requests
// copied from limits) live in the pod kind. Validate and ValidateTemplate
// return field errors with upstream's paths and messages; rules that depend
// on the owning kind (for example "restartPolicy must be Always" for
// Deployments) are the owner's business.
//
// The package is pure: no I/O, no clock. Any kind strategy may import it.
// Its functions are safe for concurrent use on distinct objects.
package podspec
