// Package serviceendpoint holds what the Endpoints and EndpointSlice
// controllers both derive from a Service's pods: readiness, the address
// and target port of each pod, its hostname, and the
// endpoints.kubernetes.io/last-change-trigger-time of a change. It is
// pure apart from TriggerTimes, which is safe for concurrent use.
package serviceendpoint
