package apiserver

import (
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRequest(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, method, path string
		want               requestInfo
		ok                 bool
	}{
		{name: "core list", method: "GET", path: "/api/v1/namespaces/default/pods", ok: true,
			want: requestInfo{Version: "v1", Resource: "pods", Namespace: "default", HasNamespaceInPath: true, Verb: "list", IsResource: true, APIPrefix: "api", GroupVersionPath: "/api/v1"}},
		{name: "group get subresource", method: "GET", path: "/apis/apps/v1/namespaces/ns/deployments/web/scale", ok: true,
			want: requestInfo{Group: "apps", Version: "v1", Resource: "deployments", Name: "web", Subresource: "scale", Namespace: "ns", HasNamespaceInPath: true, Verb: "get", IsResource: true, APIPrefix: "apis", GroupVersionPath: "/apis/apps/v1"}},
		{name: "watch", method: "GET", path: "/api/v1/configmaps?watch=true", ok: true,
			want: requestInfo{Version: "v1", Resource: "configmaps", Verb: "watch", IsResource: true, APIPrefix: "api", GroupVersionPath: "/api/v1"}},
		{name: "namespace itself", method: "GET", path: "/api/v1/namespaces/kube-system", ok: true,
			want: requestInfo{Version: "v1", Resource: "namespaces", Name: "kube-system", Verb: "get", IsResource: true, APIPrefix: "api", GroupVersionPath: "/api/v1"}},
		{name: "namespace finalize", method: "PUT", path: "/api/v1/namespaces/x/finalize", ok: true,
			want: requestInfo{Version: "v1", Resource: "namespaces", Name: "x", Subresource: "finalize", Verb: "update", IsResource: true, APIPrefix: "api", GroupVersionPath: "/api/v1"}},
		{name: "delete collection", method: "DELETE", path: "/apis/batch/v1/namespaces/a/jobs", ok: true,
			want: requestInfo{Group: "batch", Version: "v1", Resource: "jobs", Namespace: "a", HasNamespaceInPath: true, Verb: "deletecollection", IsResource: true, APIPrefix: "apis", GroupVersionPath: "/apis/batch/v1"}},
		{name: "discovery is not a resource", method: "GET", path: "/apis/apps", ok: false},
		{name: "health is not a resource", method: "GET", path: "/healthz", ok: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseRequest(httptest.NewRequest(tc.method, tc.path, nil))
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("requestInfo (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseAccept(t *testing.T) {
	t.Parallel()
	got := parseAccept("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;q=0.9, text/html;q=0")
	if len(got) != 2 || got[0].params["as"] != "Table" || got[0].params["g"] != "meta.k8s.io" || got[1].typ != "application/json" {
		t.Errorf("parseAccept = %+v", got)
	}
	if d := parseAccept(""); len(d) != 1 || d[0].typ != "*/*" {
		t.Errorf("empty Accept = %+v, want */*", d)
	}
}
