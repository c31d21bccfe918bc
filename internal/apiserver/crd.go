package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/util/workqueue"

	"github.com/skiff/skiff/internal/apiserver/customresource"
	"github.com/skiff/skiff/internal/storage"
)

// The CRD controller serves the resources CustomResourceDefinitions
// define. It plays upstream's naming, establishing and finalizer
// controllers and the CRD handler's bookkeeping at once:
//
//	CRD store ──watch──▶ queue (CRD names) ──▶ sync(name)
//	                                            ├─ names: accept or report a conflict (NamesAccepted)
//	                                            ├─ serve every served version (addKind), drop the others
//	                                            ├─ status: acceptedNames, NamesAccepted, Established
//	                                            └─ deleting: delete every object, then the finalizer
//
// Status is written straight to the CRD store, as upstream's controllers
// write it through the status subresource.

var crdGVR = apiextensionsv1.SchemeGroupVersion.WithResource("customresourcedefinitions")

// crdController keeps the served custom resources in step with the CRDs.
type crdController struct {
	s     *Server
	rs    *resource // the customresourcedefinitions resource
	log   *slog.Logger
	queue workqueue.TypedRateLimitingInterface[string]

	mu     sync.Mutex
	served map[string]*servedCRD // by CRD name
}

// servedCRD is what one CRD currently serves.
type servedCRD struct {
	uid         types.UID
	signature   string // UID and spec the resources were built from
	gvrs        []schema.GroupVersionResource
	terminating *atomic.Bool
}

// startCRDs serves the CRDs already stored, then follows the CRD store
// until ctx ends. It does nothing when CRDs are not served. Wait waits for
// its goroutines.
func (s *Server) startCRDs(ctx context.Context) error {
	rs := s.lookup(crdGVR)
	if rs == nil {
		return nil
	}
	c := &crdController{
		s: s, rs: rs, log: s.log.With("controller", "customresourcedefinitions"),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](20*time.Millisecond, 5*time.Second),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "customresourcedefinitions"}),
		served: map[string]*servedCRD{},
	}
	rv, err := c.resync(ctx)
	if err != nil {
		return fmt.Errorf("list customresourcedefinitions: %w", err)
	}
	// Serve what is stored before the server answers its first request.
	for c.queue.Len() > 0 {
		c.processNext(ctx)
	}
	s.crdWG.Add(3)
	go func() {
		defer s.crdWG.Done()
		c.watch(ctx, rv)
	}()
	go func() {
		defer s.crdWG.Done()
		for c.processNext(ctx) {
		}
	}()
	go func() {
		defer s.crdWG.Done()
		<-ctx.Done()
		c.queue.ShutDown()
	}()
	return nil
}

// Wait blocks until the server's background goroutines (the CRD
// controller) have ended; they end when the context given to New ends.
func (s *Server) Wait() {
	s.crdWG.Wait()
}

// resync lists every CRD and queues it, and every CRD served but no
// longer stored; it returns the revision of the list.
func (c *crdController) resync(ctx context.Context) (string, error) {
	res, err := c.rs.store.List(ctx, c.rs.prefix, storage.ListOptions{Recursive: true})
	if err != nil {
		return "", err
	}
	seen := sets.New[string]()
	for _, o := range res.Items {
		m, _ := meta.Accessor(o)
		seen.Insert(m.GetName())
		c.queue.Add(m.GetName())
	}
	c.mu.Lock()
	for name := range c.served {
		if !seen.Has(name) {
			c.queue.Add(name)
		}
	}
	c.mu.Unlock()
	return strconv.FormatInt(res.ResourceVersion, 10), nil
}

// watch queues the CRDs that change, re-listing when the watch breaks.
func (c *crdController) watch(ctx context.Context, rv string) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		w, err := c.rs.store.Watch(ctx, c.rs.prefix, storage.WatchOptions{ResourceVersion: rv, Recursive: true})
		if err == nil {
			backoff = 100 * time.Millisecond
			rv, err = c.follow(ctx, w, rv)
			w.Stop()
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			c.log.Warn("Watching customresourcedefinitions failed", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			if rv, err = c.resync(ctx); err != nil {
				rv = ""
			}
		}
	}
}

