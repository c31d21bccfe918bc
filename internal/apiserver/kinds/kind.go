package kinds

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Kind describes one resource as served at one group version.
type Kind struct {
	// GVK is the group, version and kind served.
	GVK schema.GroupVersionKind
	// Resource is the lower-case plural (pods), Singular the lower-case
	// singular (pod).
	Resource, Singular string
	Namespaced         bool
	ShortNames         []string
	// Categories such as "all" (kubectl get all).
	Categories []string
	// New and NewList return empty typed objects.
	New, NewList func() runtime.Object
	// HasStatus reports whether the kind has a status subresource: then the
	// main resource ignores status changes and /status ignores the rest.
	HasStatus bool
	// KeepStatusOnCreate keeps a client's status on create (nodes, and the
	// kinds with no status subresource); otherwise status is reset.
	KeepStatusOnCreate bool
	// TracksGeneration reports whether metadata.generation starts at 1 and
	// is bumped on every change outside metadata and status.
	TracksGeneration bool
	// Scale, when set, serves the /scale subresource.
	Scale *Scale
	// ReturnDeletedObject makes DELETE answer with the object, as upstream
	// does for pods and a few others; otherwise a Success Status.
	ReturnDeletedObject bool
	// Verbs overrides the default verb set when non-nil.
	Verbs []string
	// Strategy holds the kind's behaviour; zero fields mean "nothing to do".
	Strategy Strategy
	// Storage, when set, is the kind this one is stored as (another version
	// or group of the same resource, e.g. autoscaling/v1 HPAs are stored as
	// autoscaling/v2). ToStorage and FromStorage convert between the two;
	// the stored kind must itself be served by another Kind record.
	Storage     *schema.GroupVersionKind
	ToStorage   func(obj runtime.Object) (runtime.Object, error)
	FromStorage func(obj runtime.Object) (runtime.Object, error)
	// Restore, when set, puts back on an object read from storage what the
	// protobuf encoding does not carry, as upstream's conversion to the
	// served version does (the apiVersion and kind of a StatefulSet's
	// volumeClaimTemplates).
	Restore func(obj runtime.Object)
}

// Scale locates the fields the autoscaling/v1 Scale subresource maps to.
type Scale struct {
	// SpecReplicas and StatusReplicas are dotted paths (spec.replicas).
	SpecReplicas, StatusReplicas string
	// LabelSelector is the path of the status field holding the selector as
	// a string (as for custom resources), or "" when Selector is used.
	LabelSelector string
	// Selector returns the selector string for status.selector of the Scale.
	Selector func(obj runtime.Object) string
}

// Strategy is a kind's pure behaviour. Every field may be nil.
type Strategy struct {
	// ValidateName checks metadata.name (or generateName when prefix is
	// true); nil means a DNS-1123 subdomain (path.ValidatePathSegmentName
	// and validation.NameIsDNSLabel are the other upstream choices).
	ValidateName func(name string, prefix bool) []string
	// Default sets defaulted fields as upstream's defaulters do. It runs on
	// create, update and patch, after decoding.
	Default func(obj runtime.Object)
	// PrepareForCreate clears or computes fields a client may not set.
	PrepareForCreate func(obj runtime.Object)
	// PrepareForUpdate does the same on update; old is the stored object.
	PrepareForUpdate func(obj, old runtime.Object)
	// Validate and ValidateUpdate return field errors; object metadata is
	// validated by the API server itself.
	Validate       func(obj runtime.Object) field.ErrorList
	ValidateUpdate func(obj, old runtime.Object) field.ErrorList
	// Warnings returns warnings (HTTP Warning headers) for a valid object.
	Warnings func(obj runtime.Object) []string
	// Columns are the table columns (Priority 1 only with -o wide);
	// the first is always "Name".
	Columns []metav1.TableColumnDefinition
	// Row returns one row's cells for Columns, at time now.
	Row func(obj runtime.Object, now time.Time) []interface{}
	// GracePeriod returns the seconds a DELETE waits before the object is
	// removed (pods wait for their node); requested is the client's
	// gracePeriodSeconds. nil means deletion is immediate.
	GracePeriod func(obj runtime.Object, requested *int64) int64
	// Fields returns the kind's selectable fields beyond metadata.name and
	// metadata.namespace, which the API server always adds. Calling it on
	// an empty object must return every supported key.
	Fields func(obj runtime.Object) fields.Set
}

// DefaultVerbs is the verb set of a resource that supports everything.
var DefaultVerbs = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

// GroupResource returns the kind's group and resource.
func (k *Kind) GroupResource() schema.GroupResource {
	return schema.GroupResource{Group: k.GVK.Group, Resource: k.Resource}
}

// GroupVersionResource returns the kind's group, version and resource.
func (k *Kind) GroupVersionResource() schema.GroupVersionResource {
	return k.GVK.GroupVersion().WithResource(k.Resource)
}

// AllVerbs returns the verbs the resource supports.
func (k *Kind) AllVerbs() []string {
	if k.Verbs != nil {
		return k.Verbs
	}
	return DefaultVerbs
}
