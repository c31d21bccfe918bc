package openapi

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// resolve follows a $ref, or a one-element allOf holding a $ref, to the
// definition it names.
func resolve(t *testing.T, defs spec.Definitions, s spec.Schema) spec.Schema {
	t.Helper()
	ref := s.Ref
	if ref.String() == "" && len(s.AllOf) == 1 {
		ref = s.AllOf[0].Ref
	}
	if ref.String() == "" {
		return s
	}
	def, ok := defs[refName(ref)]
	if !ok {
		t.Fatalf("dangling reference %s", ref.String())
	}
	return def
}

// walk starts at definition def and follows path, a dot-separated list of
// property names where "[]" steps into array items and "{}" into
// additionalProperties. It returns the schema found at the end as written
// (raw, with its description and extensions) and resolved (refs followed).
func walk(t *testing.T, defs spec.Definitions, def, path string) (raw, resolved spec.Schema) {
	t.Helper()
	cur, ok := defs[def]
	if !ok {
		t.Fatalf("no definition %q", def)
	}
	raw = cur
	if path == "" {
		return raw, cur
	}
	for _, step := range strings.Split(path, ".") {
		switch step {
		case "[]":
			if cur.Items == nil || cur.Items.Schema == nil {
				t.Fatalf("%s: %s has no items", def, path)
			}
			raw = *cur.Items.Schema
		case "{}":
			if cur.AdditionalProperties == nil || cur.AdditionalProperties.Schema == nil {
				t.Fatalf("%s: %s has no additionalProperties", def, path)
			}
			raw = *cur.AdditionalProperties.Schema
		default:
			p, ok := cur.Properties[step]
			if !ok {
				t.Fatalf("%s: no property %q on the way to %s (have %v)", def, step, path, propNames(cur))
			}
			raw = p
		}
		cur = resolve(t, defs, raw)
	}
	return raw, cur
}

