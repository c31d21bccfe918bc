package apiserver

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/applyconfigurations"
)

// customInfo is what a custom resource's definition adds to the generic
// resource handling: schema validation, pruning, printer columns.
type customInfo struct {
	typeConverter managedfields.TypeConverter
	columns       []metav1.TableColumnDefinition
	row           func(obj runtime.Object, now time.Time) []interface{}
	pruneFunc     func(u *unstructured.Unstructured) []string
	validateFunc  func(obj runtime.Object) field.ErrorList
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

func (c *customInfo) prepareForCreate(runtime.Object) {}

func builtinTypeConverter(s *runtime.Scheme) managedfields.TypeConverter {
	return applyconfigurations.NewTypeConverter(s)
}
