// Package apiserver serves the Kubernetes REST API over a storage.Store:
// discovery, the verbs (get, list, watch, create, update, patch, delete,
// deletecollection) and subresources of every kind in kinds, tables for
// kubectl, health endpoints and metrics.
//
//	request ─▶ authn ─▶ route (requestInfo) ─▶ resource handler ─▶ strategy ─▶ storage.Store
//	                                                   │
//	                                                   └─▶ negotiate (json, yaml, protobuf, Table)
//
// Errors from storage and strategies become a metav1.Status here, once.
// Only internal/server imports this package. A Server is safe for
// concurrent use.
package apiserver
