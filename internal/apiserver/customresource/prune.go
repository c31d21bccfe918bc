package customresource

import (
	"sort"
	"strconv"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// metaFields are kept at a resource root (and in embedded resources)
// whatever the schema says.
var metaFields = map[string]bool{"apiVersion": true, "kind": true, "metadata": true}

// objectMetaFields are the JSON names of metav1.ObjectMeta's fields: what
// metadata keeps.
var objectMetaFields = map[string]bool{
	"name": true, "generateName": true, "namespace": true, "selfLink": true, "uid": true,
	"resourceVersion": true, "generation": true, "creationTimestamp": true, "deletionTimestamp": true,
	"deletionGracePeriodSeconds": true, "labels": true, "annotations": true, "ownerReferences": true,
	"finalizers": true, "managedFields": true,
}

// Prune drops from u every field the schema does not know, as upstream's
// structural pruning does, coerces metadata to ObjectMeta (at the root
// and in x-kubernetes-embedded-resource objects) and drops nulls of
// non-nullable fields without default. It returns the dropped paths
// (spec.foo, spec.list[0].bar, metadata.baz), sorted, for the
// fieldValidation directive.
func (r *Resource) Prune(u *unstructured.Unstructured) []string {
	return r.prune(u.Object, true)
}

func (r *Resource) prune(obj map[string]interface{}, track bool) []string {
	p := pruner{track: track}
	root := &apiextensionsv1.JSONSchemaProps{}
	if r.Schema != nil {
		c := *r.Schema
		root = &c
	}
	root.XEmbeddedResource = true
	dropNulls(obj, root)
	p.walk(obj, root, nil)
	sort.Strings(p.unknown)
	return p.unknown
}

type pruner struct {
	track   bool
	unknown []string
}

func childPath(path []string, key string) []string {
	out := make([]string, len(path), len(path)+1)
	copy(out, path)
	if len(out) > 0 {
		key = "." + key
	}
	return append(out, key)
}

func indexPath(path []string, i int) []string {
	out := make([]string, len(path), len(path)+1)
	copy(out, path)
	return append(out, "["+strconv.Itoa(i)+"]")
}

func (p *pruner) record(path []string, key string) {
	if p.track {
		p.unknown = append(p.unknown, strings.Join(childPath(path, key), ""))
	}
}

// walk prunes x under s; path is where x is, in upstream's notation.
func (p *pruner) walk(x interface{}, s *apiextensionsv1.JSONSchemaProps, path []string) {
	preserve := s != nil && s.XPreserveUnknownFields != nil && *s.XPreserveUnknownFields
	switch x := x.(type) {
	case map[string]interface{}:
		if s != nil && s.XEmbeddedResource {
			if m, ok := x["metadata"]; ok {
				x["metadata"] = p.coerceMeta(m, childPath(path, "metadata"))
			}
		}
		for k, v := range x {
			if s != nil && s.XEmbeddedResource && metaFields[k] {
				continue
			}
			if s == nil {
				p.record(path, k)
				delete(x, k)
				continue
			}
			if prop, ok := s.Properties[k]; ok {
				p.walk(v, &prop, childPath(path, k))
				continue
			}
			if ap := s.AdditionalProperties; ap != nil && (ap.Schema != nil || ap.Allows) {
				if ap.Schema != nil {
					p.walk(v, ap.Schema, childPath(path, k))
				}
				continue
			}
			if preserve {
				continue
			}
			p.record(path, k)
			delete(x, k)
		}
	case []interface{}:
		var items *apiextensionsv1.JSONSchemaProps
		if s != nil && s.Items != nil {
			items = s.Items.Schema
		}
		if items == nil && preserve {
			return
		}
		for i, v := range x {
			p.walk(v, items, indexPath(path, i))
		}
	}
}

// coerceMeta keeps only ObjectMeta's fields of a metadata value, drops
// malformed ones and records unknown ones under path.
func (p *pruner) coerceMeta(m interface{}, path []string) interface{} {
	mm, ok := m.(map[string]interface{})
	if !ok {
		return map[string]interface{}{}
	}
	for k := range mm {
		if !objectMetaFields[k] {
			p.record(path, k)
			delete(mm, k)
		}
	}
	var om metav1.ObjectMeta
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(mm, &om); err != nil {
		// Malformed fields: keep what parses on its own, as upstream's
		// DropMalformedFields does.
		good := map[string]interface{}{}
		for k, v := range mm {
			var one metav1.ObjectMeta
			if runtime.DefaultUnstructuredConverter.FromUnstructured(map[string]interface{}{k: v}, &one) == nil {
				good[k] = v
			}
		}
		om = metav1.ObjectMeta{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(good, &om); err != nil {
			return map[string]interface{}{}
		}
	}
	out, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&om)
	if err != nil {
		return mm
	}
	if out["creationTimestamp"] == nil {
		delete(out, "creationTimestamp")
	}
	return out
}

// dropNulls removes null values of fields that are neither nullable nor
// defaulted, as upstream does before defaulting.
func dropNulls(x interface{}, s *apiextensionsv1.JSONSchemaProps) {
	if s == nil {
		return
	}
	switch x := x.(type) {
	case map[string]interface{}:
		for k, v := range x {
			var ps *apiextensionsv1.JSONSchemaProps
			if prop, ok := s.Properties[k]; ok {
				ps = &prop
			} else if s.AdditionalProperties != nil {
				ps = s.AdditionalProperties.Schema
			}
			if ps == nil {
				continue
			}
			if v == nil && !ps.Nullable && ps.Default == nil {
				delete(x, k)
				continue
			}
			dropNulls(v, ps)
		}
	case []interface{}:
		if s.Items != nil {
			for _, v := range x {
				dropNulls(v, s.Items.Schema)
			}
		}
	}
}