// follow queues the CRD of every event until the watch ends; it returns
// the last revision seen, and an error when the watch failed.
func (c *crdController) follow(ctx context.Context, w watch.Interface, rv string) (string, error) {
	for {
		select {
		case <-ctx.Done():
			return rv, nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return rv, nil
			}
			if ev.Type == watch.Error {
				return rv, fmt.Errorf("watch error: %v", ev.Object)
			}
			m, err := meta.Accessor(ev.Object)
			if err != nil {
				continue
			}
			rv = m.GetResourceVersion()
			if ev.Type != watch.Bookmark {
				c.queue.Add(m.GetName())
			}
		}
	}
}

// processNext syncs one queued CRD; it reports false once the queue is
// shut down.
func (c *crdController) processNext(ctx context.Context) bool {
	name, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(name)
	if err := c.sync(ctx, name); err != nil {
		if ctx.Err() == nil {
			c.log.Info("Syncing customresourcedefinition failed, will retry", "crd", name, "err", err)
			c.queue.AddRateLimited(name)
		}
		return true
	}
	c.queue.Forget(name)
	return true
}

// sync moves one CRD a step toward being served (or gone).
func (c *crdController) sync(ctx context.Context, name string) error {
	obj, err := c.rs.store.Get(ctx, c.rs.key("", name), storage.GetOptions{})
	if errors.Is(err, storage.ErrNotFound) {
		c.unserve(name)
		return nil
	}
	if err != nil {
		return err
	}
	crd := obj.(*apiextensionsv1.CustomResourceDefinition)
	if crd.DeletionTimestamp != nil {
		return c.finalize(ctx, crd)
	}
	names, namesCond, err := c.acceptNames(ctx, crd)
	if err != nil {
		return err
	}
	established := crdCondition(crd, apiextensionsv1.Established)
	if namesCond.Status == apiextensionsv1.ConditionTrue {
		if err := c.serve(ctx, crd, names); err != nil {
			return err
		}
		established = &apiextensionsv1.CustomResourceDefinitionCondition{
			Type: apiextensionsv1.Established, Status: apiextensionsv1.ConditionTrue,
			Reason: "InitialNamesAccepted", Message: "the initial names have been accepted",
		}
	} else if established == nil || established.Status != apiextensionsv1.ConditionTrue {
		established = &apiextensionsv1.CustomResourceDefinitionCondition{
			Type: apiextensionsv1.Established, Status: apiextensionsv1.ConditionFalse,
			Reason: "NotAccepted", Message: "not all names are accepted",
		}
	}
	return c.updateStatus(ctx, crd, func(st *apiextensionsv1.CustomResourceDefinitionStatus) {
		st.AcceptedNames = names
		c.setCondition(st, namesCond)
		c.setCondition(st, *established)
	})
}

// acceptNames decides which of the CRD's names it may use, as upstream's
// naming controller does: a name taken by another CRD of the group (or by
// a built-in resource) is refused unless the CRD already holds it.
func (c *crdController) acceptNames(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition) (apiextensionsv1.CustomResourceDefinitionNames, apiextensionsv1.CustomResourceDefinitionCondition, error) {
	res, err := c.rs.store.List(ctx, c.rs.prefix, storage.ListOptions{Recursive: true})
	if err != nil {
		return apiextensionsv1.CustomResourceDefinitionNames{}, apiextensionsv1.CustomResourceDefinitionCondition{}, err
	}
	resources, kinds := sets.New[string](), sets.New[string]()
	for _, o := range res.Items {
		other := o.(*apiextensionsv1.CustomResourceDefinition)
		if other.Spec.Group != crd.Spec.Group || other.Name == crd.Name {
			continue
		}
		an := other.Status.AcceptedNames
		resources.Insert(an.Plural, an.Singular)
		resources.Insert(an.ShortNames...)
		kinds.Insert(an.Kind, an.ListKind)
	}
	c.s.mu.RLock()
	for gvr, r := range c.s.resources {
		if r.crd == nil && gvr.Group == crd.Spec.Group {
			resources.Insert(r.kind.Resource, r.kind.Singular)
			kinds.Insert(r.kind.GVK.Kind, r.kind.GVK.Kind+"List")
		}
	}
	c.s.mu.RUnlock()
	resources.Delete("")
	kinds.Delete("")

	want, have := crd.Spec.Names, crd.Status.AcceptedNames
	out := have
	cond := apiextensionsv1.CustomResourceDefinitionCondition{
		Type: apiextensionsv1.NamesAccepted, Status: apiextensionsv1.ConditionTrue,
		Reason: "NoConflicts", Message: "no conflicts found",
	}
	conflict := func(reason string, err error) {
		cond.Status, cond.Reason, cond.Message = apiextensionsv1.ConditionFalse, reason, err.Error()
	}
	free := func(name, held string, used sets.Set[string]) error {
		if name == held || !used.Has(name) {
			return nil
		}
		return fmt.Errorf("%q is already in use", name)
	}
	if err := free(want.Plural, have.Plural, resources); err != nil {
		conflict("PluralConflict", err)
	} else {
		out.Plural = want.Plural
	}
	if err := free(want.Singular, have.Singular, resources); err != nil {
		conflict("SingularConflict", err)
	} else {
		out.Singular = want.Singular
	}
	var shortErrs []error
	for _, sn := range want.ShortNames {
		held := ""
		for _, h := range have.ShortNames {
			if h == sn {
				held = sn
			}
		}
		if err := free(sn, held, resources); err != nil {
			shortErrs = append(shortErrs, err)
		}
	}
	if len(shortErrs) > 0 {
		conflict("ShortNamesConflict", errors.Join(shortErrs...))
	} else {
		out.ShortNames = want.ShortNames
	}
	if err := free(want.Kind, have.Kind, kinds); err != nil {
		conflict("KindConflict", err)
	} else {
		out.Kind = want.Kind
	}
	if err := free(want.ListKind, have.ListKind, kinds); err != nil {
		conflict("ListKindConflict", err)
	} else {
		out.ListKind = want.ListKind
	}
	out.Categories = want.Categories
	return out, cond, nil
}

