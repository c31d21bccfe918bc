package openapi

import (
	"encoding/json"
	"strings"
	"testing"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	openapi_v3 "github.com/google/gnostic-models/openapiv3"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/util/proto"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// These tests read the documents the way kubectl does: the v2 document
// through gnostic and kube-openapi's proto models (kubectl explain
// --output plaintext-openapiv2, client-side validation), the v3 documents
// as JSON into spec3 (kubectl explain, the fieldValidation support check).

// gvkIndex maps kinds to model names from the x-kubernetes-group-version-kind
// extension, as kubectl's openapi.NewOpenAPIData does.
func gvkIndex(t *testing.T, models proto.Models) map[schema.GroupVersionKind]string {
	t.Helper()
	index := map[schema.GroupVersionKind]string{}
	for _, name := range models.ListModels() {
		ext := models.LookupModel(name).GetExtensions()[extGVK]
		list, ok := ext.([]interface{})
		if ext != nil && !ok {
			t.Fatalf("%s: %s is %T, want a list", name, extGVK, ext)
		}
		for _, item := range list {
			m, ok := item.(map[interface{}]interface{})
			if !ok {
				t.Fatalf("%s: %s item is %T", name, extGVK, item)
			}
			gvk := schema.GroupVersionKind{}
			gvk.Group, _ = m["group"].(string)
			gvk.Version, _ = m["version"].(string)
			gvk.Kind, _ = m["kind"].(string)
			index[gvk] = name
		}
	}
	return index
}

// protoField returns field name of the kind s refers to.
func protoField(t *testing.T, s proto.Schema, name string) proto.Schema {
	t.Helper()
	for {
		r, ok := s.(proto.Reference)
		if !ok {
			break
		}
		s = r.SubSchema()
	}
	k, ok := s.(*proto.Kind)
	if !ok {
		t.Fatalf("%s is %T, not a kind", s.GetPath(), s)
	}
	f, ok := k.Fields[name]
	if !ok {
		t.Fatalf("%s has no field %q (fields %v)", s.GetPath(), name, k.Keys())
	}
	return f
}

func v2Models(t *testing.T, resources []Resource) proto.Models {
	t.Helper()
	swagger, err := BuildV2(resources)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(swagger)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi_v2.ParseDocument(data)
	if err != nil {
		t.Fatalf("gnostic rejects the v2 document: %v", err)
	}
	models, err := proto.NewOpenAPIData(doc)
	if err != nil {
		t.Fatalf("proto models: %v", err)
	}
	return models
}

func TestKubectlV2(t *testing.T) {
	t.Parallel()
	models := v2Models(t, testResources())
	index := gvkIndex(t, models)

	tests := []struct {
		name     string
		gvk      schema.GroupVersionKind
		path     []string
		wantDesc string
		wantKind string // proto type of the final field: kind, array, map, primitive type
	}{
		{"deployment strategy", schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
			[]string{"spec", "strategy"}, "The deployment strategy", "kind"},
		{"strategy type", schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
			[]string{"spec", "strategy", "type"}, "Type of deployment", "string"},
		{"pod containers", schema.GroupVersionKind{Version: "v1", Kind: "Pod"},
			[]string{"spec", "containers"}, "List of containers", "array"},
		{"pod limits", schema.GroupVersionKind{Version: "v1", Kind: "Pod"},
			[]string{"spec", "containers", "resources", "limits"}, "Limits describes", "map"},
		{"crontab spec", schema.GroupVersionKind{Group: "stable.example.com", Version: "v1", Kind: "CronTab"},
			[]string{"spec", "cronSpec"}, "The cron schedule.", "string"},
		{"crontab metadata", schema.GroupVersionKind{Group: "stable.example.com", Version: "v1", Kind: "CronTab"},
			[]string{"metadata", "name"}, "Name must be unique", "string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			model, ok := index[tc.gvk]
			if !ok {
				t.Fatalf("no model for %v", tc.gvk)
			}
			s := models.LookupModel(model)
			for _, step := range tc.path {
				if a, ok := s.(*proto.Array); ok {
					s = a.SubType
				}
				s = protoField(t, s, step)
			}
			if !strings.Contains(s.GetDescription(), tc.wantDesc) {
				t.Errorf("description = %q, want it to contain %q", s.GetDescription(), tc.wantDesc)
			}
			var kind string
			switch v := s.(type) {
			case proto.Reference:
				kind = "kind"
			case *proto.Kind:
				kind = "kind"
			case *proto.Array:
				kind = "array"
			case *proto.Map:
				kind = "map"
			case *proto.Primitive:
				kind = v.Type
			default:
				kind = s.GetPath().String()
			}
			if kind != tc.wantKind {
				t.Errorf("field is %s (%T), want %s", kind, s, tc.wantKind)
			}
		})
	}
}

