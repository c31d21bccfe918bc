package customresource

import (
	"errors"
	"fmt"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/kube-openapi/pkg/validation/validate"

	"github.com/skiff/skiff/internal/apiserver/kinds"
)

// ErrVersionNotFound is returned by New when the CRD has no such version.
var ErrVersionNotFound = errors.New("version not found")

// Resource is one served version of a custom resource.
type Resource struct {
	// Kind is the record the API server serves. Its Strategy already holds
	// Default, Validate, Columns, Row and Fields.
	Kind kinds.Kind
	// Columns are the table columns: Name, then additionalPrinterColumns
	// (or Age when the version declares none).
	Columns []metav1.TableColumnDefinition
	// TypeConverter serves server-side apply.
	TypeConverter managedfields.TypeConverter
	// Schema is the version's OpenAPI v3 schema (nil when it has none).
	Schema *apiextensionsv1.JSONSchemaProps

	storageVersion string
	validator      *validate.SchemaValidator
	scale          *apiextensionsv1.CustomResourceSubresourceScale
	columns        []column
}

// New builds the Resource of crd at version. The CRD is expected to be
// valid (it went through the CRD strategy); New fails only on a missing
// version or a schema or column that cannot be compiled.
func New(crd *apiextensionsv1.CustomResourceDefinition, version string) (*Resource, error) {
	var v *apiextensionsv1.CustomResourceDefinitionVersion
	for i := range crd.Spec.Versions {
		if crd.Spec.Versions[i].Name == version {
			v = &crd.Spec.Versions[i]
		}
	}
	if v == nil {
		return nil, fmt.Errorf("customresourcedefinition %s: %q: %w", crd.Name, version, ErrVersionNotFound)
	}
	r := &Resource{storageVersion: StorageVersion(crd)}
	if v.Schema != nil {
		r.Schema = v.Schema.OpenAPIV3Schema
	}
	names := crd.Spec.Names
	gvk := schema.GroupVersionKind{Group: crd.Spec.Group, Version: version, Kind: names.Kind}
	listKind := names.ListKind
	if listKind == "" {
		listKind = names.Kind + "List"
	}
	singular := names.Singular
	if singular == "" {
		singular = strings.ToLower(names.Kind)
	}
	r.Kind = kinds.Kind{
		GVK:              gvk,
		Resource:         names.Plural,
		Singular:         singular,
		Namespaced:       crd.Spec.Scope == apiextensionsv1.NamespaceScoped,
		ShortNames:       names.ShortNames,
		Categories:       names.Categories,
		TracksGeneration: true,
		New: func() runtime.Object {
			u := &unstructured.Unstructured{Object: map[string]interface{}{}}
			u.SetGroupVersionKind(gvk)
			return u
		},
		NewList: func() runtime.Object {
			l := &unstructured.UnstructuredList{Object: map[string]interface{}{}}
			l.SetGroupVersionKind(gvk.GroupVersion().WithKind(listKind))
			return l
		},
	}
	if sub := v.Subresources; sub != nil {
		r.Kind.HasStatus = sub.Status != nil
		if sc := sub.Scale; sc != nil {
			r.scale = sc
			ks := &kinds.Scale{
				SpecReplicas:   strings.TrimPrefix(sc.SpecReplicasPath, "."),
				StatusReplicas: strings.TrimPrefix(sc.StatusReplicasPath, "."),
			}
			if sc.LabelSelectorPath != nil {
				ks.LabelSelector = strings.TrimPrefix(*sc.LabelSelectorPath, ".")
			}
			r.Kind.Scale = ks
		}
	}
	var err error
	if r.validator, err = newValidator(r.Schema); err != nil {
		return nil, fmt.Errorf("customresourcedefinition %s version %s: schema: %w", crd.Name, version, err)
	}
	if r.columns, r.Columns, err = newColumns(v.AdditionalPrinterColumns); err != nil {
		return nil, fmt.Errorf("customresourcedefinition %s version %s: %w", crd.Name, version, err)
	}
	if r.TypeConverter, err = newTypeConverter(gvk, r.Schema); err != nil {
		r.TypeConverter = managedfields.NewDeducedTypeConverter()
	}
	r.Kind.Strategy = kinds.Strategy{
		Default:  func(obj runtime.Object) { r.Default(obj) },
		Validate: r.Validate,
		Columns:  r.Columns,
		Row:      r.Row,
	}
	if len(v.SelectableFields) > 0 {
		paths := make([]string, len(v.SelectableFields))
		for i, f := range v.SelectableFields {
			paths[i] = strings.TrimPrefix(f.JSONPath, ".")
		}
		r.Kind.Strategy.Fields = func(obj runtime.Object) fields.Set { return selectableFields(obj, paths) }
	}
	return r, nil
}

// StorageVersion returns the name of crd's storage version, or "" if none
// is marked.
func StorageVersion(crd *apiextensionsv1.CustomResourceDefinition) string {
	for _, v := range crd.Spec.Versions {
		if v.Storage {
			return v.Name
		}
	}
	return ""
}

// ToStorage returns obj as stored: a copy at the storage version. With
// conversion strategy None only apiVersion changes.
func (r *Resource) ToStorage(obj runtime.Object) runtime.Object {
	return r.setVersion(obj, r.storageVersion)
}

// FromStorage returns a stored object as served at this version: a copy,
// pruned, defaulted and with this version's apiVersion, as upstream does
// when it reads custom resources from etcd. obj is not modified (stored
// objects may be shared by a watch cache).
func (r *Resource) FromStorage(obj runtime.Object) runtime.Object {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj
	}
	u = u.DeepCopy()
	u.SetAPIVersion(r.Kind.GVK.GroupVersion().String())
	r.prune(u.Object, false)
	r.Default(u)
	return u
}

func (r *Resource) setVersion(obj runtime.Object, version string) runtime.Object {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok || version == "" {
		return obj
	}
	gv := schema.GroupVersion{Group: r.Kind.GVK.Group, Version: version}.String()
	if u.GetAPIVersion() == gv {
		return u
	}
	out := u.DeepCopy()
	out.SetAPIVersion(gv)
	return out
}

// Row returns the table cells of obj for Columns at time now.
func (r *Resource) Row(obj runtime.Object, now time.Time) []interface{} {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil
	}
	return row(r.columns, u, now)
}

// Validate checks obj against the version's schema and scale paths, with
// upstream's field errors. Object metadata is left to the caller.
func (r *Resource) Validate(obj runtime.Object) field.ErrorList {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return field.ErrorList{field.InternalError(nil, fmt.Errorf("unexpected object %T", obj))}
	}
	errs := validateSchema(r.validator, u.Object)
	return append(errs, validateScale(r.scale, u.Object)...)
}
