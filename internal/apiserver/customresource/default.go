package customresource

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
)

// Default sets the schema's `default:` values on obj where fields are
// missing (or null and not nullable), at every depth, as upstream's
// structural defaulting does on decode and on read. Defaults of fields
// under a defaulted value apply too.
func (r *Resource) Default(obj runtime.Object) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok || r.Schema == nil {
		return
	}
	applyDefaults(u.Object, r.Schema)
}

func applyDefaults(x interface{}, s *apiextensionsv1.JSONSchemaProps) {
	if s == nil {
		return
	}
	switch x := x.(type) {
	case map[string]interface{}:
		for k, prop := range s.Properties {
			if prop.Default == nil {
				continue
			}
			if v, found := x[k]; !found || (v == nil && !prop.Nullable) {
				if d, ok := defaultValue(prop.Default); ok {
					x[k] = d
				}
			}
		}
		for k, v := range x {
			if prop, ok := s.Properties[k]; ok {
				applyDefaults(v, &prop)
				continue
			}
			if ap := s.AdditionalProperties; ap != nil && ap.Schema != nil {
				if v == nil && !ap.Schema.Nullable && ap.Schema.Default != nil {
					if d, ok := defaultValue(ap.Schema.Default); ok {
						x[k] = d
					}
				}
				applyDefaults(x[k], ap.Schema)
			}
		}
	case []interface{}:
		if s.Items == nil || s.Items.Schema == nil {
			return
		}
		items := s.Items.Schema
		for i, v := range x {
			if v == nil && !items.Nullable && items.Default != nil {
				if d, ok := defaultValue(items.Default); ok {
					x[i] = d
				}
			}
			applyDefaults(x[i], items)
		}
	}
}

// defaultValue decodes a schema default into a fresh JSON value with
// int64 integers, as unstructured objects hold them.
func defaultValue(d *apiextensionsv1.JSON) (interface{}, bool) {
	if d == nil || len(d.Raw) == 0 {
		return nil, false
	}
	var v interface{}
	if err := utiljson.Unmarshal(d.Raw, &v); err != nil {
		return nil, false
	}
	return v, true
}
