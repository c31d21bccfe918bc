package apiserver

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/storage"
)

// writeOptions are the query parameters shared by create, update and patch.
type writeOptions struct {
	dryRun  bool
	manager string
}

func parseWriteOptions(r *http.Request) (writeOptions, error) {
	q := r.URL.Query()
	var o writeOptions
	for _, d := range q["dryRun"] {
		if d != metav1.DryRunAll {
			return o, apierrors.NewBadRequest(fmt.Sprintf("Invalid dry run value: dryRun: Unsupported value: %q: supported values: \"All\"", d))
		}
		o.dryRun = true
	}
	o.manager = q.Get("fieldManager")
	if len(o.manager) > 128 {
		return o, apierrors.NewBadRequest("fieldManager: Too long: must have at most 128 bytes")
	}
	if o.manager == "" {
		ua := r.Header.Get("User-Agent")
		o.manager = strings.Split(ua, "/")[0]
		if o.manager == "" {
			o.manager = "unknown"
		}
	}
	return o, nil
}

// checkNamespace reconciles the object's namespace with the request's.
func (rs *resource) checkNamespace(obj runtime.Object, ri requestInfo) error {
	m, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	if !rs.kind.Namespaced {
		m.SetNamespace("")
		return nil
	}
	if m.GetNamespace() == "" {
		m.SetNamespace(ri.Namespace)
	} else if m.GetNamespace() != ri.Namespace {
		return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	return nil
}

func (rs *resource) create(w http.ResponseWriter, r *http.Request, ri requestInfo) {
	out, err := rs.s.negotiate(r)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	if rs.kind.Namespaced && ri.Namespace == "" {
		rs.s.writeError(w, r, apierrors.NewMethodNotSupported(rs.kind.GroupResource(), "create"))
		return
	}
	opts, err := parseWriteOptions(r)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	body, err := readBody(r)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	obj, err := rs.decodeBody(w, r, body)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	if err := rs.checkNamespace(obj, ri); err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	if def := rs.kind.Strategy.Default; def != nil {
		def(obj)
	}
	obj = rs.managers[""].UpdateNoErrors(rs.kind.New(), obj, opts.manager)
	created, err := rs.createObject(r, obj, opts)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	if f := rs.storedKind().Strategy.Warnings; f != nil && rs.storage == nil {
		for _, msg := range f(created) {
			addWarning(w, msg)
		}
	}
	rs.writeResult(w, r, out, http.StatusCreated, created)
}

// createObject prepares, validates and stores a new object given in served
// form with defaults and managed fields applied; it returns it in served
// form.
func (rs *resource) createObject(r *http.Request, obj runtime.Object, opts writeOptions) (runtime.Object, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	if m.GetName() == "" && m.GetGenerateName() != "" {
		m.SetName(m.GetGenerateName() + utilrand.String(5))
	}
	m.SetUID(uuid.NewUUID())
	m.SetCreationTimestamp(metav1.NewTime(rs.s.now().Truncate(1e9)))
	m.SetResourceVersion("")
	m.SetDeletionTimestamp(nil)
	m.SetDeletionGracePeriodSeconds(nil)
	m.SetSelfLink("")
	sk := rs.storedKind()
	stored, err := rs.toStorage(obj)
	if err != nil {
		return nil, err
	}
	sm, _ := meta.Accessor(stored)
	if sk.TracksGeneration {
		sm.SetGeneration(1)
	} else {
		sm.SetGeneration(0)
	}
	if sk.HasStatus && !sk.KeepStatusOnCreate {
		resetStatus(stored)
	}
	if f := sk.Strategy.PrepareForCreate; f != nil {
		f(stored)
	}
	if rs.crd != nil {
		if err := rs.crd.prepareForCreate(stored); err != nil {
			return nil, err
		}
	}
	if err := rs.validateCreate(stored); err != nil {
		return nil, err
	}
	if err := rs.s.admitCreate(r.Context(), rs, stored); err != nil {
		return nil, err
	}
	if opts.dryRun {
		return rs.fromStorage(stored)
	}
	if err := rs.s.allocateOnCreate(r.Context(), rs, stored); err != nil {
		return nil, err
	}
	created, err := rs.store.Create(r.Context(), rs.key(sm.GetNamespace(), sm.GetName()), stored)
	if err != nil {
		rs.s.releaseOnFailure(rs, stored)
		return nil, toStatusError(err, rs.kind.GroupResource(), sm.GetName())
	}
	return rs.fromStorage(created)
}

func (rs *resource) validateName() validation.ValidateNameFunc {
	if f := rs.storedKind().Strategy.ValidateName; f != nil {
		return f
	}
	return validation.NameIsDNSSubdomain
}

func (rs *resource) invalid(obj runtime.Object, errs field.ErrorList) error {
	m, _ := meta.Accessor(obj)
	gk := rs.kind.GVK.GroupKind()
	return apierrors.NewInvalid(gk, m.GetName(), errs)
}

func (rs *resource) validateCreate(stored runtime.Object) error {
	m, _ := meta.Accessor(stored)
	sk := rs.storedKind()
	errs := validation.ValidateObjectMetaAccessor(m, sk.Namespaced, rs.validateName(), field.NewPath("metadata"))
	if f := rs.kind.Strategy.Validate; f != nil && rs.storage != nil {
		// A kind served through a conversion validates in its own terms,
		// with its own field paths.
		served, err := rs.fromStorage(stored)
		if err != nil {
			return err
		}
		errs = append(errs, f(served)...)
	} else if f := sk.Strategy.Validate; f != nil {
		errs = append(errs, f(stored)...)
	}
	if rs.crd != nil {
		errs = append(errs, rs.crd.validate(stored)...)
	}
	if len(errs) > 0 {
		return rs.invalid(stored, errs)
	}
	return nil
}

func (rs *resource) validateUpdate(stored, old runtime.Object) error {
	m, _ := meta.Accessor(stored)
	om, _ := meta.Accessor(old)
	sk := rs.storedKind()
	errs := validation.ValidateObjectMetaAccessorUpdate(m, om, field.NewPath("metadata"))
	errs = append(errs, validation.ValidateObjectMetaAccessor(m, sk.Namespaced, rs.validateName(), field.NewPath("metadata"))...)
	if f := rs.kind.Strategy.ValidateUpdate; f != nil && rs.storage != nil {
		served, err := rs.fromStorage(stored)
		if err != nil {
			return err
		}
		oldServed, err := rs.fromStorage(old)
		if err != nil {
			return err
		}
		errs = append(errs, f(served, oldServed)...)
	} else if f := sk.Strategy.ValidateUpdate; f != nil {
		errs = append(errs, f(stored, old)...)
	} else if f := sk.Strategy.Validate; f != nil {
		errs = append(errs, f(stored)...)
	}
	if rs.crd != nil {
		errs = append(errs, rs.crd.validate(stored)...)
	}
	if len(errs) > 0 {
		return rs.invalid(stored, errs)
	}
	return nil
}

func pathSegmentName(name string, prefix bool) []string { return path.IsValidPathSegmentName(name) }

var _ = pathSegmentName

// prepareUpdate turns the client's new object (served form, after defaults
// and, for apply, managed fields) into the object to store over cur.
func (rs *resource) prepareUpdate(cur runtime.Object, obj runtime.Object, sub string, opts writeOptions, managed bool) (runtime.Object, error) {
	curServed, err := rs.fromStorage(cur)
	if err != nil {
		return nil, err
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	cm, _ := meta.Accessor(curServed)
	if rv := m.GetResourceVersion(); rv != "" && rv != cm.GetResourceVersion() {
		return nil, apierrors.NewConflict(rs.kind.GroupResource(), cm.GetName(), errors.New(conflictMessage))
	}
	if uid := m.GetUID(); uid != "" && uid != cm.GetUID() {
		return nil, apierrors.NewConflict(rs.kind.GroupResource(), cm.GetName(),
			fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", uid, cm.GetUID()))
	}
	switch {
	case sub == "status":
		// A status write changes status and, as upstream's status
		// strategies allow, annotations (controllers record revisions
		// there); everything else stays as stored.
		annotations := m.GetAnnotations()
		obj = copyAllButStatus(obj, curServed)
		m, _ = meta.Accessor(obj)
		m.SetAnnotations(annotations)
	case sub == "" && rs.kind.HasStatus:
		copyStatus(obj, curServed)
	}
	m.SetUID(cm.GetUID())
	m.SetCreationTimestamp(cm.GetCreationTimestamp())
	m.SetDeletionTimestamp(cm.GetDeletionTimestamp())
	m.SetDeletionGracePeriodSeconds(cm.GetDeletionGracePeriodSeconds())
	m.SetGeneration(cm.GetGeneration())
	m.SetResourceVersion(cm.GetResourceVersion())
	m.SetSelfLink("")
	if !managed {
		fm := rs.managers[sub]
		if fm == nil {
			fm = rs.managers[""]
		}
		obj = fm.UpdateNoErrors(curServed, obj, opts.manager)
	}
	stored, err := rs.toStorage(obj)
	if err != nil {
		return nil, err
	}
	sk := rs.storedKind()
	sm, _ := meta.Accessor(stored)
	if sk.TracksGeneration && sub == "" && specChanged(cur, stored) {
		sm.SetGeneration(sm.GetGeneration() + 1)
	}
	if f := sk.Strategy.PrepareForUpdate; f != nil && sub == "" {
		f(stored, cur)
	}
	if err := rs.validateUpdate(stored, cur); err != nil {
		return nil, err
	}
	if err := rs.s.admitUpdate(rs, stored, cur); err != nil {
		return nil, err
	}
	return stored, nil
}

func (rs *resource) update(w http.ResponseWriter, r *http.Request, ri requestInfo, sub string) {
	out, err := rs.s.negotiate(r)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	opts, err := parseWriteOptions(r)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	body, err := readBody(r)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	obj, err := rs.decodeBody(w, r, body)
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	m, _ := meta.Accessor(obj)
	if m.GetName() != ri.Name {
		rs.s.writeError(w, r, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", m.GetName(), ri.Name)))
		return
	}
	if err := rs.checkNamespace(obj, ri); err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	if def := rs.kind.Strategy.Default; def != nil {
		def(obj)
	}
	updated, err := rs.updateObject(r, ri, sub, opts, func(cur runtime.Object) (runtime.Object, error) {
		return rs.prepareUpdate(cur, obj.DeepCopyObject(), sub, opts, false)
	})
	if err != nil {
		rs.s.writeError(w, r, err)
		return
	}
	rs.writeResult(w, r, out, http.StatusOK, updated)
}

// updateObject runs a guaranteed update with dry-run support and finishes
// deletions that the update allowed (last finalizer removed). It returns
// the result in served form.
func (rs *resource) updateObject(r *http.Request, ri requestInfo, sub string, opts writeOptions, try func(cur runtime.Object) (runtime.Object, error)) (runtime.Object, error) {
	var dry runtime.Object
	key := rs.key(ri.Namespace, ri.Name)
	res, err := rs.store.GuaranteedUpdate(r.Context(), key, nil, func(cur runtime.Object) (runtime.Object, error) {
		next, err := try(cur)
		if err != nil {
			return nil, err
		}
		if opts.dryRun {
			dry = next
			return nil, errDryRun
		}
		return next, nil
	})
	if errors.Is(err, errDryRun) {
		return rs.fromStorage(dry)
	}
	if err != nil {
		return nil, toStatusError(err, rs.kind.GroupResource(), ri.Name)
	}
	if rm, _ := meta.Accessor(res); rm.GetDeletionTimestamp() != nil && len(rm.GetFinalizers()) == 0 && shouldDeleteDuringUpdate(rs, res) {
		rv := rm.GetResourceVersion()
		if _, err := rs.store.Delete(r.Context(), key, &storage.Preconditions{ResourceVersion: &rv}, nil); err == nil {
			rs.s.releaseOnDelete(rs, res)
		}
	}
	return rs.fromStorage(res)
}

// shouldDeleteDuringUpdate reports whether an object whose deletion was
// waiting only on finalizers can now go: upstream deletes it when no grace
// period remains.
func shouldDeleteDuringUpdate(_ *resource, obj runtime.Object) bool {
	if namespaceHasFinalizers(obj) {
		return false
	}
	m, _ := meta.Accessor(obj)
	g := m.GetDeletionGracePeriodSeconds()
	return g == nil || *g == 0
}
