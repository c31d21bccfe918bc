// Package auth decides who may do what until RBAC lands: a fixed policy
// for the built-in groups, shaped as RBAC PolicyRules so that the later
// RBAC authorizer can serve the same rules from ClusterRoles.
//
//	system:masters       everything
//	system:nodes         what a kubelet needs (upstream's system:node role)
//	system:bootstrappers create and read CertificateSigningRequests, and
//	                     ask for node client certificates (nodeclient)
//	system:authenticated the self-review APIs (system:basic-user)
//
// A node may also ask for the renewal of its own client certificate
// (certificatesigningrequests/selfnodeclient), and may change only its own
// Node and node Lease. The rest of upstream's Node authorizer,
// which limits a kubelet to the objects of its own node, comes with RBAC
// (a later issue).
//
// The package is pure and imports only k8s.io/api. internal/apiserver
// calls Authorize for every resource request and for SubjectAccessReviews.
package auth
