// Package serviceaccount is the service account controller: every active
// namespace gets the ServiceAccounts it should have (a "default" one),
// created again if deleted, as upstream's serviceaccount controller does.
// Terminating namespaces are left alone.
//
// It imports only internal/controller and client-go; internal/server
// builds it.
package serviceaccount
