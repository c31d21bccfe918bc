// Package endpointslice is the EndpointSlice controller: for every Service
// with a selector it keeps discovery.k8s.io/v1 EndpointSlices (IPv4, at
// most 100 endpoints each, named <service>-<random>) listing the selected
// pods with their ready, serving and terminating conditions, grouped so
// that the endpoints of one slice share the same resolved ports.
//
//	Service / Pod / EndpointSlice events ─▶ service key ─▶ sync ─▶ plan (pure) ─▶ create, update, delete slices
//
// The slices carry kubernetes.io/service-name and
// endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io
// and are owned by their Service, so the garbage collector removes them
// with it. Writes are remembered until the informer cache shows them, so
// that a sync never plans from a cache older than its own last write.
// Only internal/server constructs the controller.
package endpointslice
