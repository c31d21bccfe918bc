package gc

import (
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// item names one object the collector examines: its resource, namespace,
// name and UID (so a newer object of the same name is a different item).
type item struct {
	gvr       schema.GroupVersionResource
	namespace string
	name      string
	uid       types.UID
}

// key encodes the item as a queue key. The name goes last: it is the only
// part that may contain the separator.
func (it item) key() string {
	return strings.Join([]string{it.gvr.Group, it.gvr.Version, it.gvr.Resource, it.namespace, string(it.uid), it.name}, "|")
}

func (it item) String() string {
	return fmt.Sprintf("%s %s/%s (%s)", it.gvr.GroupResource(), it.namespace, it.name, it.uid)
}

func parseKey(key string) (item, error) {
	p := strings.SplitN(key, "|", 6)
	if len(p) != 6 {
		return item{}, fmt.Errorf("malformed garbage collector key %q", key)
	}
	return item{
		gvr:       schema.GroupVersionResource{Group: p[0], Version: p[1], Resource: p[2]},
		namespace: p[3], uid: types.UID(p[4]), name: p[5],
	}, nil
}

func itemOf(gvr schema.GroupVersionResource, m *metav1.PartialObjectMetadata) item {
	return item{gvr: gvr, namespace: m.Namespace, name: m.Name, uid: m.UID}
}

func hasFinalizer(m metav1.Object, f string) bool { return slices.Contains(m.GetFinalizers(), f) }

// deletingDependents reports whether m is being deleted in the foreground.
func deletingDependents(m metav1.Object) bool {
	return m.GetDeletionTimestamp() != nil && hasFinalizer(m, metav1.FinalizerDeleteDependents)
}

// orphaning reports whether m is being deleted with its dependents
// orphaned.
func orphaning(m metav1.Object) bool {
	return m.GetDeletionTimestamp() != nil && hasFinalizer(m, metav1.FinalizerOrphanDependents)
}

// blocks reports whether m has an ownerReference to uid with
// blockOwnerDeletion set.
func blocks(m metav1.Object, uid types.UID) bool {
	for _, r := range m.GetOwnerReferences() {
		if r.UID == uid && r.BlockOwnerDeletion != nil && *r.BlockOwnerDeletion {
			return true
		}
	}
	return false
}
