package apiserver

import (
	"net/http"
	"sort"
	"strings"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	apidiscoveryv2beta1 "k8s.io/api/apidiscovery/v2beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
)

// discoveryEntry is one resource (or subresource) as discovery lists it.
type discoveryEntry struct {
	gv           schema.GroupVersion
	res          metav1.APIResource
	subresources []metav1.APIResource
}

// discoveryEntries lists what every group version serves, sorted by name.
func (s *Server) discoveryEntries() (order []schema.GroupVersion, byGV map[schema.GroupVersion][]discoveryEntry) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	byGV = map[schema.GroupVersion][]discoveryEntry{}
	for _, r := range s.resources {
		k := r.kind
		e := discoveryEntry{gv: k.GVK.GroupVersion(), res: metav1.APIResource{
			Name: k.Resource, SingularName: k.Singular, Namespaced: k.Namespaced, Kind: k.GVK.Kind,
			Verbs: metav1.Verbs(k.AllVerbs()), ShortNames: k.ShortNames, Categories: k.Categories,
		}}
		sub := func(name, verbs string, gvk schema.GroupVersionKind) {
			e.subresources = append(e.subresources, metav1.APIResource{
				Name: k.Resource + "/" + name, Namespaced: k.Namespaced, Group: gvk.Group, Version: gvk.Version,
				Kind: gvk.Kind, Verbs: strings.Split(verbs, ","),
			})
		}
		if k.HasStatus {
			sub("status", "get,patch,update", k.GVK)
		}
		if k.Scale != nil {
			sub("scale", "get,patch,update", schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"})
		}
		switch k.GroupResource() {
		case schema.GroupResource{Resource: "pods"}:
			sub("binding", "create", schema.GroupVersionKind{Version: "v1", Kind: "Binding"})
			sub("eviction", "create", schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "Eviction"})
			sub("log", "get", k.GVK)
			sub("exec", "create,get", schema.GroupVersionKind{Version: "v1", Kind: "PodExecOptions"})
			sub("attach", "create,get", schema.GroupVersionKind{Version: "v1", Kind: "PodAttachOptions"})
			sub("portforward", "create,get", schema.GroupVersionKind{Version: "v1", Kind: "PodPortForwardOptions"})
		case schema.GroupResource{Resource: "nodes"}:
			sub("proxy", "create,delete,get,patch,update", schema.GroupVersionKind{Version: "v1", Kind: "NodeProxyOptions"})
		case schema.GroupResource{Resource: "namespaces"}:
			sub("finalize", "update", k.GVK)
		case csrGR:
			sub("approval", "get,patch,update", k.GVK)
		}
		byGV[e.gv] = append(byGV[e.gv], e)
	}
	for _, v := range virtualResources {
		byGV[v.gv] = append(byGV[v.gv], discoveryEntry{gv: v.gv, res: v.res})
	}
	for gv := range byGV {
		sort.Slice(byGV[gv], func(i, j int) bool { return byGV[gv][i].res.Name < byGV[gv][j].res.Name })
	}
	order = append(order, s.order...)
	for _, v := range virtualResources {
		if !containsGV(order, v.gv) {
			order = append(order, v.gv)
		}
	}
	return order, byGV
}

func containsGV(l []schema.GroupVersion, gv schema.GroupVersion) bool {
	for _, x := range l {
		if x == gv {
			return true
		}
	}
	return false
}

// groups returns the named groups with their versions, preferred first.
func groupsOf(order []schema.GroupVersion) (names []string, versions map[string][]string) {
	versions = map[string][]string{}
	for _, gv := range order {
		if _, ok := versions[gv.Group]; !ok {
			names = append(names, gv.Group)
		}
		versions[gv.Group] = append(versions[gv.Group], gv.Version)
	}
	sort.SliceStable(names, func(i, j int) bool { return groupPriority(names[i]) > groupPriority(names[j]) })
	for g := range versions {
		sort.SliceStable(versions[g], func(i, j int) bool {
			return version.CompareKubeAwareVersionStrings(versions[g][i], versions[g][j]) > 0
		})
	}
	return names, versions
}

// serveDiscovery answers /api, /apis, /apis/<group> and the resource
// lists of each group version; it reports whether it handled the request.
func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request) bool {
	parts := splitPath(r.URL.Path)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	switch {
	case len(parts) == 1 && (parts[0] == "api" || parts[0] == "apis"):
		if s.serveAggregated(w, r, parts[0] == "api") {
			return true
		}
		order, _ := s.discoveryEntries()
		if parts[0] == "api" {
			s.writeJSON(w, r, http.StatusOK, &metav1.APIVersions{
				TypeMeta:                   metav1.TypeMeta{Kind: "APIVersions"},
				Versions:                   []string{"v1"},
				ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: r.Host}},
			})
			return true
		}
		list := &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}}
		names, versions := groupsOf(order)
		for _, g := range names {
			if g == "" {
				continue
			}
			list.Groups = append(list.Groups, apiGroup(g, versions[g]))
		}
		s.writeJSON(w, r, http.StatusOK, list)
		return true
	case len(parts) == 2 && parts[0] == "apis":
		order, _ := s.discoveryEntries()
		_, versions := groupsOf(order)
		if vs, ok := versions[parts[1]]; ok && parts[1] != "" {
			g := apiGroup(parts[1], vs)
			g.TypeMeta = metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}
			s.writeJSON(w, r, http.StatusOK, &g)
			return true
		}
		return false
	case (len(parts) == 2 && parts[0] == "api") || (len(parts) == 3 && parts[0] == "apis"):
		gv := schema.GroupVersion{Version: parts[1]}
		if parts[0] == "apis" {
			gv = schema.GroupVersion{Group: parts[1], Version: parts[2]}
		}
		_, byGV := s.discoveryEntries()
		entries, ok := byGV[gv]
		if !ok {
			return false
		}
		list := &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: gv.String()}
		for _, e := range entries {
			list.APIResources = append(list.APIResources, e.res)
			list.APIResources = append(list.APIResources, e.subresources...)
		}
		s.writeJSON(w, r, http.StatusOK, list)
		return true
	}
	return false
}

