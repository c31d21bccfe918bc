package apiserver

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff/skiff/internal/storage"
)

func schemaGVR(ri requestInfo) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: ri.Group, Version: ri.Version, Resource: ri.Resource}
}

// getStored reads one object in its served form.
func (rs *resource) getStored(r *http.Request, ns, name, rv string) (runtime.Object, error) {
	obj, err := rs.store.Get(r.Context(), rs.key(ns, name), storage.GetOptions{ResourceVersion: rv})
	if err != nil {
		return nil, toStatusError(err, rs.kind.GroupResource(), name)
	}
	return rs.fromStorage(obj)
}

func (rs *resource) get(w http.ResponseWriter, r *http.Request, ri requestInfo) {
	out, err := rs.s.negotiate(r, "Table", "PartialObjectMetadata")
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	obj, err := rs.getStored(r, ri.Namespace, ri.Name, r.URL.Query().Get("resourceVersion"))
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	rs.writeResult(w, r, out, http.StatusOK, obj)
}

// writeResult writes a single object, converted as negotiated.
func (rs *resource) writeResult(w http.ResponseWriter, r *http.Request, out output, code int, obj runtime.Object) {
	switch out.as {
	case "Table":
		t, err := rs.toTable(r, []runtime.Object{obj}, nil)
		if err != nil {
			rs.s.writeError(w, r, err)
			return
		}
		rs.s.writeObject(w, r, out, code, t)
		return
	case "PartialObjectMetadata":
		rs.s.writeObject(w, r, out, code, partialMetadata(obj, out.asGV))
		return
	}
	rs.s.writeObject(w, r, out, code, obj)
}

func partialMetadata(obj runtime.Object, gv schema.GroupVersion) *metav1.PartialObjectMetadata {
	m, _ := meta.Accessor(obj)
	p := &metav1.PartialObjectMetadata{}
	if om, ok := m.(*metav1.ObjectMeta); ok {
		p.ObjectMeta = *om.DeepCopy()
	} else {
		p.ObjectMeta = metav1.ObjectMeta{
			Name: m.GetName(), Namespace: m.GetNamespace(), UID: m.GetUID(),
			ResourceVersion: m.GetResourceVersion(), Generation: m.GetGeneration(),
			CreationTimestamp: m.GetCreationTimestamp(), DeletionTimestamp: m.GetDeletionTimestamp(),
			DeletionGracePeriodSeconds: m.GetDeletionGracePeriodSeconds(),
			Labels:                     m.GetLabels(), Annotations: m.GetAnnotations(), OwnerReferences: m.GetOwnerReferences(),
			Finalizers: m.GetFinalizers(), ManagedFields: m.GetManagedFields(), GenerateName: m.GetGenerateName(),
		}
	}
	p.TypeMeta = metav1.TypeMeta{Kind: "PartialObjectMetadata", APIVersion: gv.String()}
	return p
}

func (rs *resource) listOptions(r *http.Request) (*metav1.ListOptions, error) {
	opts := &metav1.ListOptions{}
	if err := metav1.Convert_url_Values_To_v1_ListOptions(ptrValues(r), opts, nil); err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if opts.ResourceVersionMatch != "" && opts.ResourceVersionMatch != metav1.ResourceVersionMatchExact && opts.ResourceVersionMatch != metav1.ResourceVersionMatchNotOlderThan {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("resourceVersionMatch: Unsupported value: %q", opts.ResourceVersionMatch))
	}
	if opts.ResourceVersionMatch != "" && opts.ResourceVersion == "" && !(opts.SendInitialEvents != nil) {
		return nil, apierrors.NewBadRequest("resourceVersionMatch is forbidden unless resourceVersion is provided")
	}
	if opts.Continue != "" && opts.ResourceVersion != "" && opts.ResourceVersion != "0" {
		return nil, apierrors.NewBadRequest("specifying resource version is not allowed when using continue")
	}
	if opts.ResourceVersion != "" && opts.ResourceVersion != "0" {
		if _, err := strconv.ParseUint(opts.ResourceVersion, 10, 64); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid resource version %q", opts.ResourceVersion))
		}
	}
	return opts, nil
}

func (rs *resource) list(w http.ResponseWriter, r *http.Request, ri requestInfo) {
	out, err := rs.s.negotiate(r, "Table", "PartialObjectMetadataList")
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	opts, err := rs.listOptions(r)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	pred, err := rs.predicate(opts)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	res, err := rs.store.List(r.Context(), rs.listPrefix(ri.Namespace), storage.ListOptions{
		ResourceVersion: opts.ResourceVersion,
		Match:           storage.ResourceVersionMatch(opts.ResourceVersionMatch),
		Limit:           opts.Limit,
		Continue:        opts.Continue,
		Predicate:       pred,
		Recursive:       true,
	})
	if err != nil {
		if opts.Continue != "" && errors.Is(err, storage.ErrCompacted) {
			err = apierrors.NewResourceExpired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.")
		}
		rs.s.writeError(w, r, toStatusError(err, rs.kind.GroupResource(), ""))
		return
	}
	items := make([]runtime.Object, 0, len(res.Items))
	for _, it := range res.Items {
		o, err := rs.fromStorage(it)
		if err != nil {
			rs.s.writeError(w, r, err)
			return
		}
		items = append(items, o)
	}
	lm := metav1.ListMeta{ResourceVersion: strconv.FormatInt(res.ResourceVersion, 10), Continue: res.Continue, RemainingItemCount: res.RemainingItemCount}
	switch out.as {
	case "Table":
		t, err := rs.toTable(r, items, &lm)
		if err != nil {
			rs.s.writeError(w, r, err)
			return
		}
		rs.s.writeObject(w, r, out, http.StatusOK, t)
		return
	case "PartialObjectMetadataList":
		pl := &metav1.PartialObjectMetadataList{ListMeta: lm}
		pl.TypeMeta = metav1.TypeMeta{Kind: "PartialObjectMetadataList", APIVersion: out.asGV.String()}
		for _, it := range items {
			pl.Items = append(pl.Items, *partialMetadata(it, out.asGV))
		}
		rs.s.writeObject(w, r, out, http.StatusOK, pl)
		return
	}
	list := rs.kind.NewList()
	if err := meta.SetList(list, items); err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	la, _ := meta.ListAccessor(list)
	la.SetResourceVersion(lm.ResourceVersion)
	la.SetContinue(lm.Continue)
	la.SetRemainingItemCount(lm.RemainingItemCount)
	list.GetObjectKind().SetGroupVersionKind(rs.listGVK(list))
	rs.s.writeObject(w, r, out, http.StatusOK, list)
}

// watchTimeout returns how long a watch lasts: timeoutSeconds, or a random
// 30–60 minutes as upstream's min-request-timeout does.
func watchTimeout(opts *metav1.ListOptions) time.Duration {
	if opts.TimeoutSeconds != nil && *opts.TimeoutSeconds > 0 {
		return time.Duration(*opts.TimeoutSeconds) * time.Second
	}
	return 30*time.Minute + time.Duration(time.Now().UnixNano()%int64(30*time.Minute))
}

// listGVK is the kind of a list of the resource: what NewList sets (custom
// resources name it in spec.names.listKind), else <Kind>List.
func (rs *resource) listGVK(list runtime.Object) schema.GroupVersionKind {
	if gvk := list.GetObjectKind().GroupVersionKind(); gvk.Kind != "" {
		return gvk
	}
	return rs.kind.GVK.GroupVersion().WithKind(rs.kind.GVK.Kind + "List")
}
