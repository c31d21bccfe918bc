// Package csrapproving is the CertificateSigningRequest approver: a
// request for a kubelet client certificate (signer
// kubernetes.io/kube-apiserver-client-kubelet, CN system:node:<name>, O
// system:nodes) is approved when its requester may create
// certificatesigningrequests/nodeclient (a new node, as a bootstrap token
// user) or, for its own name, certificatesigningrequests/selfnodeclient (a
// node renewing), which the controller asks the API server with a
// SubjectAccessReview, as upstream's csrapproving controller does. Other
// requests are left for an administrator (`kubectl certificate approve`).
//
// It imports only internal/controller and client-go; internal/server
// builds it.
package csrapproving
