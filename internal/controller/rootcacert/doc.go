// Package rootcacert is the root CA certificate publisher: every namespace
// gets a ConfigMap "kube-root-ca.crt" whose key ca.crt holds the CA bundle
// that verifies the API server, restored if edited or deleted, as
// upstream's root-ca-cert-publisher does. Pods mount it through projected
// service account volumes.
//
// It imports only internal/controller and client-go; internal/server
// builds it and passes the CA in.
package rootcacert