// TestKubectlV2FieldValidation checks the v2 patch operations the way
// kubectl's QueryParamVerifier does before it relies on server-side field
// validation: every PATCH of the kind must list the fieldValidation query
// parameter.
func TestKubectlV2FieldValidation(t *testing.T) {
	t.Parallel()
	swagger, err := BuildV2(testResources())
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(swagger)
	doc, err := openapi_v2.ParseDocument(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, gvk := range []schema.GroupVersionKind{
		{Group: "apps", Version: "v1", Kind: "Deployment"},
		{Version: "v1", Kind: "Pod"},
		{Group: "stable.example.com", Version: "v1", Kind: "CronTab"},
	} {
		found := 0
		for _, p := range doc.GetPaths().GetPath() {
			op := p.GetValue().GetPatch()
			if op == nil || !v2OpHasGVK(op, gvk) {
				continue
			}
			found++
			ok := false
			for _, param := range op.GetParameters() {
				if param.GetParameter().GetNonBodyParameter().GetQueryParameterSubSchema().GetName() == "fieldValidation" {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s: PATCH %s lacks fieldValidation", gvk, p.GetName())
			}
		}
		if found == 0 {
			t.Errorf("%s: no PATCH operation", gvk)
		}
	}
}

func v2OpHasGVK(op *openapi_v2.Operation, gvk schema.GroupVersionKind) bool {
	for _, ext := range op.GetVendorExtension() {
		if ext.GetName() != extGVK {
			continue
		}
		y := ext.GetValue().GetYaml()
		return strings.Contains(y, "group: "+quoteIfEmpty(gvk.Group)) &&
			strings.Contains(y, "version: "+gvk.Version) && strings.Contains(y, "kind: "+gvk.Kind+"\n")
	}
	return false
}

func quoteIfEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

func v3Docs(t *testing.T, resources []Resource) map[string]*spec3.OpenAPI {
	t.Helper()
	docs, err := BuildV3(resources)
	if err != nil {
		t.Fatal(err)
	}
	parsed := map[string]*spec3.OpenAPI{}
	for key, doc := range docs {
		data, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		var back spec3.OpenAPI
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatalf("%s: spec3 cannot read the document: %v", key, err)
		}
		gdoc, err := openapi_v3.ParseDocument(data)
		if err != nil {
			t.Fatalf("%s: gnostic rejects the document: %v", key, err)
		}
		if _, err := proto.NewOpenAPIV3Data(gdoc); err != nil {
			t.Fatalf("%s: proto models: %v", key, err)
		}
		parsed[key] = &back
	}
	return parsed
}

func TestKubectlV3(t *testing.T) {
	t.Parallel()
	docs := v3Docs(t, testResources())
	wantKeys := []string{"api/v1", "apis/apiextensions.k8s.io/v1", "apis/apps/v1", "apis/stable.example.com/v1"}
	for _, k := range wantKeys {
		if docs[k] == nil {
			t.Errorf("no document %q", k)
		}
	}
	if len(docs) != len(wantKeys) {
		t.Errorf("got %d documents, want %d", len(docs), len(wantKeys))
	}

	tests := []struct {
		name     string
		gvk      schema.GroupVersionKind
		path     []string
		wantDesc string
		wantType string
	}{
		{"deployment strategy", schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
			[]string{"spec", "strategy"}, "The deployment strategy", "object"},
		{"rolling update", schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"},
			[]string{"spec", "strategy", "rollingUpdate", "maxUnavailable"}, "The maximum number of pods that can be unavailable", ""},
		{"pod node name", schema.GroupVersionKind{Version: "v1", Kind: "Pod"},
			[]string{"spec", "nodeName"}, "NodeName", "string"},
		{"crontab nullable note", schema.GroupVersionKind{Group: "stable.example.com", Version: "v1", Kind: "CronTab"},
			[]string{"spec", "note"}, "", "string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := docs[gvPath(tc.gvk.GroupVersion())]
			var name string
			for n, s := range doc.Components.Schemas {
				var gvks []map[string]string
				if err := s.Extensions.GetObject(extGVK, &gvks); err != nil {
					continue
				}
				for _, g := range gvks {
					if g["group"] == tc.gvk.Group && g["version"] == tc.gvk.Version && g["kind"] == tc.gvk.Kind {
						name = n
					}
				}
			}
			if name == "" {
				t.Fatalf("no schema with %s %v", extGVK, tc.gvk)
			}
			defs := spec.Definitions{}
			for n, s := range doc.Components.Schemas {
				defs[n] = *s
			}
			raw, got := walk(t, defs, name, strings.Join(tc.path, "."))
			if !strings.Contains(raw.Description, tc.wantDesc) {
				t.Errorf("description = %q, want it to contain %q", raw.Description, tc.wantDesc)
			}
			if typ := strings.Join(got.Type, ","); typ != tc.wantType {
				t.Errorf("type = %q, want %q", typ, tc.wantType)
			}
		})
	}
}

// TestKubectlV3FieldValidation mirrors kubectl's QueryParamVerifierV3.
func TestKubectlV3FieldValidation(t *testing.T) {
	t.Parallel()
	docs := v3Docs(t, testResources())
	for _, gvk := range []schema.GroupVersionKind{
		{Group: "apps", Version: "v1", Kind: "Deployment"},
		{Version: "v1", Kind: "Pod"},
		{Group: "stable.example.com", Version: "v1", Kind: "CronTab"},
	} {
		doc := docs[gvPath(gvk.GroupVersion())]
		found := 0
		for path, p := range doc.Paths.Paths {
			op := p.Patch
			if op == nil {
				continue
			}
			var g map[string]string
			if err := op.Extensions.GetObject(extGVK, &g); err != nil || g["group"] != gvk.Group || g["version"] != gvk.Version || g["kind"] != gvk.Kind {
				continue
			}
			found++
			ok := false
			for _, param := range op.Parameters {
				if param.Name == "fieldValidation" && param.In == "query" {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s: PATCH %s lacks fieldValidation", gvk, path)
			}
		}
		if found == 0 {
			t.Errorf("%s: no PATCH operation", gvk)
		}
	}
}
