package apiserver

import (
	"sync/atomic"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/applyconfigurations"

	"github.com/skiff/skiff/internal/apiserver/customresource"
)

// customInfo is what a custom resource's definition adds to the generic
// resource handling: schema validation, pruning, printer columns.
type customInfo struct {
	typeConverter managedfields.TypeConverter
	columns       []metav1.TableColumnDefinition
	row           func(obj runtime.Object, now time.Time) []interface{}
	pruneFunc     func(u *unstructured.Unstructured) []string
	validateFunc  func(obj runtime.Object) field.ErrorList

	// res is the served version; nil only in hand-built test values.
	res *customresource.Resource
	// terminating is shared by every served version of one CRD and set
	// once the CRD is being deleted: creates are refused from then on.
	terminating *atomic.Bool
}

// newCustomInfo wires a served CRD version into the generic hooks. The
// kind's own Strategy already validates and defaults.
func newCustomInfo(res *customresource.Resource, terminating *atomic.Bool) *customInfo {
	return &customInfo{
		typeConverter: res.TypeConverter,
		columns:       res.Columns,
		row:           res.Row,
		pruneFunc:     res.Prune,
		res:           res,
		terminating:   terminating,
	}
}

// prune drops fields the schema does not know and returns their paths.
func (c *customInfo) prune(u *unstructured.Unstructured) []string {
	if c.pruneFunc == nil {
		return nil
	}
	return c.pruneFunc(u)
}

func (c *customInfo) validate(obj runtime.Object) field.ErrorList {
	if c.validateFunc == nil {
		return nil
	}
	return c.validateFunc(obj)
}

// prepareForCreate refuses creates while the CRD is being deleted, with
// upstream's error.
func (c *customInfo) prepareForCreate(obj runtime.Object) error {
	if c.terminating == nil || !c.terminating.Load() {
		return nil
	}
	gvk := obj.GetObjectKind().GroupVersionKind()
	gr := schema.GroupResource{Group: gvk.Group}
	if c.res != nil {
		gr = c.res.Kind.GroupResource()
	}
	err := apierrors.NewMethodNotSupported(gr, "create")
	err.ErrStatus.Message = "create not allowed while custom resource definition is terminating"
	return err
}

// fromStorage returns a stored object as served: at the served version,
// pruned and defaulted. The stored object is not modified.
func (c *customInfo) fromStorage(obj runtime.Object) runtime.Object {
	if c.res == nil {
		return obj
	}
	return c.res.FromStorage(obj)
}

// toStorage returns a served object at the storage version.
func (c *customInfo) toStorage(obj runtime.Object) runtime.Object {
	if c.res == nil {
		return obj
	}
	return c.res.ToStorage(obj)
}

// openAPISchema is the served version's schema, for the OpenAPI documents.
func (c *customInfo) openAPISchema() *apiextensionsv1.JSONSchemaProps {
	if c.res == nil {
		return nil
	}
	return c.res.Schema
}

func builtinTypeConverter(s *runtime.Scheme) managedfields.TypeConverter {
	return applyconfigurations.NewTypeConverter(s)
}