// serve (re)builds the served versions of crd under the accepted names.
func (c *crdController) serve(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition, names apiextensionsv1.CustomResourceDefinitionNames) error {
	def := crd.DeepCopy()
	def.Spec.Names = names
	spec, err := json.Marshal(def.Spec)
	if err != nil {
		return err
	}
	signature := string(crd.UID) + string(spec)
	c.mu.Lock()
	cur := c.served[crd.Name]
	c.mu.Unlock()
	if cur != nil && cur.signature == signature {
		return nil
	}
	next := &servedCRD{uid: crd.UID, signature: signature, terminating: &atomic.Bool{}}
	if cur != nil && cur.uid == crd.UID {
		next.terminating = cur.terminating
	}
	for _, v := range def.Spec.Versions {
		if !v.Served {
			continue
		}
		res, err := customresource.New(def, v.Name)
		if err != nil {
			return err
		}
		k := res.Kind
		if err := c.s.addKind(ctx, &k, newCustomInfo(res, next.terminating)); err != nil {
			return fmt.Errorf("serve %s: %w", k.GroupVersionResource(), err)
		}
		next.gvrs = append(next.gvrs, k.GroupVersionResource())
	}
	keep := sets.New(next.gvrs...)
	if cur != nil {
		for _, gvr := range cur.gvrs {
			if !keep.Has(gvr) {
				c.s.removeResource(gvr)
			}
		}
	}
	c.mu.Lock()
	c.served[crd.Name] = next
	c.mu.Unlock()
	c.log.Info("Serving custom resource", "crd", crd.Name, "resources", len(next.gvrs))
	return nil
}

// unserve stops serving what the named CRD served.
func (c *crdController) unserve(name string) {
	c.mu.Lock()
	cur := c.served[name]
	delete(c.served, name)
	c.mu.Unlock()
	if cur == nil {
		return
	}
	for _, gvr := range cur.gvrs {
		if r := c.s.lookup(gvr); r != nil && r.crd != nil {
			c.s.removeResource(gvr)
		}
	}
	c.log.Info("Stopped serving custom resource", "crd", name)
}

