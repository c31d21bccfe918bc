package serviceendpoint

import (
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// PodEvents turns pod events into the keys of the Services whose
// endpoints they change: those selecting the pod, and on a label change
// those that selected it before.
type PodEvents struct {
	Services corelisters.ServiceLister
	Enqueue  func(key string)
}

// Handler returns the handlers to register on the pod informer.
func (e PodEvents) Handler() cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{AddFunc: e.Add, UpdateFunc: e.Update, DeleteFunc: e.Delete}
}

// Add wakes the Services selecting the pod obj.
func (e PodEvents) Add(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	for key := range e.servicesOf(pod) {
		e.Enqueue(key)
	}
}

// Update wakes the Services selecting the pod, before or after the
// change; resyncs (same resource version) are ignored.
func (e PodEvents) Update(oldObj, newObj any) {
	oldPod, ok1 := oldObj.(*corev1.Pod)
	newPod, ok2 := newObj.(*corev1.Pod)
	if !ok1 || !ok2 || oldPod.ResourceVersion == newPod.ResourceVersion {
		return
	}
	keys := e.servicesOf(newPod)
	if !maps.Equal(oldPod.Labels, newPod.Labels) {
		keys = keys.Union(e.servicesOf(oldPod))
	}
	for key := range keys {
		e.Enqueue(key)
	}
}

// Delete wakes the Services that selected the deleted pod.
func (e PodEvents) Delete(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	e.Add(obj)
}

// servicesOf returns the keys of the Services in pod's namespace whose
// (non-empty) selector matches it; Services without a selector have
// endpoints their users manage.
func (e PodEvents) servicesOf(pod *corev1.Pod) sets.Set[string] {
	keys := sets.New[string]()
	svcs, err := e.Services.Services(pod.Namespace).List(labels.Everything())
	if err != nil {
		return keys
	}
	for _, svc := range svcs {
		if len(svc.Spec.Selector) > 0 && labels.SelectorFromValidatedSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) {
			keys.Insert(svc.Namespace + "/" + svc.Name)
		}
	}
	return keys
}
