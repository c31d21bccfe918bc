package openapi

import (
	"fmt"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/applyconfigurations"
	"k8s.io/kube-openapi/pkg/validation/spec"
	smdschema "sigs.k8s.io/structured-merge-diff/v6/schema"
)

// Upstream's generator reads list, map and struct semantics (+listType,
// +listMapKeys, +mapType, +structType) from comment tags, which reflection
// cannot see. client-go embeds the structured-merge-diff schema generated
// from those same tags for every built-in type, so the builders take the
// semantics from there: addStructure copies them onto the definitions as the
// x-kubernetes-list-type, x-kubernetes-list-map-keys and
// x-kubernetes-map-type extensions. Server-side apply of built-ins then
// merges exactly as upstream, and the served documents carry the same
// extensions.

// builtinStructure returns client-go's structured-merge-diff schema of the
// built-in types.
func builtinStructure() (*smdschema.Schema, error) {
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	probe := &corev1.ConfigMap{}
	probe.APIVersion, probe.Kind = "v1", "ConfigMap"
	tv, err := applyconfigurations.NewTypeConverter(scheme).ObjectToTyped(probe)
	if err != nil {
		return nil, fmt.Errorf("load built-in structure: %w", err)
	}
	return tv.Schema(), nil
}

// addStructure adds list and map semantics from smd to the definitions of
// built-in types, in place. Extensions already implied by the patch tags
// (upstream emits list types only where a tag sets them) are not repeated.
func addStructure(defs spec.Definitions, smd *smdschema.Schema, skip map[string]bool) {
	for name, def := range defs {
		if skip[name] {
			continue
		}
		td, ok := smd.FindNamedType(name)
		if !ok || td.Map == nil {
			continue
		}
		if v := mapType(td.Map.ElementRelationship); v != "" {
			def.AddExtension(extMapType, v)
		}
		for _, f := range td.Map.Fields {
			prop, ok := def.Properties[f.Name]
			if !ok {
				continue
			}
			addFieldStructure(&prop, f.Type, smd)
			def.Properties[f.Name] = prop
		}
		defs[name] = def
	}
}

func addFieldStructure(prop *spec.Schema, ref smdschema.TypeRef, smd *smdschema.Schema) {
	if ref.NamedType != nil {
		if ref.ElementRelationship != nil {
			if v := mapType(*ref.ElementRelationship); v != "" {
				prop.AddExtension(extMapType, v)
			}
		}
		return
	}
	switch {
	case ref.Inlined.List != nil:
		l := ref.Inlined.List
		listType, keys := "atomic", []string(nil)
		if l.ElementRelationship == smdschema.Associative {
			listType, keys = "set", l.Keys
			if len(keys) > 0 {
				listType = "map"
			}
		}
		if impliedListType(prop) == listType && sameKeys(impliedKeys(prop), keys) {
			return
		}
		prop.AddExtension(extListType, listType)
		if len(keys) > 0 {
			ks := make([]interface{}, len(keys))
			for i, k := range keys {
				ks[i] = k
			}
			prop.AddExtension(extListMapKeys, ks)
		}
	case ref.Inlined.Map != nil:
		if v := mapType(ref.Inlined.Map.ElementRelationship); v != "" {
			prop.AddExtension(extMapType, v)
		}
	}
}

func mapType(r smdschema.ElementRelationship) string {
	switch r {
	case smdschema.Atomic:
		return "atomic"
	case smdschema.Separable:
		return "granular"
	}
	return ""
}

// impliedListType returns the list type structured-merge-diff derives from
// a property's patch tags alone.
func impliedListType(prop *spec.Schema) string {
	strategy, _ := prop.Extensions.GetString(extPatchStrategy)
	switch strategy {
	case "merge", "merge,retainKeys":
		if _, ok := prop.Extensions.GetString(extPatchMergeKey); ok {
			return "map"
		}
		return "set"
	}
	return "atomic"
}

func impliedKeys(prop *spec.Schema) []string {
	if impliedListType(prop) != "map" {
		return nil
	}
	k, _ := prop.Extensions.GetString(extPatchMergeKey)
	return []string{k}
}

func sameKeys(a, b []string) bool {
	return reflect.DeepEqual(a, b) || (len(a) == 0 && len(b) == 0)
}
