package openapi

import (
	"errors"
	"fmt"
	"reflect"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Resource describes one resource (one kind in one group version) served by
// the API server. Built-in resources carry typed zero values in Object and
// List; custom resources carry the structural schema of the served CRD
// version in Schema and leave Object and List nil.
type Resource struct {
	GVK        schema.GroupVersionKind // e.g. apps/v1 Deployment
	Resource   string                  // plural, e.g. "deployments"
	Namespaced bool
	// Verbs are the Kubernetes verbs served on the resource: get list watch
	// create update patch delete deletecollection.
	Verbs []string
	// Subresources are served subresource names: "status", "scale", ...
	Subresources []string
	// Object is a typed zero value (e.g. &appsv1.Deployment{}) for a
	// built-in resource; nil for a custom resource.
	Object runtime.Object
	// List is the typed list (e.g. &appsv1.DeploymentList{}); nil for a
	// custom resource.
	List runtime.Object
	// Schema is the structural schema of a custom resource version; nil for
	// built-ins. A custom resource with a nil Schema is served as an object
	// that preserves unknown fields.
	Schema *apiextensionsv1.JSONSchemaProps
}

// ErrInvalidResource is wrapped by the builders when a Resource is malformed.
var ErrInvalidResource = errors.New("invalid resource")

// IsCustom reports whether r is a custom resource (it has no Go type).
func (r Resource) IsCustom() bool { return r.Object == nil }

func (r Resource) validate() error {
	if r.GVK.Version == "" || r.GVK.Kind == "" || r.Resource == "" {
		return fmt.Errorf("resource %q (%s): version, kind and plural are required: %w", r.Resource, r.GVK, ErrInvalidResource)
	}
	if r.Object == nil && r.List != nil {
		return fmt.Errorf("resource %s: List set without Object: %w", r.GVK, ErrInvalidResource)
	}
	if r.Object != nil && r.Schema != nil {
		return fmt.Errorf("resource %s: both Object and Schema set: %w", r.GVK, ErrInvalidResource)
	}
	for _, o := range []runtime.Object{r.Object, r.List} {
		if o == nil {
			continue
		}
		if t := reflect.TypeOf(o); t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
			return fmt.Errorf("resource %s: %T is not a pointer to a struct: %w", r.GVK, o, ErrInvalidResource)
		}
	}
	return nil
}

// hasVerb reports whether r serves verb.
func (r Resource) hasVerb(verb string) bool {
	for _, v := range r.Verbs {
		if v == verb {
			return true
		}
	}
	return false
}

// objectName is the definition name of the resource's kind.
func (r Resource) objectName() string {
	if r.Object != nil {
		return typeName(reflect.TypeOf(r.Object).Elem())
	}
	return customTypeName(r.GVK)
}

// listName is the definition name of the resource's list kind, or "" when
// a built-in resource has no List.
func (r Resource) listName() string {
	if r.Object != nil {
		if r.List == nil {
			return ""
		}
		return typeName(reflect.TypeOf(r.List).Elem())
	}
	return customTypeName(r.listGVK())
}

func (r Resource) listGVK() schema.GroupVersionKind {
	return r.GVK.GroupVersion().WithKind(r.GVK.Kind + "List")
}

// customTypeName names a custom kind as upstream's CRD builder does: the
// group reversed, then version and kind (stable.example.com/v1 CronTab
// becomes com.example.stable.v1.CronTab).
func customTypeName(gvk schema.GroupVersionKind) string {
	return reverseDots(gvk.Group) + "." + gvk.Version + "." + gvk.Kind
}

// gvPath returns the document key of a group version: "api/v1" for the
// core group, "apis/<group>/<version>" otherwise.
func gvPath(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "api/" + gv.Version
	}
	return "apis/" + gv.Group + "/" + gv.Version
}
