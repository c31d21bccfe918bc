package customresource

import (
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/yaml"
)

const widgetCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList, shortNames: [wd], categories: [all]}
  versions:
  - name: v1
    served: true
    storage: true
    selectableFields:
    - jsonPath: .spec.color
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas, labelSelectorPath: .status.selector}
    additionalPrinterColumns:
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Color, type: string, jsonPath: .spec.color, description: The color}
    - {name: Ready, type: boolean, jsonPath: .status.ready, priority: 1}
    - {name: Ratio, type: number, jsonPath: .spec.ratio}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [color]
            properties:
              replicas: {type: integer, minimum: 0, default: 1}
              color: {type: string, enum: [red, blue]}
              ratio: {type: number}
              size: {type: string, maxLength: 3}
              port: {x-kubernetes-int-or-string: true}
              tags: {type: array, maxItems: 2, items: {type: string}}
              opts:
                type: object
                default: {}
                properties:
                  mode: {type: string, default: fast}
              ports:
                type: array
                items:
                  type: object
                  properties:
                    name: {type: string}
                    proto: {type: string, default: TCP}
              labels: {type: object, additionalProperties: {type: string}}
              free: {type: object, x-kubernetes-preserve-unknown-fields: true}
              template: {type: object, x-kubernetes-embedded-resource: true, x-kubernetes-preserve-unknown-fields: true}
          status:
            type: object
            properties:
              replicas: {type: integer}
              selector: {type: string}
              ready: {type: boolean}
`

func widget(t *testing.T) *apiextensionsv1.CustomResourceDefinition {
	t.Helper()
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal([]byte(widgetCRD), crd); err != nil {
		t.Fatal(err)
	}
	return crd
}

func newWidget(t *testing.T) *Resource {
	t.Helper()
	r, err := New(widget(t), "v1")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func obj(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := utiljson.Unmarshal(j, &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestKind(t *testing.T) {
	r := newWidget(t)
	k := r.Kind
	if want := (schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}); k.GVK != want {
		t.Errorf("GVK = %v, want %v", k.GVK, want)
	}
	if k.Resource != "widgets" || k.Singular != "widget" || !k.Namespaced || !k.HasStatus || !k.TracksGeneration {
		t.Errorf("unexpected kind %+v", k)
	}
	if diff := cmp.Diff([]string{"wd"}, k.ShortNames); diff != "" {
		t.Errorf("short names (-want +got):\n%s", diff)
	}
	want := "example.com/v1, Kind=WidgetList"
	if got := k.NewList().GetObjectKind().GroupVersionKind().String(); got != want {
		t.Errorf("list kind = %s, want %s", got, want)
	}
	if got := k.New().GetObjectKind().GroupVersionKind(); got != k.GVK {
		t.Errorf("new kind = %v", got)
	}
	if k.Scale == nil || k.Scale.SpecReplicas != "spec.replicas" || k.Scale.StatusReplicas != "status.replicas" || k.Scale.LabelSelector != "status.selector" {
		t.Errorf("scale = %+v", k.Scale)
	}
	fs := k.Strategy.Fields(obj(t, "spec: {color: red}"))
	if fs["spec.color"] != "red" {
		t.Errorf("fields = %v", fs)
	}
	if _, err := New(widget(t), "v9"); err == nil {
		t.Error("unknown version accepted")
	}
}

func TestPrune(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    string
		unknown []string
	}{
		{
			name: "unknown fields at every depth",
			in: `
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, labels: {a: b}, bogus: 1}
spec:
  color: red
  extra: 1
  ports: [{name: a, junk: x}]
  labels: {x: y}
  free: {anything: {goes: true}}
  template: {apiVersion: v1, kind: Pod, metadata: {name: p, nope: 1}, spec: {x: 1}}
status: {replicas: 1, other: 2}
top: 1`,
			want: `
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, labels: {a: b}}
spec:
  color: red
  ports: [{name: a}]
  labels: {x: y}
  free: {anything: {goes: true}}
  template: {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {x: 1}}
