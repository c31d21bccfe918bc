package openapi

import (
	"encoding/json"
	"fmt"
	"reflect"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

const metadataDoc = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"

const listMetadataDoc = "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#lists-and-maps"

// addCustom adds the definitions of a custom resource and its list, shaped
// as upstream's CRD builder shapes them: the CRD schema with apiVersion,
// kind and metadata (a reference to ObjectMeta) set at the root.
func (b *defBuilder) addCustom(r Resource) error {
	s, err := convertJSONSchemaProps(r.Schema)
	if err != nil {
		return fmt.Errorf("convert schema of %s: %w", r.GVK, err)
	}
	if !b.v3 {
		toV2(&s)
	}
	if len(s.Type) == 0 {
		s.Type = spec.StringOrArray{"object"}
	}
	if r.Schema == nil {
		s.AddExtension(extPreserveUnknown, true)
	}
	if s.Properties == nil {
		s.Properties = map[string]spec.Schema{}
	}
	typeMetaDocs := swaggerDoc(reflect.TypeFor[metav1.TypeMeta]())
	s.Properties["apiVersion"] = stringSchema(typeMetaDocs["apiVersion"])
	s.Properties["kind"] = stringSchema(typeMetaDocs["kind"])
	s.Properties["metadata"] = b.refSchema(b.add(reflect.TypeFor[metav1.ObjectMeta]()), metadataDoc, nil)
	s.AddExtension(extGVK, gvkExtension([]schema.GroupVersionKind{r.GVK}))
	b.defs[r.objectName()] = s

	var list spec.Schema
	list.Description = r.GVK.Kind + "List is a list of " + r.GVK.Kind
	list.Type = spec.StringOrArray{"object"}
	list.Required = []string{"items"}
	item := b.refSchema(r.objectName(), "", nil)
	list.Properties = map[string]spec.Schema{
		"apiVersion": stringSchema(typeMetaDocs["apiVersion"]),
		"kind":       stringSchema(typeMetaDocs["kind"]),
		"items": {SchemaProps: spec.SchemaProps{
			Description: "List of " + r.Resource + ". More info: https://git.k8s.io/community/contributors/devel/api-conventions.md",
			Type:        spec.StringOrArray{"array"},
			Items:       &spec.SchemaOrArray{Schema: &item},
		}},
		"metadata": b.refSchema(b.add(reflect.TypeFor[metav1.ListMeta]()), listMetadataDoc, nil),
	}
	list.AddExtension(extGVK, gvkExtension([]schema.GroupVersionKind{r.listGVK()}))
	b.defs[r.listName()] = list
	return nil
}

func stringSchema(description string) spec.Schema {
	return spec.Schema{SchemaProps: spec.SchemaProps{Description: description, Type: spec.StringOrArray{"string"}}}
}

// convertJSONSchemaProps converts a CRD schema into an OpenAPI schema. Both
// share the JSON Schema wire form (x-kubernetes-* keys become extensions),
// so a JSON round trip is exact.
func convertJSONSchemaProps(p *apiextensionsv1.JSONSchemaProps) (spec.Schema, error) {
	var s spec.Schema
	if p == nil {
		return s, nil
	}
	data, err := json.Marshal(p)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, err
	}
	return s, nil
}

// toV2 drops what OpenAPI v2 (and kubectl's v2 validation) cannot express,
// in place, as upstream does when publishing CRD schemas in v2: nullable
// (and the type of a nullable value, so null passes client-side checks),
// oneOf/anyOf/not, the type of int-or-string values, and defaults.
func toV2(s *spec.Schema) {
	if s == nil {
		return
	}
	if s.Nullable {
		s.Nullable = false
		s.Type = nil
	}
	if v, ok := s.Extensions.GetBool(extIntOrString); ok && v {
		s.Type = nil
		s.Format = ""
	}
	s.OneOf, s.AnyOf, s.Not = nil, nil, nil
	s.Default = nil
	s.PatternProperties = nil
	s.Dependencies = nil
	s.AdditionalItems = nil
	s.Definitions = nil
	s.ID = ""
	s.Schema = ""
	for name, p := range s.Properties {
		toV2(&p)
		s.Properties[name] = p
	}
	for i := range s.AllOf {
		toV2(&s.AllOf[i])
	}
	if s.Items != nil {
		toV2(s.Items.Schema)
		for i := range s.Items.Schemas {
			toV2(&s.Items.Schemas[i])
		}
	}
	if s.AdditionalProperties != nil {
		toV2(s.AdditionalProperties.Schema)
	}
}
