// Package pki creates and keeps the certificates of `skiff server` and
// writes kubeconfig files for the clients that use them.
//
// Ensure owns one directory (normally <data-dir>/server/tls). On first start
// it generates, all with ECDSA P-256 keys:
//
//	server-ca.crt/.key           CA that signs serving certificates (10 years)
//	client-ca.crt/.key           CA that signs client certificates (10 years)
//	serving.crt/.key             the API server's certificate (1 year)
//	client-admin.crt/.key        CN=system:admin, O=system:masters (1 year)
//	client-controller.crt/.key   CN=system:skiff-controller, O=system:masters
//
// On later starts it loads what exists. A CA that is present is never
// regenerated. The serving certificate is reissued when it no longer covers
// the names asked for (a new --tls-san, a new host address), expires within
// 90 days, or no longer chains to the server CA; client certificates are
// reissued under the same rules, minus the SAN check. Keys are written with
// mode 0600, certificates 0644, each file atomically (temp file + rename).
//
// The core type is Bundle, the loaded state: CA pools for tls.Config, the
// serving tls.Certificate, file paths for in-process clients, and IssueClient
// and ClientCertFor for further client certificates (agents, components).
// WriteKubeconfig writes a standard kubeconfig, and CAHash computes the CA
// pin that join tokens carry, as kubeadm's --discovery-token-ca-cert-hash.
//
// The package uses only the standard library's crypto and sigs.k8s.io/yaml.
// It is a foundation: internal/server, internal/agent and internal/cli may
// import it; components get certificates from their composition root.
// A Bundle is safe for concurrent use; Ensure must not run concurrently on
// the same directory (one server process owns it).
package pki
