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
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/skiff/skiff/internal/storage"
)

var errDeleteNow = errors.New("delete immediately")

// deleteOptions reads DeleteOptions from the body or the query.
func (s *Server) deleteOptions(r *http.Request) (*metav1.DeleteOptions, error) {
	opts := &metav1.DeleteOptions{}
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	if len(body) > 0 {
		if err := s.decodeInto(r, body, schema.GroupVersionKind{Version: "v1", Kind: "DeleteOptions"}, opts); err != nil {
			return nil, err
		}
	}
	q := r.URL.Query()
	if v := q.Get("gracePeriodSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, apierrors.NewBadRequest("invalid gracePeriodSeconds")
		}
		opts.GracePeriodSeconds = &n
	}
	if v := q.Get("propagationPolicy"); v != "" {
		p := metav1.DeletionPropagation(v)
		opts.PropagationPolicy = &p
	}
	if v := q.Get("orphanDependents"); v != "" {
		b := v == "true"
		opts.OrphanDependents = &b
	}
	opts.DryRun = append(opts.DryRun, q["dryRun"]...)
	for _, d := range opts.DryRun {
		if d != metav1.DryRunAll {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("Invalid dry run value: dryRun: Unsupported value: %q: supported values: \"All\"", d))
		}
	}
	if opts.PropagationPolicy != nil {
		switch *opts.PropagationPolicy {
		case metav1.DeletePropagationOrphan, metav1.DeletePropagationBackground, metav1.DeletePropagationForeground:
		default:
			return nil, apierrors.NewBadRequest(fmt.Sprintf("DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: %q: supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"", *opts.PropagationPolicy))
		}
		if opts.OrphanDependents != nil {
			return nil, apierrors.NewBadRequest("DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Invalid value: \"" + string(*opts.PropagationPolicy) + "\": orphanDependents and deletionPropagation cannot be both set")
		}
	}
	if opts.GracePeriodSeconds != nil && *opts.GracePeriodSeconds < 0 {
		zero := int64(0)
		opts.GracePeriodSeconds = &zero
	}
	return opts, nil
}

func (rs *resource) delete(w http.ResponseWriter, r *http.Request, ri requestInfo) {
	out, err := rs.s.negotiate(r)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	opts, err := rs.s.deleteOptions(r)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	obj, deleted, err := rs.deleteObject(r, ri.Namespace, ri.Name, opts)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	code := http.StatusOK
	if !deleted && opts.OrphanDependents != nil && !*opts.OrphanDependents {
		code = http.StatusAccepted
	}
	if deleted && !rs.kind.ReturnDeletedObject {
		m, _ := meta.Accessor(obj)
		st := &metav1.Status{
			TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
			Status:   metav1.StatusSuccess,
			Details:  &metav1.StatusDetails{Name: ri.Name, Group: rs.kind.GVK.Group, Kind: rs.kind.Resource, UID: m.GetUID()},
		}
		rs.s.writeObject(w, r, out, code, st)
		return
	}
	rs.writeResult(w, r, out, code, obj)
}

// deleteObject deletes one object, or marks it for deletion when
// finalizers or a grace period hold it. It reports whether the object is
// gone and returns its last state in served form.
func (rs *resource) deleteObject(r *http.Request, ns, name string, opts *metav1.DeleteOptions) (runtime.Object, bool, error) {
	ctx := r.Context()
	key := rs.key(ns, name)
	var pre *storage.Preconditions
	if p := opts.Preconditions; p != nil {
		pre = &storage.Preconditions{UID: p.UID, ResourceVersion: p.ResourceVersion}
	}
	dryRun := len(opts.DryRun) > 0
	sk := rs.storedKind()
	var seen runtime.Object
	res, err := rs.store.GuaranteedUpdate(ctx, key, pre, func(cur runtime.Object) (runtime.Object, error) {
		seen = cur
		obj := cur.DeepCopyObject()
		m, _ := meta.Accessor(obj)
		fin := sets.New(m.GetFinalizers()...)
		if m.GetDeletionTimestamp() == nil {
			rs.s.markCRDForDeletion(obj, fin)
		}
		policy := propagation(opts)
		switch policy {
		case metav1.DeletePropagationOrphan:
			fin.Insert(metav1.FinalizerOrphanDependents)
			fin.Delete(metav1.FinalizerDeleteDependents)
		case metav1.DeletePropagationForeground:
			fin.Insert(metav1.FinalizerDeleteDependents)
			fin.Delete(metav1.FinalizerOrphanDependents)
		case metav1.DeletePropagationBackground:
			fin.Delete(metav1.FinalizerOrphanDependents, metav1.FinalizerDeleteDependents)
		}
		var grace int64
		if f := sk.Strategy.GracePeriod; f != nil {
			grace = f(obj, opts.GracePeriodSeconds)
		}
		holdsNamespace := rs.kind.GVK.Kind == "Namespace" && rs.kind.GVK.Group == "" && namespaceHasFinalizers(obj)
		if fin.Len() == 0 && grace == 0 && !holdsNamespace {
			if m.GetDeletionTimestamp() != nil && len(m.GetFinalizers()) > 0 {
				// Finalizers were only the propagation ones just removed.
				return nil, errDeleteNow
			}
			return nil, errDeleteNow
		}
		if len(m.GetFinalizers()) != fin.Len() || !fin.HasAll(m.GetFinalizers()...) {
			m.SetFinalizers(orderedFinalizers(m.GetFinalizers(), fin))
		}
		now := rs.s.now()
		if dt := m.GetDeletionTimestamp(); dt == nil {
			t := metav1.NewTime(now.Add(time.Duration(grace) * time.Second).Truncate(time.Second))
			m.SetDeletionTimestamp(&t)
			m.SetDeletionGracePeriodSeconds(&grace)
			if m.GetGeneration() > 0 {
				m.SetGeneration(m.GetGeneration() + 1)
			}
		} else if old := m.GetDeletionGracePeriodSeconds(); old != nil && grace < *old {
			t := metav1.NewTime(now.Add(time.Duration(grace) * time.Second).Truncate(time.Second))
			if t.Before(dt) {
				m.SetDeletionTimestamp(&t)
			}
			m.SetDeletionGracePeriodSeconds(&grace)
		}
		if holdsNamespace {
			setNamespaceTerminating(obj)
		}
		if dryRun {
			return nil, errDryRunDelete{obj}
		}
		return obj, nil
	})
	var dr errDryRunDelete
	switch {
	case errors.As(err, &dr):
		o, cerr := rs.fromStorage(dr.obj)
		return o, false, cerr
	case errors.Is(err, errDeleteNow):
		if dryRun {
			o, cerr := rs.fromStorage(seen)
			return o, true, cerr
		}
		sm, _ := meta.Accessor(seen)
		rv := sm.GetResourceVersion()
		dpre := &storage.Preconditions{ResourceVersion: &rv}
		deleted, err := rs.store.Delete(ctx, key, dpre, nil)
		if errors.Is(err, storage.ErrConflict) && (pre == nil || pre.ResourceVersion == nil) {
			// It changed between our read and the delete: start over.
			return rs.deleteObject(r, ns, name, opts)
		}
		if err != nil {
			return nil, false, toStatusError(err, rs.kind.GroupResource(), name)
		}
		rs.s.releaseOnDelete(rs, deleted)
		o, cerr := rs.fromStorage(deleted)
		return o, true, cerr
	case err != nil:
		if errors.Is(err, storage.ErrConflict) && pre != nil {
			if seen == nil {
				// The precondition failed before our update function ran.
				seen, _ = rs.store.Get(ctx, key, storage.GetOptions{})
			}
			return nil, false, preconditionError(rs, name, pre, seen)
		}
		return nil, false, toStatusError(err, rs.kind.GroupResource(), name)
	}
	o, cerr := rs.fromStorage(res)
	return o, false, cerr
}

func preconditionError(rs *resource, name string, pre *storage.Preconditions, seen runtime.Object) error {
	if seen == nil {
		return apierrors.NewConflict(rs.kind.GroupResource(), name, errors.New(conflictMessage))
	}
	m, _ := meta.Accessor(seen)
	if pre.UID != nil && *pre.UID != m.GetUID() {
		return apierrors.NewConflict(rs.kind.GroupResource(), name, fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", *pre.UID, m.GetUID()))
	}
	if pre.ResourceVersion != nil && *pre.ResourceVersion != m.GetResourceVersion() {
		return apierrors.NewConflict(rs.kind.GroupResource(), name, fmt.Errorf("Precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *pre.ResourceVersion, m.GetResourceVersion()))
	}
	return apierrors.NewConflict(rs.kind.GroupResource(), name, errors.New(conflictMessage))
}

type errDryRunDelete struct{ obj runtime.Object }

func (errDryRunDelete) Error() string { return "dry run" }

func propagation(opts *metav1.DeleteOptions) metav1.DeletionPropagation {
	if opts.PropagationPolicy != nil {
		return *opts.PropagationPolicy
	}
	if opts.OrphanDependents != nil {
		if *opts.OrphanDependents {
			return metav1.DeletePropagationOrphan
		}
		return metav1.DeletePropagationBackground
	}
	return ""
}

func orderedFinalizers(old []string, want sets.Set[string]) []string {
	var out []string
	seen := sets.New[string]()
	for _, f := range old {
		if want.Has(f) && !seen.Has(f) {
			out = append(out, f)
			seen.Insert(f)
		}
	}
	for _, f := range sets.List(want) {
		if !seen.Has(f) {
			out = append(out, f)
		}
	}
	return out
}

func (rs *resource) deleteCollection(w http.ResponseWriter, r *http.Request, ri requestInfo) {
	out, err := rs.s.negotiate(r)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	lopts, err := rs.listOptions(r)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	pred, err := rs.predicate(lopts)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	opts, err := rs.s.deleteOptions(r)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	res, err := rs.store.List(r.Context(), rs.listPrefix(ri.Namespace), storage.ListOptions{Predicate: pred, Recursive: true})
	if err != nil {
		rs.s.writeError(w, r, toStatusError(err, rs.kind.GroupResource(), ""))
		return
	}
	var items []runtime.Object
	for _, it := range res.Items {
		m, _ := meta.Accessor(it)
		o, _, err := rs.deleteObject(r, m.GetNamespace(), m.GetName(), opts)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			rs.s.writeError(w, r, err)
			return
		}
		items = append(items, o)
	}
	list := rs.kind.NewList()
	if err := meta.SetList(list, items); err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	list.GetObjectKind().SetGroupVersionKind(rs.listGVK(list))
	rs.s.writeObject(w, r, out, http.StatusOK, list)
}

func isNotFound(err error) bool {
	return errors.Is(err, storage.ErrNotFound) || apierrors.IsNotFound(err)
}