func apiGroup(name string, versions []string) metav1.APIGroup {
	g := metav1.APIGroup{Name: name}
	for _, v := range versions {
		g.Versions = append(g.Versions, metav1.GroupVersionForDiscovery{GroupVersion: name + "/" + v, Version: v})
	}
	g.PreferredVersion = g.Versions[0]
	return g
}

// serveAggregated answers the aggregated discovery document when the
// client asks for it (kubectl 1.26 and later do).
func (s *Server) serveAggregated(w http.ResponseWriter, r *http.Request, legacy bool) bool {
	var ver string
	for _, c := range parseAccept(r.Header.Get("Accept")) {
		if c.params["as"] == "APIGroupDiscoveryList" && c.params["g"] == "apidiscovery.k8s.io" && (c.typ == "application/json" || c.typ == "*/*") {
			if v := c.params["v"]; v == "v2" || v == "v2beta1" {
				ver = v
				break
			}
		}
		if c.params["as"] == "" {
			break
		}
	}
	if ver == "" {
		return false
	}
	order, byGV := s.discoveryEntries()
	names, versions := groupsOf(order)
	list := &apidiscoveryv2.APIGroupDiscoveryList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupDiscoveryList", APIVersion: "apidiscovery.k8s.io/" + ver}}
	for _, g := range names {
		if (g == "") != legacy {
			continue
		}
		gd := apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: g}}
		for _, v := range versions[g] {
			gv := schema.GroupVersion{Group: g, Version: v}
			vd := apidiscoveryv2.APIVersionDiscovery{Version: v, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
			for _, e := range byGV[gv] {
				scope := apidiscoveryv2.ScopeCluster
				if e.res.Namespaced {
					scope = apidiscoveryv2.ScopeNamespace
				}
				rd := apidiscoveryv2.APIResourceDiscovery{
					Resource: e.res.Name, SingularResource: e.res.SingularName, Scope: scope,
					ResponseKind: &metav1.GroupVersionKind{Group: g, Version: v, Kind: e.res.Kind},
					Verbs:        e.res.Verbs, ShortNames: e.res.ShortNames, Categories: e.res.Categories,
				}
				for _, sr := range e.subresources {
					sgv := metav1.GroupVersionKind{Group: sr.Group, Version: sr.Version, Kind: sr.Kind}
					rd.Subresources = append(rd.Subresources, apidiscoveryv2.APISubresourceDiscovery{
						Subresource: strings.TrimPrefix(sr.Name, e.res.Name+"/"), ResponseKind: &sgv, Verbs: sr.Verbs,
					})
				}
				vd.Resources = append(vd.Resources, rd)
			}
			gd.Versions = append(gd.Versions, vd)
		}
		list.Items = append(list.Items, gd)
	}
	var obj runtime.Object = list
	if ver == "v2beta1" {
		b := &apidiscoveryv2beta1.APIGroupDiscoveryList{}
		if err := convertVia(list, b); err != nil {
			s.writeError(w, r, err)
			return true
		}
		b.TypeMeta = metav1.TypeMeta{Kind: "APIGroupDiscoveryList", APIVersion: "apidiscovery.k8s.io/v2beta1"}
		obj = b
	}
	info, _ := s.serializerFor(runtime.ContentTypeJSON)
	w.Header().Set("Vary", "Accept")
	ct := "application/json;g=apidiscovery.k8s.io;v=" + ver + ";as=APIGroupDiscoveryList"
	rec := headerOverride{ResponseWriter: w, contentType: ct}
	s.writeObject(rec, r, output{info: info}, http.StatusOK, obj)
	return true
}

// headerOverride forces a Content-Type set by writeObject.
type headerOverride struct {
	http.ResponseWriter
	contentType string
}

func (h headerOverride) WriteHeader(code int) {
	h.ResponseWriter.Header().Set("Content-Type", h.contentType)
	h.ResponseWriter.WriteHeader(code)
}

func convertVia(in, out interface{}) error {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(in)
	if err != nil {
		return err
	}
	return runtime.DefaultUnstructuredConverter.FromUnstructured(u, out)
}

// groupPriorities order groups in discovery as upstream's
// APIService priorities do; kubectl resolves short names in this order.
var groupPriorities = map[string]int{
	"": 18000, "apiregistration.k8s.io": 17900, "apps": 17800, "events.k8s.io": 17750,
	"authentication.k8s.io": 17700, "authorization.k8s.io": 17600, "autoscaling": 17500,
	"batch": 17400, "certificates.k8s.io": 17300, "networking.k8s.io": 17200, "policy": 17100,
	"rbac.authorization.k8s.io": 17000, "storage.k8s.io": 16800, "admissionregistration.k8s.io": 16700,
	"apiextensions.k8s.io": 16700, "scheduling.k8s.io": 16600, "coordination.k8s.io": 16500,
	"node.k8s.io": 16300, "discovery.k8s.io": 16200, "flowcontrol.apiserver.k8s.io": 16100,
	"resource.k8s.io": 15900,
}

// groupPriority returns a group's discovery priority; custom groups come
// last, in registration order.
func groupPriority(g string) int {
	if p, ok := groupPriorities[g]; ok {
		return p
	}
	return 1000
}
