// Package streaming forwards HTTP upgrade requests (SPDY/3.1 and
// WebSocket, as kubectl exec, attach and port-forward send them) from one
// server to the next: the API server to a node agent, and the node agent
// to its container runtime's streaming server. It relays the handshake,
// then splices the two upgraded connections byte for byte, so either
// protocol passes through unchanged.
//
// It imports no other Skiff package, so both internal/apiserver and
// internal/kubelet may use it. Every function is safe for concurrent use.
package streaming
