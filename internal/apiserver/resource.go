package apiserver

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/storage"
)

// resource serves one resource at one group version.
type resource struct {
	s    *Server
	kind *kinds.Kind
	// storage is the resource objects are stored as when kind is served
	// through a conversion; nil otherwise.
	storage *resource
	store   storage.Store
	prefix  string
	crd     *customInfo
	fields  sets.Set[string]
	// managers holds the field manager of the main resource ("") and of
	// each subresource that writes ("status").
	managers map[string]*managedfields.FieldManager
}

func (rs *resource) init() error {
	rs.fields = sets.New("metadata.name", "metadata.namespace")
	if f := rs.kind.Strategy.Fields; f != nil {
		for k := range f(rs.kind.New()) {
			rs.fields.Insert(k)
		}
	}
	rs.managers = map[string]*managedfields.FieldManager{}
	for _, sub := range []string{"", "status"} {
		if sub == "status" && !rs.kind.HasStatus {
			continue
		}
		fm, err := rs.newFieldManager(sub)
		if err != nil {
			return fmt.Errorf("field manager for %s: %w", rs.kind.GVK, err)
		}
		rs.managers[sub] = fm
	}
	return nil
}

func (rs *resource) newFieldManager(sub string) (*managedfields.FieldManager, error) {
	conv := sameVersionConverter{scheme: rs.s.scheme, gvk: rs.kind.GVK, newFunc: rs.kind.New}
	def := defaulterFunc(rs.kind.Strategy.Default)
	cr := creater{newFunc: rs.kind.New}
	if rs.crd != nil {
		return managedfields.NewDefaultCRDFieldManager(rs.crd.typeConverter, conv, def, cr, rs.kind.GVK, rs.kind.GVK.GroupVersion(), sub, nil)
	}
	tc := rs.s.typeConverter
	if _, err := tc.ObjectToTyped(rs.kind.New()); err != nil {
		// client-go's schema lacks a few kinds (apiextensions); their
		// fields are then deduced from the objects themselves.
		tc = managedfields.NewDeducedTypeConverter()
	}
	return managedfields.NewDefaultFieldManager(tc, conv, def, cr, rs.kind.GVK, rs.kind.GVK.GroupVersion(), sub, nil)
}

// key returns the storage key of an object.
func (rs *resource) key(ns, name string) string {
	if rs.kind.Namespaced {
		return rs.prefix + ns + "/" + name
	}
	return rs.prefix + name
}

// listPrefix returns the key prefix of a list in ns ("" for all).
func (rs *resource) listPrefix(ns string) string {
	if rs.kind.Namespaced && ns != "" {
		return rs.prefix + ns + "/"
	}
	return rs.prefix
}

// fromStorage converts a stored object to the served kind.
func (rs *resource) fromStorage(obj runtime.Object) (runtime.Object, error) {
	if rs.crd != nil {
		return rs.crd.fromStorage(obj), nil
	}
	if rs.storage == nil {
		return obj, nil
	}
	return rs.kind.FromStorage(obj)
}

// toStorage converts a served object to the stored kind.
func (rs *resource) toStorage(obj runtime.Object) (runtime.Object, error) {
	if rs.crd != nil {
		return rs.crd.toStorage(obj), nil
	}
	if rs.storage == nil {
		return obj, nil
	}
	return rs.kind.ToStorage(obj)
}

// storedKind is the kind whose strategy applies to stored objects.
func (rs *resource) storedKind() *kinds.Kind {
	if rs.storage != nil {
		return rs.storage.kind
	}
	return rs.kind
}

// attrs returns the labels and selectable fields of a stored object.
func (rs *resource) attrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, nil, err
	}
	fs := fields.Set{"metadata.name": m.GetName()}
	if rs.kind.Namespaced {
		fs["metadata.namespace"] = m.GetNamespace()
	}
	sk := rs.storedKind()
	if f := sk.Strategy.Fields; f != nil {
		for k, v := range f(obj) {
			fs[k] = v
		}
	}
	return labels.Set(m.GetLabels()), fs, nil
}

// predicate builds the selection of a list or watch request.
func (rs *resource) predicate(opts *metav1.ListOptions) (storage.Predicate, error) {
	p := storage.Predicate{GetAttrs: rs.attrs}
	if opts.LabelSelector != "" {
		sel, err := labels.Parse(opts.LabelSelector)
		if err != nil {
			return p, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
		}
		p.Label = sel
	}
	if opts.FieldSelector != "" {
		sel, err := fields.ParseSelector(opts.FieldSelector)
		if err != nil {
			return p, apierrors.NewBadRequest(err.Error())
		}
		for _, req := range sel.Requirements() {
			if !rs.fields.Has(req.Field) {
				return p, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", req.Field))
			}
		}
		p.Field = sel
	}
	return p, nil
}

// serveResource dispatches a parsed resource request.
func (s *Server) serveResource(w http.ResponseWriter, r *http.Request, ri requestInfo) {
	gvr := schemaGVR(ri)
	rs := s.lookup(gvr)
	if rs == nil {
		if v := s.virtual(gvr); v != nil {
			v(w, r, ri)
			return
		}
		s.writeError(w, r, apierrors.NewGenericServerResponse(http.StatusNotFound, requestVerb(r), gvr.GroupResource(), ri.Name, "the server could not find the requested resource", 0, false))
		return
	}
	if !s.authorize(r, ri) {
		s.writeError(w, r, forbidden(userFrom(r.Context()), ri))
		return
	}
	if !rs.kind.Namespaced && ri.HasNamespaceInPath {
		s.writeError(w, r, apierrors.NewGenericServerResponse(http.StatusNotFound, "", gvr.GroupResource(), "", "the server could not find the requested resource", 0, false))
		return
	}
	if ri.Subresource != "" {
		rs.serveSubresource(w, r, ri)
		return
	}
	if !rs.allows(ri.Verb) {
		s.writeError(w, r, apierrors.NewMethodNotSupported(gvr.GroupResource(), ri.Verb))
		return
	}
	switch ri.Verb {
	case "get":
		rs.get(w, r, ri)
	case "list":
		rs.list(w, r, ri)
	case "watch":
		rs.watch(w, r, ri)
	case "create":
		rs.create(w, r, ri)
	case "update":
		rs.update(w, r, ri, "")
	case "patch":
		rs.patch(w, r, ri, "")
	case "delete":
		rs.delete(w, r, ri)
	case "deletecollection":
		rs.deleteCollection(w, r, ri)
	default:
		s.writeError(w, r, apierrors.NewMethodNotSupported(gvr.GroupResource(), r.Method))
	}
}

func (rs *resource) allows(verb string) bool {
	for _, v := range rs.kind.AllVerbs() {
		if v == verb {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// requestVerb is the verb upstream puts in a Status's details: the HTTP
// verb as lower-case kubectl words (get, list, create…).
func requestVerb(r *http.Request) string {
	return strings.ToLower(r.Method)
}
