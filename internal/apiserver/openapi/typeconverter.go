package openapi

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// TypeConverter returns the server-side apply type converter for resources,
// built from the same OpenAPI v3 definitions the Service publishes, so
// built-in and custom resources merge by the schema clients see. Objects of
// kinds not among resources fail conversion with managedfields'
// no-corresponding-type error. The converter is immutable and safe for
// concurrent use; build a new one when the resources change.
func TypeConverter(resources []Resource) (managedfields.TypeConverter, error) {
	defs, err := buildDefinitions(resources, true)
	if err != nil {
		return nil, err
	}
	models := make(map[string]*spec.Schema, len(defs))
	for name := range defs {
		s := defs[name]
		models[name] = &s
	}
	tc, err := managedfields.NewTypeConverter(models, false)
	if err != nil {
		return nil, fmt.Errorf("build type converter: %w", err)
	}
	return tc, nil
}
