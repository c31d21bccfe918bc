package customresourcedefinition

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func errStrings(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, string(e.Type)+" "+e.Field)
	}
	return out
}

func objectSchema() *apiextensionsv1.CustomResourceValidation {
	return &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
		Type: "object",
		Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"spec": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
				"replicas": {Type: "integer"},
			}},
		},
	}}
}

func validCRD() *apiextensionsv1.CustomResourceDefinition {
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "widgets.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "example.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Kind: "Widget", ShortNames: []string{"wd"}},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{
				{Name: "v1", Served: true, Storage: true, Schema: objectSchema()},
			},
		},
	}
}

// create runs the create path the API server runs.
func create(crd *apiextensionsv1.CustomResourceDefinition) field.ErrorList {
	k := Kind()
	k.Strategy.Default(crd)
	k.Strategy.PrepareForCreate(crd)
	return k.Strategy.Validate(crd)
}

func TestDefaultsAndCreate(t *testing.T) {
	crd := validCRD()
	crd.Status.AcceptedNames.Kind = "Injected"
	if errs := create(crd); len(errs) != 0 {
		t.Fatalf("valid CRD rejected: %v", errs)
	}
	if crd.Spec.Names.Singular != "widget" || crd.Spec.Names.ListKind != "WidgetList" {
		t.Errorf("names not defaulted: %+v", crd.Spec.Names)
	}
	if crd.Spec.Conversion == nil || crd.Spec.Conversion.Strategy != apiextensionsv1.NoneConverter {
		t.Errorf("conversion not defaulted: %+v", crd.Spec.Conversion)
	}
	want := apiextensionsv1.CustomResourceDefinitionStatus{StoredVersions: []string{"v1"}}
	if diff := cmp.Diff(want, crd.Status); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*apiextensionsv1.CustomResourceDefinition)
		want   []string
	}{
		{
			name:   "name mismatch",
			mutate: func(c *apiextensionsv1.CustomResourceDefinition) { c.Name = "gadgets.example.com" },
			want:   []string{"FieldValueInvalid metadata.name"},
		},
		{
			name: "bad group and scope",
			mutate: func(c *apiextensionsv1.CustomResourceDefinition) {
				c.Name = "widgets.example"
				c.Spec.Group = "example"
				c.Spec.Scope = "Global"
			},
			want: []string{"FieldValueInvalid spec.group", "FieldValueNotSupported spec.scope"},
		},
		{
			name:   "missing schema",
			mutate: func(c *apiextensionsv1.CustomResourceDefinition) { c.Spec.Versions[0].Schema = nil },
			want:   []string{"FieldValueRequired spec.versions[0].schema.openAPIV3Schema"},
		},
		{
			name: "two storage versions",
			mutate: func(c *apiextensionsv1.CustomResourceDefinition) {
				c.Spec.Versions = append(c.Spec.Versions, apiextensionsv1.CustomResourceDefinitionVersion{Name: "v2", Served: true, Storage: true, Schema: objectSchema()})
			},
			want: []string{"FieldValueInvalid spec.versions", "FieldValueInvalid status.storedVersions"},
		},
		{
			name:   "no versions",
			mutate: func(c *apiextensionsv1.CustomResourceDefinition) { c.Spec.Versions = nil },
			want:   []string{"FieldValueInvalid spec.versions", "FieldValueInvalid status.storedVersions"},
		},
		{
			name: "missing kind and bad plural",
			mutate: func(c *apiextensionsv1.CustomResourceDefinition) {
				c.Name = "Widgets.example.com"
				c.Spec.Names.Plural = "Widgets"
				c.Spec.Names.Kind = ""
			},
			want: []string{
				"FieldValueRequired spec.names.singular",
				"FieldValueRequired spec.names.kind",
				"FieldValueRequired spec.names.listKind",
				"FieldValueInvalid spec.names.plural",
			},
		},
		{
			name: "non-structural schema is reported under spec.validation",
			mutate: func(c *apiextensionsv1.CustomResourceDefinition) {
				c.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"] = apiextensionsv1.JSONSchemaProps{
					Properties: map[string]apiextensionsv1.JSONSchemaProps{"x": {Type: "thing"}},
				}
			},
			want: []string{
				"FieldValueRequired spec.validation.openAPIV3Schema.properties[spec].type",
				"FieldValueNotSupported spec.validation.openAPIV3Schema.properties[spec].properties[x].type",
			},
		},
		{
			name: "status subresource needs object root",
			mutate: func(c *apiextensionsv1.CustomResourceDefinition) {
				c.Spec.Versions[0].Subresources = &apiextensionsv1.CustomResourceSubresources{
					Status: &apiextensionsv1.CustomResourceSubresourceStatus{},
					Scale:  &apiextensionsv1.CustomResourceSubresourceScale{SpecReplicasPath: "spec.replicas"},
				}
			},
			want: []string{
				"FieldValueInvalid spec.subresources.scale.specReplicasPath",
				"FieldValueRequired spec.subresources.scale.statusReplicasPath",
			},
		},
		{
			name: "protected group needs approval",
			mutate: func(c *apiextensionsv1.CustomResourceDefinition) {
				c.Name, c.Spec.Group = "widgets.x.k8s.io", "x.k8s.io"
			},
			want: []string{"FieldValueRequired metadata.annotations[api-approved.kubernetes.io]"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			crd := validCRD()
			tc.mutate(crd)
			if diff := cmp.Diff(tc.want, errStrings(create(crd))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	k := Kind()
	old := validCRD()
	if errs := create(old); len(errs) != 0 {
		t.Fatal(errs)
	}
	old.Status.Conditions = []apiextensionsv1.CustomResourceDefinitionCondition{{Type: apiextensionsv1.Established, Status: apiextensionsv1.ConditionTrue}}

	crd := old.DeepCopy()
	crd.Spec.Versions[0].Storage = false
	crd.Spec.Versions = append(crd.Spec.Versions, apiextensionsv1.CustomResourceDefinitionVersion{Name: "v2", Served: true, Storage: true, Schema: objectSchema()})
	crd.Status = apiextensionsv1.CustomResourceDefinitionStatus{}
	k.Strategy.Default(crd)
	k.Strategy.PrepareForUpdate(crd, old)
	if diff := cmp.Diff([]string{"v1", "v2"}, crd.Status.StoredVersions); diff != "" {
		t.Errorf("stored versions (-want +got):\n%s", diff)
	}
	if errs := k.Strategy.ValidateUpdate(crd, old); len(errs) != 0 {
		t.Errorf("adding a version rejected: %v", errs)
	}

	renamed := old.DeepCopy()
	renamed.Spec.Names.Kind = "Gadget"
	renamed.Spec.Scope = apiextensionsv1.ClusterScoped
	want := []string{"FieldValueInvalid spec.scope", "FieldValueInvalid spec.names.kind"}
	if diff := cmp.Diff(want, errStrings(k.Strategy.ValidateUpdate(renamed, old))); diff != "" {
		t.Errorf("immutable once established (-want +got):\n%s", diff)
	}
}

func TestRow(t *testing.T) {
	crd := validCRD()
	crd.CreationTimestamp = metav1.NewTime(time.Date(2024, 5, 6, 7, 8, 9, 0, time.FixedZone("x", 3600)))
	want := []interface{}{"widgets.example.com", "2024-05-06T06:08:09Z"}
	if diff := cmp.Diff(want, Kind().Strategy.Row(crd, crd.CreationTimestamp.Time)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