func propNames(s spec.Schema) []string {
	var names []string
	for n := range s.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func TestDefinitionsV2(t *testing.T) {
	t.Parallel()
	defs, err := buildDefinitions(testResources(), false)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		def, path  string
		wantType   string
		wantFormat string
		wantDesc   string // substring of the raw description
		wantProps  []string
		wantExt    map[string]interface{} // on the raw schema
		wantRef    string                 // raw schema's $ref
		wantReq    []string               // resolved schema's required
	}{
		{name: "deployment strategy", def: "io.k8s.api.apps.v1.Deployment", path: "spec.strategy",
			wantType: "object", wantDesc: "The deployment strategy to use to replace existing pods with new ones.",
			wantProps: []string{"rollingUpdate", "type"}, wantRef: "#/definitions/io.k8s.api.apps.v1.DeploymentStrategy",
			wantExt: map[string]interface{}{extPatchStrategy: "retainKeys"}},
		{name: "rolling update max surge is int-or-string", def: "io.k8s.api.apps.v1.DeploymentStrategy", path: "rollingUpdate.maxSurge",
			wantType: "string", wantFormat: "int-or-string", wantDesc: "maximum number of pods that can be scheduled above"},
		{name: "containers merge by name", def: "io.k8s.api.core.v1.Pod", path: "spec.containers",
			wantType: "array", wantDesc: "List of containers belonging to the pod.",
			wantExt: map[string]interface{}{extPatchStrategy: "merge", extPatchMergeKey: "name"}},
		{name: "container requires name", def: "io.k8s.api.core.v1.Pod", path: "spec.containers.[]",
			wantType: "object", wantReq: []string{"name"}, wantRef: "#/definitions/io.k8s.api.core.v1.Container"},
		{name: "container ports list map keys", def: "io.k8s.api.core.v1.Container", path: "ports",
			wantType: "array",
			wantExt: map[string]interface{}{extPatchStrategy: "merge", extPatchMergeKey: "containerPort",
				extListType: "map", extListMapKeys: []interface{}{"containerPort", "protocol"}}},
		{name: "limits map of quantities", def: "io.k8s.api.core.v1.Container", path: "resources.limits",
			wantType: "object", wantDesc: "Limits describes the maximum amount of compute resources allowed."},
		{name: "quantity is a string", def: "io.k8s.api.core.v1.Container", path: "resources.limits.{}",
			wantType: "string", wantRef: "#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity"},
		{name: "creation timestamp", def: "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", path: "creationTimestamp",
			wantType: "string", wantFormat: "date-time", wantRef: "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Time"},
		{name: "labels map of strings", def: "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", path: "labels.{}", wantType: "string"},
		{name: "secret data is bytes", def: "io.k8s.api.core.v1.ConfigMap", path: "binaryData.{}", wantType: "string", wantFormat: "byte"},
		{name: "pod has no required fields", def: "io.k8s.api.core.v1.Pod", wantType: "object",
			wantProps: []string{"apiVersion", "kind", "metadata", "spec", "status"}},
		{name: "object meta has no required fields", def: "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", wantType: "object"},
		{name: "deployment spec requires selector and template", def: "io.k8s.api.apps.v1.DeploymentSpec", wantType: "object",
			wantReq: []string{"selector", "template"}},
		{name: "inline volume source is flattened", def: "io.k8s.api.core.v1.Volume", path: "configMap",
			wantType: "object", wantRef: "#/definitions/io.k8s.api.core.v1.ConfigMapVolumeSource"},
		{name: "atomic struct", def: "io.k8s.api.core.v1.LocalObjectReference", wantType: "object",
			wantExt: map[string]interface{}{extMapType: "atomic"}},
		{name: "raw extension is an object", def: "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent", path: "object",
			wantType: "object", wantRef: "#/definitions/io.k8s.apimachinery.pkg.runtime.RawExtension"},
		{name: "recursive CRD schema type", def: "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps", path: "properties.{}",
			wantType: "object", wantRef: "#/definitions/io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, got := walk(t, defs, tc.def, tc.path)
			if typ := strings.Join(got.Type, ","); typ != tc.wantType {
				t.Errorf("type = %q, want %q", typ, tc.wantType)
			}
			if got.Format != tc.wantFormat {
				t.Errorf("format = %q, want %q", got.Format, tc.wantFormat)
			}
			if !strings.Contains(raw.Description, tc.wantDesc) {
				t.Errorf("description = %q, want it to contain %q", raw.Description, tc.wantDesc)
			}
			if tc.wantProps != nil {
				if diff := cmp.Diff(tc.wantProps, propNames(got)); diff != "" {
					t.Errorf("properties (-want +got):\n%s", diff)
				}
			}
			for k, want := range tc.wantExt {
				if diff := cmp.Diff(want, raw.Extensions[k]); diff != "" {
					t.Errorf("extension %s (-want +got):\n%s", k, diff)
				}
			}
			if tc.wantRef != "" && raw.Ref.String() != tc.wantRef {
				t.Errorf("$ref = %q, want %q", raw.Ref.String(), tc.wantRef)
			}
			if diff := cmp.Diff(tc.wantReq, got.Required); diff != "" {
				t.Errorf("required (-want +got):\n%s", diff)
			}
			if raw.Default != nil {
				t.Errorf("v2 schema has default %v; upstream prunes defaults from v2", raw.Default)
			}
		})
	}
}

