package controller

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"
)

// Owners looks up, in an informer cache, the objects of one kind that
// own dependents (pods, ReplicaSets) through a ControllerRef or may adopt
// them by selector.
type Owners[T metav1.Object] struct {
	// Kind is what a ControllerRef to an owner names.
	Kind schema.GroupVersionKind
	// Get reads one owner from the cache.
	Get func(namespace, name string) (T, error)
	// List reads a namespace's owners from the cache.
	List func(namespace string) ([]T, error)
	// Selector returns the label selector with which owner claims
	// dependents.
	Selector func(owner T) *metav1.LabelSelector
}

// Resolve returns the owner ref points to, if it is of Kind and still the
// same object (an owner deleted and made again under the same name is
// another owner).
func (o Owners[T]) Resolve(namespace string, ref *metav1.OwnerReference) (T, bool) {
	var none T
	if ref.Kind != o.Kind.Kind || ref.APIVersion != o.Kind.GroupVersion().String() {
		return none, false
	}
	owner, err := o.Get(namespace, ref.Name)
	if err != nil || owner.GetUID() != ref.UID {
		return none, false
	}
	return owner, true
}

// Selecting returns the owners in dep's namespace whose (non-empty)
// selector matches dep's labels: those that may adopt it.
func (o Owners[T]) Selecting(dep metav1.Object) []T {
	all, err := o.List(dep.GetNamespace())
	if err != nil {
		return nil
	}
	var out []T
	for _, owner := range all {
		sel, err := metav1.LabelSelectorAsSelector(o.Selector(owner))
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(dep.GetLabels())) {
			out = append(out, owner)
		}
	}
	return out
}

// DependentEvents turns the informer events of dependents into owner keys
// to sync, as upstream's workload controllers route them: an owned
// dependent wakes its owner (and its former owner when the ControllerRef
// changed), an orphan wakes the owners that may adopt it, and a dependent
// whose deletion began counts as deleted, since it no longer counts
// towards its owner.
type DependentEvents[T metav1.Object] struct {
	Owners  Owners[T]
	Enqueue func(key string)
	// Created, if set, is told that a dependent of the owner key appeared
	// (to lower creation expectations).
	Created func(key string)
	// Deleted, if set, is told that dep, a dependent of the owner key, is
	// gone or going (to lower deletion expectations).
	Deleted func(key string, dep metav1.Object)
	// MinReadySeconds, if set, returns the owner's spec.minReadySeconds:
	// a pod that becomes ready wakes its owner again once they have
	// passed (plus a second of slack), when it may count as available.
	MinReadySeconds func(owner T) int32
	EnqueueAfter    func(key string, d time.Duration)
}

// Handler returns the handlers to register on the dependents' informer.
func (e DependentEvents[T]) Handler() cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{AddFunc: e.Add, UpdateFunc: e.Update, DeleteFunc: e.Delete}
}

// podReady reports whether obj is a pod whose Ready condition is true.
func podReady(obj metav1.Object) bool {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func ownerKey(owner metav1.Object) string { return owner.GetNamespace() + "/" + owner.GetName() }

// Add handles a dependent that appeared.
func (e DependentEvents[T]) Add(obj any) {
	dep, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	if dep.GetDeletionTimestamp() != nil {
		// Seen for the first time already terminating (after a restart
		// of the informer): it must not count as a creation.
		e.Delete(dep)
		return
	}
	if ref := metav1.GetControllerOf(dep); ref != nil {
		if owner, ok := e.Owners.Resolve(dep.GetNamespace(), ref); ok {
			key := ownerKey(owner)
			if e.Created != nil {
				e.Created(key)
			}
			e.Enqueue(key)
		}
		return
	}
	e.enqueueSelecting(dep)
}

// Update handles a changed dependent; resyncs (same resource version)
// are ignored.
func (e DependentEvents[T]) Update(oldObj, newObj any) {
	old, ok1 := oldObj.(metav1.Object)
	cur, ok2 := newObj.(metav1.Object)
	if !ok1 || !ok2 || old.GetResourceVersion() == cur.GetResourceVersion() {
		return
	}
	labelsChanged := !labels.Equals(old.GetLabels(), cur.GetLabels())
	if cur.GetDeletionTimestamp() != nil {
		// Graceful deletion began: act now rather than when the node
		// confirms, and tell the old owner too if the labels moved it.
		e.Delete(cur)
		if labelsChanged {
			e.Delete(old)
		}
		return
	}
	oldRef, curRef := metav1.GetControllerOf(old), metav1.GetControllerOf(cur)
	if oldRef != nil && (curRef == nil || oldRef.UID != curRef.UID) {
		if owner, ok := e.Owners.Resolve(old.GetNamespace(), oldRef); ok {
			e.Enqueue(ownerKey(owner))
		}
	}
	if curRef != nil {
		owner, ok := e.Owners.Resolve(cur.GetNamespace(), curRef)
		if !ok {
			return
		}
		key := ownerKey(owner)
		e.Enqueue(key)
		if e.MinReadySeconds != nil {
			if secs := e.MinReadySeconds(owner); secs > 0 && !podReady(old) && podReady(cur) {
				e.EnqueueAfter(key, time.Duration(secs)*time.Second+time.Second)
			}
		}
		return
	}
	// An orphan that changed labels, or was just released, may now be
	// adopted.
	if labelsChanged || oldRef != nil {
		e.enqueueSelecting(cur)
	}
}

// Delete handles a dependent that is gone (or, from Add and Update, going).
func (e DependentEvents[T]) Delete(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	dep, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	ref := metav1.GetControllerOf(dep)
	if ref == nil {
		return
	}
	if owner, ok := e.Owners.Resolve(dep.GetNamespace(), ref); ok {
		key := ownerKey(owner)
		if e.Deleted != nil {
			e.Deleted(key, dep)
		}
		e.Enqueue(key)
	}
}

func (e DependentEvents[T]) enqueueSelecting(dep metav1.Object) {
	for _, owner := range e.Owners.Selecting(dep) {
		e.Enqueue(ownerKey(owner))
	}
}