status: {replicas: 1}`,
			unknown: []string{"metadata.bogus", "spec.extra", "spec.ports[0].junk", "spec.template.metadata.nope", "status.other", "top"},
		},
		{
			name:    "null of a non-nullable field is dropped",
			in:      `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w}, spec: {color: red, size: null}}`,
			want:    `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w}, spec: {color: red}}`,
			unknown: nil,
		},
	}
	r := newWidget(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := obj(t, tc.in)
			got := r.Prune(u)
			if diff := cmp.Diff(tc.unknown, got); diff != "" {
				t.Errorf("unknown (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(obj(t, tc.want).Object, u.Object); diff != "" {
				t.Errorf("object (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefault(t *testing.T) {
	r := newWidget(t)
	u := obj(t, `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w}, spec: {color: red, ports: [{name: a}, {name: b, proto: UDP}]}}`)
	r.Default(u)
	want := obj(t, `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w}, spec: {color: red, replicas: 1, opts: {mode: fast}, ports: [{name: a, proto: TCP}, {name: b, proto: UDP}]}}`)
	if diff := cmp.Diff(want.Object, u.Object); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, ok := u.Object["spec"].(map[string]interface{})["replicas"].(int64); !ok {
		t.Errorf("default integer is %T, want int64", u.Object["spec"].(map[string]interface{})["replicas"])
	}
}

func TestFromStorage(t *testing.T) {
	crd := widget(t)
	v2 := crd.Spec.Versions[0].DeepCopy()
	v2.Name, v2.Storage = "v2", false
	crd.Spec.Versions = append(crd.Spec.Versions, *v2)
	r, err := New(crd, "v2")
	if err != nil {
		t.Fatal(err)
	}
	stored := obj(t, `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w}, spec: {color: red, gone: 1}}`)
	got := r.FromStorage(stored).(*unstructured.Unstructured)
	want := obj(t, `{apiVersion: example.com/v2, kind: Widget, metadata: {name: w}, spec: {color: red, replicas: 1, opts: {mode: fast}}}`)
	if diff := cmp.Diff(want.Object, got.Object); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if stored.GetAPIVersion() != "example.com/v1" {
		t.Error("FromStorage changed its argument's version")
	}
	if got := r.ToStorage(got).(*unstructured.Unstructured).GetAPIVersion(); got != "example.com/v1" {
		t.Errorf("ToStorage version = %s", got)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		spec string
		want []string
	}{
		{name: "valid", spec: `{color: red, replicas: 2, port: 80}`},
		{name: "int or string", spec: `{color: red, port: http}`},
		{
			name: "wrong type",
			spec: `{color: red, replicas: "string"}`,
			want: []string{
				`.spec.replicas: Invalid value: 0: .spec.replicas accessor error: string is of the type string, expected int64`,
				`spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"`,
			},
		},
		{
			name: "required and enum",
			spec: `{replicas: 1}`,
			want: []string{`spec.color: Required value`},
		},
		{
			name: "enum",
			spec: `{color: green}`,
			want: []string{`spec.color: Unsupported value: "green": supported values: "red", "blue"`},
		},
		{
			name: "minimum, maxLength, maxItems",
			spec: `{color: red, replicas: -1, size: long, tags: [a, b, c]}`,
			want: []string{
				`.spec.replicas: Invalid value: -1: should be a non-negative integer`,
				`spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0`,
				`spec.size: Too long: may not be more than 3 bytes`,
				`spec.tags: Too many: 3: must have at most 2 items`,
			},
		},
	}
	r := newWidget(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := obj(t, `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w}, status: {replicas: 0}}`)
			u.Object["spec"] = obj(t, tc.spec).Object
			if _, ok := u.Object["spec"].(map[string]interface{})["replicas"]; !ok {
				u.Object["spec"].(map[string]interface{})["replicas"] = int64(1)
			}
			var got []string
			for _, e := range r.Validate(u) {
				got = append(got, e.Error())
			}
			sort.Strings(got) // kube-openapi walks properties in map order
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateScale(t *testing.T) {
	r := newWidget(t)
	u := obj(t, `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w}, spec: {color: red, replicas: 1}, status: {replicas: 3000000000, selector: 5}}`)
	var got []string
	for _, e := range validateScale(r.scale, u.Object) {
		got = append(got, e.Error())
	}
	want := []string{
		".status.replicas: Invalid value: 3000000000: should be less than or equal to 2147483647",
		`.status.selector: Invalid value: "": .status.selector accessor error: 5 is of the type int64, expected string`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestTable(t *testing.T) {
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	r := newWidget(t)
	var names []string
	for _, c := range r.Columns {
		names = append(names, c.Name+":"+c.Type)
	}
	wantCols := []string{"Name:string", "Replicas:integer", "Color:string", "Ready:boolean", "Ratio:number", "Age:date"}
	if diff := cmp.Diff(wantCols, names); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	if r.Columns[2].Description != "The color" || r.Columns[1].Description != "Custom resource definition column (in JSONPath format): .spec.replicas" || r.Columns[3].Priority != 1 {
		t.Errorf("column details: %+v", r.Columns)
	}
	u := obj(t, `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w, creationTimestamp: "2024-01-01T10:00:00Z"}, spec: {color: red, replicas: 3, ratio: 2}, status: {ready: true}}`)
	want := []interface{}{"w", int64(3), "red", true, float64(2), "120m"}
	if diff := cmp.Diff(want, r.Row(u, now)); diff != "" {
		t.Errorf("row (-want +got):\n%s", diff)
	}
	u = obj(t, `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w}, spec: {replicas: "x"}}`)
	want = []interface{}{"w", nil, nil, nil, nil, nil}
	if diff := cmp.Diff(want, r.Row(u, now)); diff != "" {
		t.Errorf("row of missing values (-want +got):\n%s", diff)
	}

	crd := widget(t)
	crd.Spec.Versions[0].AdditionalPrinterColumns = nil
	d, err := New(crd, "v1")
	if err != nil {
		t.Fatal(err)
	}
	wantDefault := []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
		{Name: "Age", Type: "date", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]},
	}
	if diff := cmp.Diff(wantDefault, d.Columns); diff != "" {
		t.Errorf("default columns (-want +got):\n%s", diff)
	}
}

func TestTypeConverter(t *testing.T) {
	r := newWidget(t)
	u := obj(t, `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w, labels: {a: b}}, spec: {color: red, ports: [{name: a}], free: {x: 1}}}`)
	tv, err := r.TypeConverter.ObjectToTyped(u)
	if err != nil {
		t.Fatalf("ObjectToTyped: %v", err)
	}
	set, err := tv.ToFieldSet()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []fieldpath.Path{
		fieldpath.MakePathOrDie("metadata", "labels", "a"),
		fieldpath.MakePathOrDie("spec", "color"),
		fieldpath.MakePathOrDie("spec", "free", "x"),
	} {
		if !set.Has(want) {
			t.Errorf("field set lacks %s: %v", want, set)
		}
	}
	if _, err := r.TypeConverter.ObjectToTyped(obj(t, `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w}, spec: {color: 1}}`)); err == nil {
		t.Error("wrongly typed object converted")
	}
}
