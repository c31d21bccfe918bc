// Package controller is the shared plumbing of Skiff's control loops: the
// canonical informer → workqueue → sync shape (Runner), event recording
// (NewEventRecorder), a Manager that builds and runs a named set of
// controllers from one SharedInformerFactory, and RunElected, which runs
// work only while this process holds a coordination.k8s.io Lease.
//
//	informer events ─▶ handler (key only) ─▶ rate-limited queue ─▶ N workers ─▶ sync(ctx, key)
//	                                               ▲                                  │
//	                                               └── AddRateLimited on error ◀──────┘
//
// Each controller lives in its own sub-package (namespace, serviceaccount,
// rootcacert, …) and imports only this package and client-go; it talks to
// the API server through client-go like any other client. Only
// internal/server constructs controllers and the Manager.
//
// A Runner, a Manager and the recorders are safe for concurrent use. Every
// Run blocks until its context ends and returns only after the goroutines
// it started have ended.
package controller
