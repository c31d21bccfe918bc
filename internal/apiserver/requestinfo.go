package apiserver

import (
	"net/http"
	"strings"
)

// requestInfo is what a resource request's method and path say.
type requestInfo struct {
	Group, Version              string
	Resource, Subresource       string
	Namespace, Name             string
	Verb                        string
	IsResource                  bool
	HasNamespaceInPath          bool
	APIPrefix, GroupVersionPath string
}

// parseRequest reads a resource request such as
// /apis/apps/v1/namespaces/default/deployments/web/scale. It reports
// false for paths that are not resource requests (discovery, health).
func parseRequest(r *http.Request) (requestInfo, bool) {
	var ri requestInfo
	parts := splitPath(r.URL.Path)
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		ri.APIPrefix, ri.Version = "api", parts[1]
		ri.GroupVersionPath = "/api/" + parts[1]
		parts = parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		ri.APIPrefix, ri.Group, ri.Version = "apis", parts[1], parts[2]
		ri.GroupVersionPath = "/apis/" + parts[1] + "/" + parts[2]
		parts = parts[3:]
	default:
		return ri, false
	}
	ri.IsResource = true
	if parts[0] == "namespaces" && len(parts) >= 3 {
		ri.Namespace, ri.HasNamespaceInPath = parts[1], true
		parts = parts[2:]
		// /api/v1/namespaces/{name}/status and /finalize are subresources
		// of the namespace itself.
		if len(parts) == 1 && ri.Group == "" && (parts[0] == "status" || parts[0] == "finalize") {
			ri.Resource, ri.Name, ri.Subresource = "namespaces", ri.Namespace, parts[0]
			ri.Namespace, ri.HasNamespaceInPath = "", false
			parts = nil
		}
	}
	if len(parts) > 0 {
		ri.Resource = parts[0]
	}
	if len(parts) > 1 {
		ri.Name = parts[1]
	}
	if len(parts) > 2 {
		ri.Subresource = strings.Join(parts[2:], "/")
	}
	ri.Verb = verbFor(r, ri.Name != "")
	return ri, true
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func verbFor(r *http.Request, named bool) string {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if w := r.URL.Query().Get("watch"); w == "true" || w == "1" {
			return "watch"
		}
		if named {
			return "get"
		}
		return "list"
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		if named {
			return "delete"
		}
		return "deletecollection"
	}
	return ""
}
