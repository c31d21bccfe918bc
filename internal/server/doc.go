// Package server is the composition root of `skiff server`: it creates the
// certificates, starts (or connects to) etcd, builds the API server over
// it, serves HTTPS, bootstraps the cluster's built-in objects through the
// API and writes the admin kubeconfig. It then runs the controllers and the
// scheduler under one leader-election Lease (controllers.go, scheduler.go)
// and, unless --disable-agent, containerd and the node agent for its own
// node (agent.go).
//
// Only internal/cli imports this package. Run blocks until its context
// ends and then stops everything it started, in reverse order.
package server
