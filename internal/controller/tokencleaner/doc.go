// Package tokencleaner deletes bootstrap token Secrets
// (kube-system/bootstrap-token-<id>, type bootstrap.kubernetes.io/token)
// once their expiration has passed, as upstream's tokencleaner controller
// does. The API server already refuses expired tokens; this keeps them
// from piling up (`skiff token create` makes 24-hour tokens by default).
//
// It imports internal/controller, internal/auth/bootstraptoken and
// client-go; internal/server builds it.
package tokencleaner
