// Package csrsigning is the CertificateSigningRequest signer: approved
// requests for the signers kubernetes.io/kube-apiserver-client-kubelet
// (node client certificates) and kubernetes.io/kube-apiserver-client get
// status.certificate, signed by the CA the API server trusts for client
// certificates, as upstream's csrsigning controller does. A request that
// breaks its signer's rules gets a Failed condition
// (SignerValidationFailure) instead.
//
// It imports only internal/controller and client-go; internal/server
// builds it and passes the CA in as a Sign function.
package csrsigning
