package openapi

import (
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// route is one URL path with its operations, independent of the OpenAPI
// dialect it is rendered into.
type route struct {
	path   string
	gv     schema.GroupVersion
	params []param // path-level parameters
	ops    []operation
}

type operation struct {
	method   string // lower-case HTTP method
	action   string // x-kubernetes-action
	id       string
	desc     string
	tag      string
	gvk      *schema.GroupVersionKind
	body     string // request body definition; "" for none
	response string // success response definition; "" for a plain string
	codes    []int  // success status codes
	params   []param
	consumes []string
	produces []string
}

type param struct {
	name     string
	in       string // path, query or body
	typ      string // string, boolean or integer
	desc     string
	required bool
}

var (
	mediaTypes     = []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf"}
	watchMedia     = []string{"application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch"}
	customMedia    = []string{"application/json", "application/yaml"}
	customWatch    = []string{"application/json;stream=watch"}
	patchMedia     = []string{"application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json", "application/apply-patch+yaml"}
	customPatch    = []string{"application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"}
	anyMedia       = []string{"*/*"}
	textMedia      = []string{"text/plain"}
	statusDef      = "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
	deleteOptsDef  = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"
	patchDef       = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
	resourceLstDef = "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList"
)

var (
	prettyParam = param{name: "pretty", in: "query", typ: "string",
		desc: "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget)."}
	namespaceParam = param{name: "namespace", in: "path", typ: "string", required: true,
		desc: "object name and auth scope, such as for teams and projects"}
	dryRunParam = param{name: "dryRun", in: "query", typ: "string",
		desc: "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed"}
	fieldManagerParam = param{name: "fieldManager", in: "query", typ: "string",
		desc: "fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint."}
	fieldValidationParam = param{name: "fieldValidation", in: "query", typ: "string",
		desc: "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: silently drop unknown fields and ignore duplicates, as the server did before v1.23. - Warn: send a warning for each unknown or duplicate field through the standard warning response header, default when the feature is enabled. - Strict: fail the request with a BadRequest error when any unknown or duplicate field is present."}
	forceParam = param{name: "force", in: "query", typ: "boolean",
		desc: "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests."}
	gracePeriodParam = param{name: "gracePeriodSeconds", in: "query", typ: "integer",
		desc: "The duration in seconds before the object should be deleted. Value must be non-negative integer. The value zero indicates delete immediately. If this value is nil, the default grace period for the specified type will be used. Defaults to a per object value if not specified. zero means delete immediately."}
	orphanParam = param{name: "orphanDependents", in: "query", typ: "boolean",
		desc: "Deprecated: please use the PropagationPolicy, this field will be deprecated in 1.7. Should the dependent objects be orphaned. If true/false, the \"orphan\" finalizer will be added to/removed from the object's finalizers list. Either this field or PropagationPolicy may be set, but not both."}
	propagationParam = param{name: "propagationPolicy", in: "query", typ: "string",
		desc: "Whether and how garbage collection will be performed. Either this field or OrphanDependents may be set, but not both. Acceptable values are: 'Orphan', 'Background', 'Foreground'."}
	listParams = []param{
		{name: "allowWatchBookmarks", in: "query", typ: "boolean", desc: "allowWatchBookmarks requests watch events with type \"BOOKMARK\". Servers that do not implement bookmarks may ignore this flag."},
		{name: "continue", in: "query", typ: "string", desc: "The continue option should be set when retrieving more results from the server."},
		{name: "fieldSelector", in: "query", typ: "string", desc: "A selector to restrict the list of returned objects by their fields. Defaults to everything."},
		{name: "labelSelector", in: "query", typ: "string", desc: "A selector to restrict the list of returned objects by their labels. Defaults to everything."},
		{name: "limit", in: "query", typ: "integer", desc: "limit is a maximum number of responses to return for a list call."},
		{name: "resourceVersion", in: "query", typ: "string", desc: "resourceVersion sets a constraint on what resource versions a request may be served from. Defaults to unset"},
		{name: "resourceVersionMatch", in: "query", typ: "string", desc: "resourceVersionMatch determines how resourceVersion is applied to list calls."},
		{name: "sendInitialEvents", in: "query", typ: "boolean", desc: "`sendInitialEvents=true` may be set together with `watch=true`. In that case, the watch stream will begin with synthetic events to produce the current state of objects in the collection."},
		{name: "timeoutSeconds", in: "query", typ: "integer", desc: "Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity."},
		{name: "watch", in: "query", typ: "boolean", desc: "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications. Specify resourceVersion."},
	}
)

// buildRoutes returns the routes of every resource, grouped by group version
// (each group version starts with its discovery route).
func buildRoutes(resources []Resource) map[schema.GroupVersion][]route {
	out := map[schema.GroupVersion][]route{}
	for _, r := range sortedResources(resources) {
		gv := r.GVK.GroupVersion()
		if _, ok := out[gv]; !ok {
			out[gv] = []route{discoveryRoute(gv)}
		}
		out[gv] = append(out[gv], resourceRoutes(r)...)
	}
	return out
}

func discoveryRoute(gv schema.GroupVersion) route {
	return route{
		path: "/" + gvPath(gv) + "/",
		gv:   gv,
		ops: []operation{{
			method: "get", id: "get" + opGV(gv) + "APIResources", desc: "get available resources",
			tag: opTag(gv), response: resourceLstDef, codes: []int{200},
			consumes: []string{"application/json", "application/yaml", "application/vnd.kubernetes.protobuf"},
			produces: mediaTypes,
		}},
	}
}

// resourceRoutes returns the collection, item and subresource routes of r.
func resourceRoutes(r Resource) []route {
	gv := r.GVK.GroupVersion()
	kind := r.GVK.Kind
	gvk := r.GVK
	prefix := "/" + gvPath(gv)
	scope := ""
	var scopeParams []param
	if r.Namespaced {
		prefix += "/namespaces/{namespace}"
		scope = "Namespaced"
		scopeParams = []param{namespaceParam}
	}
	prefix += "/" + r.Resource
	nameParam := param{name: "name", in: "path", typ: "string", required: true, desc: "name of the " + kind}
	opBase := opGV(gv)
	tag := opTag(gv)
	produce, watchProduce, patchConsume := mediaTypes, watchMedia, patchMedia
	if r.IsCustom() {
		produce, watchProduce, patchConsume = customMedia, customWatch, customPatch
	}
	obj, list := r.objectName(), r.listName()
	writeParams := []param{dryRunParam, fieldManagerParam, fieldValidationParam}
	patchParams := []param{dryRunParam, fieldManagerParam, fieldValidationParam, forceParam}
	deleteParams := []param{dryRunParam, gracePeriodParam, orphanParam, propagationParam}

	op := func(method, action, id, desc string, g schema.GroupVersionKind) operation {
		return operation{method: method, action: action, id: id, desc: desc, tag: tag, gvk: &g,
			consumes: anyMedia, produces: produce, codes: []int{200}}
	}

	var routes []route

	collection := route{path: prefix, gv: gv, params: append(append([]param(nil), scopeParams...), prettyParam)}
	if r.hasVerb("list") && list != "" {
		o := op("get", "list", "list"+opBase+scope+kind, "list or watch objects of kind "+kind, gvk)
		o.response, o.params = list, listParams
		o.produces = append(append([]string(nil), produce...), watchProduce...)
		collection.ops = append(collection.ops, o)
	}
	if r.hasVerb("create") {
		o := op("post", "post", "create"+opBase+scope+kind, "create a "+kind, gvk)
		o.body, o.response, o.params, o.codes = obj, obj, writeParams, []int{200, 201, 202}
		collection.ops = append(collection.ops, o)
	}
	if r.hasVerb("deletecollection") {
		o := op("delete", "deletecollection", "delete"+opBase+"Collection"+scope+kind, "delete collection of "+kind, gvk)
		o.body, o.response = deleteOptsDef, statusDef
		o.params = append(append([]param(nil), deleteParams...), listParams...)
		collection.ops = append(collection.ops, o)
	}
	if len(collection.ops) > 0 {
		routes = append(routes, collection)
	}

	item := route{path: prefix + "/{name}", gv: gv, params: append(append([]param{nameParam}, scopeParams...), prettyParam)}
	if r.hasVerb("get") {
		o := op("get", "get", "read"+opBase+scope+kind, "read the specified "+kind, gvk)
		o.response = obj
		item.ops = append(item.ops, o)
	}
	if r.hasVerb("update") {
		o := op("put", "put", "replace"+opBase+scope+kind, "replace the specified "+kind, gvk)
		o.body, o.response, o.params, o.codes = obj, obj, writeParams, []int{200, 201}
		item.ops = append(item.ops, o)
	}
	if r.hasVerb("patch") {
		o := op("patch", "patch", "patch"+opBase+scope+kind, "partially update the specified "+kind, gvk)
		o.body, o.response, o.params, o.codes, o.consumes = patchDef, obj, patchParams, []int{200, 201}, patchConsume
		item.ops = append(item.ops, o)
	}
	if r.hasVerb("delete") {
		o := op("delete", "delete", "delete"+opBase+scope+kind, "delete a "+kind, gvk)
		o.body, o.response, o.params, o.codes = deleteOptsDef, statusDef, deleteParams, []int{200, 202}
		item.ops = append(item.ops, o)
	}
	if len(item.ops) > 0 {
		routes = append(routes, item)
	}

	for _, sr := range r.Subresources {
		if sub := subresourceRoute(r, sr, item, op, writeParams, patchParams, patchConsume); len(sub.ops) > 0 {
			routes = append(routes, sub)
		}
	}

	if r.Namespaced && r.hasVerb("list") && list != "" {
		o := op("get", "list", "list"+opBase+kind+"ForAllNamespaces", "list or watch objects of kind "+kind, gvk)
		o.response, o.params = list, listParams
		o.produces = append(append([]string(nil), produce...), watchProduce...)
		routes = append(routes, route{
			path: "/" + gvPath(gv) + "/" + r.Resource, gv: gv, params: []param{prettyParam}, ops: []operation{o},
		})
	}
	return routes
}

type opFunc func(method, action, id, desc string, gvk schema.GroupVersionKind) operation

// subresourceRoute returns the route of subresource sr of r, derived from
// the item route.
func subresourceRoute(r Resource, sr string, item route, op opFunc, writeParams, patchParams []param, patchConsume []string) route {
	kind := r.GVK.Kind
	scope := ""
	if r.Namespaced {
		scope = "Namespaced"
	}
	base := opGV(r.GVK.GroupVersion()) + scope + kind + upperFirst(sr)
	rt := route{path: item.path + "/" + sr, gv: item.gv, params: item.params}
	what := sr + " of the specified " + kind

	switch sr {
	case "status", "ephemeralcontainers", "resize", "approval", "scale":
		body, g := r.objectName(), r.GVK
		if sr == "scale" {
			sub := subresourceTypes[sr]
			body, g = typeName(sub.t), sub.gvk
		}
		get := op("get", "get", "read"+base, "read "+what, g)
		get.response = body
		put := op("put", "put", "replace"+base, "replace "+what, g)
		put.body, put.response, put.params, put.codes = body, body, writeParams, []int{200, 201}
		patch := op("patch", "patch", "patch"+base, "partially update "+what, g)
		patch.body, patch.response, patch.params, patch.codes, patch.consumes = patchDef, body, patchParams, []int{200, 201}, patchConsume
		rt.ops = []operation{get, put, patch}
	case "finalize":
		put := op("put", "put", "replace"+base, "replace "+what, r.GVK)
		put.body, put.response, put.params, put.codes = r.objectName(), r.objectName(), writeParams, []int{200, 201}
		rt.ops = []operation{put}
	case "eviction", "binding", "token":
		sub := subresourceTypes[sr]
		post := op("post", "post", "create"+base, "create "+strings.ToLower(sub.gvk.Kind)+" of a "+kind, sub.gvk)
		post.body, post.response, post.params, post.codes = typeName(sub.t), typeName(sub.t), writeParams, []int{200, 201, 202}
		rt.ops = []operation{post}
	case "log":
		get := op("get", "get", "read"+base, "read log of the specified "+kind, r.GVK)
		get.produces, get.response = textMedia, ""
		rt.ops = []operation{get}
	default: // exec, attach, portforward, proxy: streaming connections
		for _, m := range []string{"get", "post"} {
			c := op(m, "connect", "connect"+opGV(r.GVK.GroupVersion())+upperFirst(m)+scope+kind+upperFirst(sr), "connect "+strings.ToUpper(m)+" requests to "+sr+" of "+kind, r.GVK)
			c.produces, c.response = anyMedia, ""
			rt.ops = append(rt.ops, c)
		}
	}
	return rt
}

// opGV returns the group version part of operation IDs: CoreV1, AppsV1,
// RbacAuthorizationV1, StableExampleComV1.
func opGV(gv schema.GroupVersion) string {
	return upperFirst(groupWord(gv.Group)) + upperFirst(gv.Version)
}

// opTag returns the tag of a group version's operations (core_v1, apps_v1).
func opTag(gv schema.GroupVersion) string {
	return groupWord(gv.Group) + "_" + gv.Version
}

func groupWord(group string) string {
	if group == "" {
		return "core"
	}
	group = strings.TrimSuffix(group, ".k8s.io")
	words := strings.FieldsFunc(group, func(r rune) bool { return r == '.' || r == '-' })
	for i := 1; i < len(words); i++ {
		words[i] = upperFirst(words[i])
	}
	return strings.Join(words, "")
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}
