package auth

import "testing"

func TestAuthorize(t *testing.T) {
	t.Parallel()
	node := []string{NodesGroup, AuthenticatedGroup}
	boot := []string{BootstrappersGroup, AuthenticatedGroup}
	user := []string{AuthenticatedGroup}
	cases := []struct {
		name   string
		groups []string
		a      Attributes
		want   bool
	}{
		{"master deletes namespaces", []string{MastersGroup}, Attributes{Verb: "delete", Resource: "namespaces"}, true},
		{"node registers", node, Attributes{Verb: "create", Resource: "nodes"}, true},
		{"node posts status", node, Attributes{Verb: "patch", Resource: "nodes", Subresource: "status"}, true},
		{"node deletes a node", node, Attributes{Verb: "delete", Resource: "nodes"}, false},
		{"node watches pods", node, Attributes{Verb: "watch", Resource: "pods"}, true},
		{"node updates pod status", node, Attributes{Verb: "update", Resource: "pods", Subresource: "status"}, true},
		{"node updates a pod spec", node, Attributes{Verb: "update", Resource: "pods"}, false},
		{"node deletes a mirror pod", node, Attributes{Verb: "delete", Resource: "pods"}, true},
		{"node renews its lease", node, Attributes{Verb: "update", APIGroup: "coordination.k8s.io", Resource: "leases", Namespace: "kube-node-lease"}, true},
		{"node reads a secret", node, Attributes{Verb: "get", Resource: "secrets", Namespace: "default"}, true},
		{"node writes a secret", node, Attributes{Verb: "create", Resource: "secrets"}, false},
		{"node requests a token", node, Attributes{Verb: "create", Resource: "serviceaccounts", Subresource: "token"}, true},
		{"node deletes namespaces", node, Attributes{Verb: "delete", Resource: "namespaces"}, false},
		{"node creates deployments", node, Attributes{Verb: "create", APIGroup: "apps", Resource: "deployments"}, false},
		{"node renews its certificate", node, Attributes{Verb: "create", APIGroup: "certificates.k8s.io", Resource: "certificatesigningrequests", Subresource: "selfnodeclient"}, true},
		{"node bootstraps another node", node, Attributes{Verb: "create", APIGroup: "certificates.k8s.io", Resource: "certificatesigningrequests", Subresource: "nodeclient"}, false},
		{"bootstrapper creates a csr", boot, Attributes{Verb: "create", APIGroup: "certificates.k8s.io", Resource: "certificatesigningrequests"}, true},
		{"bootstrapper watches csrs", boot, Attributes{Verb: "watch", APIGroup: "certificates.k8s.io", Resource: "certificatesigningrequests"}, true},
		{"bootstrapper asks nodeclient", boot, Attributes{Verb: "create", APIGroup: "certificates.k8s.io", Resource: "certificatesigningrequests", Subresource: "nodeclient"}, true},
		{"bootstrapper approves", boot, Attributes{Verb: "update", APIGroup: "certificates.k8s.io", Resource: "certificatesigningrequests", Subresource: "approval"}, false},
		{"bootstrapper lists pods", boot, Attributes{Verb: "list", Resource: "pods"}, false},
		{"bootstrapper creates a node", boot, Attributes{Verb: "create", Resource: "nodes"}, false},
		{"user reviews itself", user, Attributes{Verb: "create", APIGroup: "authorization.k8s.io", Resource: "selfsubjectaccessreviews"}, true},
		{"user binds a pod", user, Attributes{Verb: "create", Resource: "bindings"}, false},
		{"node patches another node", node, Attributes{User: "system:node:n1", Verb: "patch", Resource: "nodes", Subresource: "status", Name: "n2"}, false},
		{"node patches itself", node, Attributes{User: "system:node:n1", Verb: "patch", Resource: "nodes", Subresource: "status", Name: "n1"}, true},
		{"node renews another's lease", node, Attributes{User: "system:node:n1", Verb: "update", APIGroup: "coordination.k8s.io", Resource: "leases", Namespace: "kube-node-lease", Name: "n2"}, false},
		{"node reads another node", node, Attributes{User: "system:node:n1", Verb: "get", Resource: "nodes", Name: "n2"}, true},
		{"no groups", nil, Attributes{Verb: "create", APIGroup: "authentication.k8s.io", Resource: "selfsubjectreviews"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.a
			a.Groups = tc.groups
			if got := Authorize(a); got != tc.want {
				t.Errorf("Authorize(%+v) = %v, want %v", a, got, tc.want)
			}
		})
	}
}

func TestAllowsWildcards(t *testing.T) {
	t.Parallel()
	r := rule([]string{"get"}, "", "pods/*")
	if !Allows(r, Attributes{Verb: "get", Resource: "pods", Subresource: "log"}) {
		t.Error("pods/* does not match pods/log")
	}
	if Allows(r, Attributes{Verb: "get", Resource: "pods"}) {
		t.Error("pods/* matches pods")
	}
	named := rule([]string{"get"}, "", "configmaps")
	named.ResourceNames = []string{"a"}
	if Allows(named, Attributes{Verb: "get", Resource: "configmaps", Name: "b"}) || !Allows(named, Attributes{Verb: "get", Resource: "configmaps", Name: "a"}) {
		t.Error("resourceNames not honoured")
	}
}
