// Package bootstraptoken holds Skiff's join tokens: their text format, the
// kube-system Secrets that make the API server accept them, and the check
// that turns a presented bearer token into a bootstrap identity.
//
// A join token has two parts. The credential is a kubeadm bootstrap token,
// "<id>.<secret>" (6 and 16 characters of [a-z0-9]); the agent presents it
// as "Authorization: Bearer <id>.<secret>" and is then the user
// system:bootstrap:<id> in group system:bootstrappers. The full join token
// also pins the cluster's serving CA, the way kubeadm's
// --discovery-token-ca-cert-hash does:
//
//	K10<64 hex: SHA-256 of the server CA's SubjectPublicKeyInfo>::<id>.<secret>
//
// so an agent that was given only the token can fetch the CA over an
// unverified connection and still refuse a CA that is not the cluster's
// (docs/adr/0004-join.md).
//
// The package is pure (no I/O besides crypto/rand in Generate) and imports
// only k8s.io/api and apimachinery. internal/server, internal/agent and
// internal/cli use it.
package bootstraptoken
