package auth

import (
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Well-known groups.
const (
	MastersGroup       = "system:masters"
	NodesGroup         = "system:nodes"
	BootstrappersGroup = "system:bootstrappers"
	AuthenticatedGroup = "system:authenticated"
)

// Attributes describe one resource request.
type Attributes struct {
	User   string
	Groups []string
	// Verb is the API verb (get, list, watch, create, update, patch,
	// delete, deletecollection).
	Verb string
	// APIGroup is "" for the core group.
	APIGroup    string
	Resource    string
	Subresource string
	Namespace   string
	Name        string
}

var (
	read      = []string{"get", "list", "watch"}
	allVerbs  = []string{rbacv1.VerbAll}
	allGroups = []string{rbacv1.APIGroupAll}
)

func rule(verbs []string, group string, resources ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: verbs, APIGroups: []string{group}, Resources: resources}
}

// NodeRules are the rules of group system:nodes, after upstream's
// system:node ClusterRole: what a kubelet reads and writes.
var NodeRules = []rbacv1.PolicyRule{
	rule([]string{"create"}, "authentication.k8s.io", "tokenreviews"),
	rule([]string{"create"}, "authorization.k8s.io", "subjectaccessreviews", "localsubjectaccessreviews"),
	rule(read, "", "services"),
	rule([]string{"create", "get", "list", "watch", "update", "patch"}, "", "nodes"),
	rule([]string{"update", "patch"}, "", "nodes/status"),
	rule([]string{"create", "update", "patch"}, "", "events"),
	rule([]string{"create", "update", "patch"}, "events.k8s.io", "events"),
	rule(read, "", "pods"),
	rule([]string{"create", "delete"}, "", "pods"),
	rule([]string{"update", "patch"}, "", "pods/status"),
	rule([]string{"create"}, "", "pods/eviction"),
	rule(read, "", "secrets", "configmaps"),
	rule([]string{"get"}, "", "persistentvolumeclaims", "persistentvolumes", "endpoints"),
	rule([]string{"get", "update", "patch"}, "", "persistentvolumeclaims/status"),
	rule([]string{"create"}, "", "serviceaccounts/token"),
	rule([]string{"create", "get", "list", "watch"}, "certificates.k8s.io", "certificatesigningrequests"),
	rule([]string{"create"}, "certificates.k8s.io", "certificatesigningrequests/selfnodeclient"),
	rule([]string{"get", "create", "update", "patch", "delete", "list", "watch"}, "coordination.k8s.io", "leases"),
	rule([]string{"get"}, "storage.k8s.io", "volumeattachments"),
	rule(read, "storage.k8s.io", "csidrivers"),
	rule([]string{"get", "create", "update", "patch", "delete"}, "storage.k8s.io", "csinodes"),
	rule(read, "node.k8s.io", "runtimeclasses"),
}

// BootstrapperRules are the rules of group system:bootstrappers: upstream's
// system:node-bootstrapper role plus the nodeclient permission kubeadm and
// k3s bind to it, which the CSR approver checks.
var BootstrapperRules = []rbacv1.PolicyRule{
	rule([]string{"create", "get", "list", "watch"}, "certificates.k8s.io", "certificatesigningrequests"),
	rule([]string{"create"}, "certificates.k8s.io", "certificatesigningrequests/nodeclient"),
}

// BasicUserRules apply to every authenticated user (system:basic-user).
var BasicUserRules = []rbacv1.PolicyRule{
	rule([]string{"create"}, "authorization.k8s.io", "selfsubjectaccessreviews", "selfsubjectrulesreviews"),
	rule([]string{"create"}, "authentication.k8s.io", "selfsubjectreviews"),
}

var masterRules = []rbacv1.PolicyRule{{Verbs: allVerbs, APIGroups: allGroups, Resources: []string{rbacv1.ResourceAll}}}

// RulesFor returns the rules that apply to a user in groups.
func RulesFor(groups []string) []rbacv1.PolicyRule {
	if slices.Contains(groups, MastersGroup) {
		return masterRules
	}
	var out []rbacv1.PolicyRule
	if slices.Contains(groups, AuthenticatedGroup) {
		out = append(out, BasicUserRules...)
	}
	if slices.Contains(groups, NodesGroup) {
		out = append(out, NodeRules...)
	}
	if slices.Contains(groups, BootstrappersGroup) {
		out = append(out, BootstrapperRules...)
	}
	return out
}

// Authorize reports whether a is allowed.
func Authorize(a Attributes) bool {
	for _, r := range RulesFor(a.Groups) {
		if Allows(r, a) {
			return !deniedToNode(a)
		}
	}
	return false
}

// NodeUserPrefix starts the user name of every node (system:node:<name>).
const NodeUserPrefix = "system:node:"

// deniedToNode is the part of upstream's NodeRestriction that needs no
// object: a node may change only its own Node and its own heartbeat Lease.
// (Creates carry the name in the body and are not checked here.)
func deniedToNode(a Attributes) bool {
	node, ok := strings.CutPrefix(a.User, NodeUserPrefix)
	if !ok || !slices.Contains(a.Groups, NodesGroup) || slices.Contains(a.Groups, MastersGroup) || a.Name == "" {
		return false
	}
	switch a.Verb {
	case "update", "patch", "delete":
	default:
		return false
	}
	switch {
	case a.APIGroup == "" && a.Resource == "nodes":
		return a.Name != node
	case a.APIGroup == "coordination.k8s.io" && a.Resource == "leases" && a.Namespace == "kube-node-lease":
		return a.Name != node
	}
	return false
}

// Allows reports whether rule r allows a, with RBAC's matching: "*"
// matches any verb, group or resource, "res/*" any subresource of res,
// and ResourceNames (when set) restrict by name.
func Allows(r rbacv1.PolicyRule, a Attributes) bool {
	if !matches(r.Verbs, a.Verb) || !matches(r.APIGroups, a.APIGroup) {
		return false
	}
	res := a.Resource
	if a.Subresource != "" {
		res += "/" + a.Subresource
	}
	ok := false
	for _, rr := range r.Resources {
		if rr == rbacv1.ResourceAll || rr == res || a.Subresource != "" && rr == a.Resource+"/*" {
			ok = true
			break
		}
	}
	if !ok {
		return false
	}
	return len(r.ResourceNames) == 0 || slices.Contains(r.ResourceNames, a.Name)
}

func matches(list []string, v string) bool {
	return slices.Contains(list, "*") || slices.Contains(list, v)
}
