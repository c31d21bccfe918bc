package customresource

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// objectMetaSchema is the part of ObjectMeta's OpenAPI schema server-side
// apply needs: how labels, annotations, finalizers and owner references
// merge. Other fields are scalars or atomic.
const objectMetaSchema = `{
  "type": "object",
  "x-kubernetes-preserve-unknown-fields": true,
  "properties": {
    "name": {"type": "string"},
    "generateName": {"type": "string"},
    "namespace": {"type": "string"},
    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
    "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    "finalizers": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
    "ownerReferences": {
      "type": "array",
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["uid"],
      "items": {
        "type": "object",
        "required": ["apiVersion", "kind", "name", "uid"],
        "properties": {
          "apiVersion": {"type": "string"},
          "kind": {"type": "string"},
          "name": {"type": "string"},
          "uid": {"type": "string"},
          "controller": {"type": "boolean"},
          "blockOwnerDeletion": {"type": "boolean"}
        },
        "x-kubernetes-map-type": "atomic"
      }
    }
  }
}`

// newTypeConverter builds the server-side apply converter of one custom
// kind from its schema, completed with apiVersion, kind and metadata as
// upstream's CRD OpenAPI builder completes it.
func newTypeConverter(gvk schema.GroupVersionKind, p *apiextensionsv1.JSONSchemaProps) (managedfields.TypeConverter, error) {
	s := &spec.Schema{}
	if p != nil {
		data, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(data, s); err != nil {
			return nil, err
		}
		stripForSMD(s)
	} else {
		s.AddExtension("x-kubernetes-preserve-unknown-fields", true)
	}
	s.Type = spec.StringOrArray{"object"}
	if s.Properties == nil {
		s.Properties = map[string]spec.Schema{}
	}
	var meta spec.Schema
	if err := json.Unmarshal([]byte(objectMetaSchema), &meta); err != nil {
		return nil, fmt.Errorf("object meta schema: %w", err)
	}
	str := spec.Schema{SchemaProps: spec.SchemaProps{Type: spec.StringOrArray{"string"}}}
	s.Properties["apiVersion"] = str
	s.Properties["kind"] = str
	s.Properties["metadata"] = meta
	s.AddExtension("x-kubernetes-group-version-kind", []interface{}{
		map[string]interface{}{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind},
	})
	name := reverseGroup(gvk.Group) + "." + gvk.Version + "." + gvk.Kind
	return managedfields.NewTypeConverter(map[string]*spec.Schema{name: s}, false)
}

// stripForSMD drops what the structured-merge-diff conversion does not
// need and could trip on (validation-only composition).
func stripForSMD(s *spec.Schema) {
	walkSchema(s, func(s *spec.Schema) {
		s.AllOf, s.AnyOf, s.OneOf, s.Not = nil, nil, nil, nil
		s.Default = nil
		if v, ok := s.Extensions.GetBool("x-kubernetes-embedded-resource"); ok && v {
			if s.Properties == nil {
				s.Properties = map[string]spec.Schema{}
			}
			str := spec.Schema{SchemaProps: spec.SchemaProps{Type: spec.StringOrArray{"string"}}}
			for _, k := range []string{"apiVersion", "kind"} {
				if _, ok := s.Properties[k]; !ok {
					s.Properties[k] = str
				}
			}
			if _, ok := s.Properties["metadata"]; !ok {
				s.Properties["metadata"] = spec.Schema{
					SchemaProps:      spec.SchemaProps{Type: spec.StringOrArray{"object"}},
					VendorExtensible: spec.VendorExtensible{Extensions: spec.Extensions{"x-kubernetes-preserve-unknown-fields": true}},
				}
			}
		}
	})
}

// reverseGroup turns example.com into com.example, as upstream names
// custom kinds' definitions.
func reverseGroup(g string) string {
	parts := strings.Split(g, ".")
	slices.Reverse(parts)
	return strings.Join(parts, ".")
}