func TestDefinitionsV3(t *testing.T) {
	t.Parallel()
	defs, err := buildDefinitions(testResources(), true)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		def, path   string
		wantAllOf   string // the raw schema wraps this reference in allOf
		wantDefault interface{}
		wantOneOf   []string
		wantFormat  string
	}{
		{name: "metadata wrapped in allOf", def: "io.k8s.api.apps.v1.Deployment", path: "metadata",
			wantAllOf: "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", wantDefault: map[string]interface{}{}},
		{name: "pointer struct has no default", def: "io.k8s.api.apps.v1.DeploymentSpec", path: "selector",
			wantAllOf: "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"},
		{name: "required string defaults to empty", def: "io.k8s.api.core.v1.Container", path: "name", wantDefault: ""},
		{name: "optional string has no default", def: "io.k8s.api.core.v1.Container", path: "image"},
		{name: "quantity oneOf", def: "io.k8s.apimachinery.pkg.api.resource.Quantity", wantOneOf: []string{"string", "number"}},
		{name: "int-or-string oneOf", def: "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
			wantOneOf: []string{"integer", "string"}, wantFormat: "int-or-string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, _ := walk(t, defs, tc.def, tc.path)
			gotAllOf := ""
			if len(raw.AllOf) == 1 {
				gotAllOf = raw.AllOf[0].Ref.String()
			}
			if gotAllOf != tc.wantAllOf {
				t.Errorf("allOf ref = %q, want %q", gotAllOf, tc.wantAllOf)
			}
			if raw.Ref.String() != "" && raw.Description != "" {
				t.Errorf("$ref with a sibling description: %s", raw.Ref.String())
			}
			if diff := cmp.Diff(tc.wantDefault, raw.Default); diff != "" {
				t.Errorf("default (-want +got):\n%s", diff)
			}
			var oneOf []string
			for _, s := range raw.OneOf {
				oneOf = append(oneOf, s.Type...)
			}
			if diff := cmp.Diff(tc.wantOneOf, oneOf); diff != "" {
				t.Errorf("oneOf (-want +got):\n%s", diff)
			}
			if raw.Format != tc.wantFormat {
				t.Errorf("format = %q, want %q", raw.Format, tc.wantFormat)
			}
		})
	}
}

func TestGroupVersionKindExtension(t *testing.T) {
	t.Parallel()
	defs, err := buildDefinitions(testResources(), false)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		def  string
		want interface{}
	}{
		{"io.k8s.api.apps.v1.Deployment", []interface{}{map[string]interface{}{"group": "apps", "version": "v1", "kind": "Deployment"}}},
		{"io.k8s.api.apps.v1.DeploymentList", []interface{}{map[string]interface{}{"group": "apps", "version": "v1", "kind": "DeploymentList"}}},
		{"io.k8s.api.core.v1.Pod", []interface{}{map[string]interface{}{"group": "", "version": "v1", "kind": "Pod"}}},
		{"io.k8s.api.autoscaling.v1.Scale", []interface{}{map[string]interface{}{"group": "autoscaling", "version": "v1", "kind": "Scale"}}},
		{"io.k8s.apimachinery.pkg.apis.meta.v1.Status", []interface{}{map[string]interface{}{"group": "", "version": "v1", "kind": "Status"}}},
		{"com.example.stable.v1.CronTab", []interface{}{map[string]interface{}{"group": "stable.example.com", "version": "v1", "kind": "CronTab"}}},
		{"io.k8s.api.core.v1.PodSpec", nil},
	}
	for _, tc := range tests {
		t.Run(tc.def, func(t *testing.T) {
			got, ok := defs[tc.def]
			if !ok {
				t.Fatalf("no definition %q", tc.def)
			}
			if diff := cmp.Diff(tc.want, got.Extensions[extGVK]); diff != "" {
				t.Errorf("%s (-want +got):\n%s", extGVK, diff)
			}
		})
	}
}

func TestTypeName(t *testing.T) {
	t.Parallel()
	type local struct{}
	tests := []struct {
		t    reflect.Type
		want string
	}{
		{reflect.TypeFor[spec.Schema](), "io.k8s.kube-openapi.pkg.validation.spec.Schema"},
		{reflect.TypeFor[local](), "com.github.skiff.skiff.internal.apiserver.openapi.local"},
	}
	for _, tc := range tests {
		if got := typeName(tc.t); got != tc.want {
			t.Errorf("typeName(%v) = %q, want %q", tc.t, got, tc.want)
		}
	}
	if got := customTypeName(cronTab().GVK); got != "com.example.stable.v1.CronTab" {
		t.Errorf("customTypeName = %q", got)
	}
}