// finalize deletes every object of a CRD being deleted, then removes the
// cleanup finalizer, as upstream's finalizer controller does.
func (c *crdController) finalize(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition) error {
	if !hasFinalizer(crd.Finalizers, apiextensionsv1.CustomResourceCleanupFinalizer) {
		return nil
	}
	est := crdCondition(crd, apiextensionsv1.Established)
	established := est != nil && est.Status == apiextensionsv1.ConditionTrue
	c.mu.Lock()
	cur := c.served[crd.Name]
	c.mu.Unlock()
	if cur == nil && established {
		// Not served by this process yet (it just started): serve it, so
		// that its objects can be found and deleted.
		if err := c.serve(ctx, crd, crd.Status.AcceptedNames); err != nil {
			return err
		}
		c.mu.Lock()
		cur = c.served[crd.Name]
		c.mu.Unlock()
	}
	if cur != nil {
		cur.terminating.Store(true)
	}
	err := c.updateStatus(ctx, crd, func(st *apiextensionsv1.CustomResourceDefinitionStatus) {
		c.setCondition(st, apiextensionsv1.CustomResourceDefinitionCondition{
			Type: apiextensionsv1.Terminating, Status: apiextensionsv1.ConditionTrue,
			Reason: "InstanceDeletionInProgress", Message: "CustomResource deletion is in progress",
		})
	})
	if err != nil {
		return err
	}
	cond := apiextensionsv1.CustomResourceDefinitionCondition{
		Type: apiextensionsv1.Terminating, Status: apiextensionsv1.ConditionFalse,
		Reason: "NeverEstablished", Message: "resource was never established",
	}
	if established {
		var derr error
		cond, derr = c.deleteInstances(ctx, crd)
		if derr != nil {
			if err := c.updateStatus(ctx, crd, func(st *apiextensionsv1.CustomResourceDefinitionStatus) { c.setCondition(st, cond) }); err != nil {
				return err
			}
			return derr
		}
	}
	key := c.rs.key("", crd.Name)
	res, err := c.rs.store.GuaranteedUpdate(ctx, key, &storage.Preconditions{UID: &crd.UID}, func(cur runtime.Object) (runtime.Object, error) {
		next := cur.(*apiextensionsv1.CustomResourceDefinition).DeepCopy()
		c.setCondition(&next.Status, cond)
		var fin []string
		for _, f := range next.Finalizers {
			if f != apiextensionsv1.CustomResourceCleanupFinalizer {
				fin = append(fin, f)
			}
		}
		next.Finalizers = fin
		return next, nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if m, _ := meta.Accessor(res); m.GetDeletionTimestamp() != nil && len(m.GetFinalizers()) == 0 {
		rv := m.GetResourceVersion()
		if _, err := c.rs.store.Delete(ctx, key, &storage.Preconditions{ResourceVersion: &rv}, nil); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		c.unserve(crd.Name)
	}
	return nil
}

// deleteInstances deletes every stored object of crd (objects with
// finalizers are marked for deletion and waited for) and returns the
// Terminating condition to record; the error is non-nil while objects
// remain.
func (c *crdController) deleteInstances(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition) (apiextensionsv1.CustomResourceDefinitionCondition, error) {
	failed := func(reason, msg string, err error) (apiextensionsv1.CustomResourceDefinitionCondition, error) {
		return apiextensionsv1.CustomResourceDefinitionCondition{
			Type: apiextensionsv1.Terminating, Status: apiextensionsv1.ConditionTrue, Reason: reason, Message: msg,
		}, err
	}
	prefix := storagePrefix(schema.GroupResource{Group: crd.Spec.Group, Resource: crd.Status.AcceptedNames.Plural}, true)
	c.s.mu.RLock()
	st := c.s.byStorage[prefix]
	c.s.mu.RUnlock()
	if st == nil {
		return apiextensionsv1.CustomResourceDefinitionCondition{
			Type: apiextensionsv1.Terminating, Status: apiextensionsv1.ConditionFalse,
			Reason: "InstanceDeletionCompleted", Message: "removed all instances",
		}, nil
	}
	res, err := st.List(ctx, prefix, storage.ListOptions{Recursive: true})
	if err != nil {
		return failed("InstanceDeletionFailed", fmt.Sprintf("could not list instances: %v", err), err)
	}
	namespaced := crd.Spec.Scope == apiextensionsv1.NamespaceScoped
	var errs []error
	remaining := 0
	for _, o := range res.Items {
		m, _ := meta.Accessor(o)
		key := prefix + m.GetName()
		if namespaced {
			key = prefix + m.GetNamespace() + "/" + m.GetName()
		}
		uid := m.GetUID()
		if len(m.GetFinalizers()) == 0 {
			if _, err := st.Delete(ctx, key, &storage.Preconditions{UID: &uid}, nil); err != nil && !errors.Is(err, storage.ErrNotFound) {
				errs = append(errs, err)
			}
			continue
		}
		remaining++
		if m.GetDeletionTimestamp() != nil {
			continue
		}
		now := metav1.NewTime(c.s.now().Truncate(time.Second))
		_, err := st.GuaranteedUpdate(ctx, key, &storage.Preconditions{UID: &uid}, func(cur runtime.Object) (runtime.Object, error) {
			next := cur.DeepCopyObject()
			nm, _ := meta.Accessor(next)
			if nm.GetDeletionTimestamp() == nil {
				var zero int64
				nm.SetDeletionTimestamp(&now)
				nm.SetDeletionGracePeriodSeconds(&zero)
				if nm.GetGeneration() > 0 {
					nm.SetGeneration(nm.GetGeneration() + 1)
				}
			}
			return next, nil
		})
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return failed("InstanceDeletionFailed", fmt.Sprintf("could not issue all deletes: %v", err), err)
	}
	if remaining > 0 {
		err := fmt.Errorf("%d custom resources with finalizers remaining", remaining)
		return failed("InstanceDeletionCheck", fmt.Sprintf("could not confirm zero CustomResources remaining: %v", err), err)
	}
	return apiextensionsv1.CustomResourceDefinitionCondition{
		Type: apiextensionsv1.Terminating, Status: apiextensionsv1.ConditionFalse,
		Reason: "InstanceDeletionCompleted", Message: "removed all instances",
	}, nil
}

// updateStatus applies change to the stored CRD's status, writing only
// when it changed.
func (c *crdController) updateStatus(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition, change func(*apiextensionsv1.CustomResourceDefinitionStatus)) error {
	_, err := c.rs.store.GuaranteedUpdate(ctx, c.rs.key("", crd.Name), &storage.Preconditions{UID: &crd.UID}, func(cur runtime.Object) (runtime.Object, error) {
		curCRD := cur.(*apiextensionsv1.CustomResourceDefinition)
		next := curCRD.DeepCopy()
		change(&next.Status)
		if equality.Semantic.DeepEqual(curCRD.Status, next.Status) {
			return cur, nil
		}
		return next, nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return err
}

// setCondition sets a condition, keeping its transition time when its
// status does not change.
func (c *crdController) setCondition(st *apiextensionsv1.CustomResourceDefinitionStatus, cond apiextensionsv1.CustomResourceDefinitionCondition) {
	for i := range st.Conditions {
		old := &st.Conditions[i]
		if old.Type != cond.Type {
			continue
		}
		if old.Status == cond.Status {
			cond.LastTransitionTime = old.LastTransitionTime
		} else {
			cond.LastTransitionTime = metav1.NewTime(c.s.now().Truncate(time.Second))
		}
		*old = cond
		return
	}
	cond.LastTransitionTime = metav1.NewTime(c.s.now().Truncate(time.Second))
	st.Conditions = append(st.Conditions, cond)
}

func crdCondition(crd *apiextensionsv1.CustomResourceDefinition, t apiextensionsv1.CustomResourceDefinitionConditionType) *apiextensionsv1.CustomResourceDefinitionCondition {
	for i := range crd.Status.Conditions {
		if crd.Status.Conditions[i].Type == t {
			return &crd.Status.Conditions[i]
		}
	}
	return nil
}

func hasFinalizer(fins []string, f string) bool {
	for _, x := range fins {
		if x == f {
			return true
		}
	}
	return false
}

// markCRDForDeletion is the CRD's part of a first DELETE, as upstream's
// CRD storage does it: the cleanup finalizer holds the CRD until its
// objects are gone, and the Terminating condition says so. Other objects
// are left alone.
func (s *Server) markCRDForDeletion(obj runtime.Object, fin sets.Set[string]) {
	crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition)
	if !ok {
		return
	}
	fin.Insert(apiextensionsv1.CustomResourceCleanupFinalizer)
	if !hasFinalizer(crd.Finalizers, apiextensionsv1.CustomResourceCleanupFinalizer) {
		crd.Finalizers = append(crd.Finalizers, apiextensionsv1.CustomResourceCleanupFinalizer)
	}
	c := crdController{s: s}
	c.setCondition(&crd.Status, apiextensionsv1.CustomResourceDefinitionCondition{
		Type: apiextensionsv1.Terminating, Status: apiextensionsv1.ConditionTrue,
		Reason: "InstanceDeletionPending", Message: "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
	})
}
