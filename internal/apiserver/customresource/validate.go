package customresource

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	openapierrors "k8s.io/kube-openapi/pkg/validation/errors"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
	"k8s.io/kube-openapi/pkg/validation/validate"
)

// supportedFormats are the string formats CRD schemas may use (without
// dashes, as go-openapi normalizes them); others are ignored, as upstream
// ignores them.
var supportedFormats = sets.New(
	"bsonobjectid", "uri", "email", "hostname", "ipv4", "ipv6", "cidr", "mac",
	"uuid", "uuid3", "uuid4", "uuid5", "isbn", "isbn10", "isbn13", "creditcard",
	"ssn", "hexcolor", "rgbcolor", "byte", "password", "date", "duration", "datetime",
	"k8sshortname", "k8slongname",
)

// toOpenAPI converts a CRD schema to the kube-openapi form the validator
// reads, the way upstream does: int-or-string becomes the type pair
// [integer, string] and unsupported formats are dropped.
func toOpenAPI(p *apiextensionsv1.JSONSchemaProps) (*spec.Schema, error) {
	s := &spec.Schema{}
	if p == nil {
		return s, nil
	}
	data, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, s); err != nil {
		return nil, err
	}
	walkSchema(s, func(s *spec.Schema) {
		if v, ok := s.Extensions.GetBool("x-kubernetes-int-or-string"); ok && v {
			s.Type = spec.StringOrArray{"integer", "string"}
		}
		if s.Format == "" {
			return
		}
		typ := ""
		if len(s.Type) == 1 {
			typ = s.Type[0]
		}
		switch typ {
		case "", "string":
			if !supportedFormats.Has(strings.ReplaceAll(s.Format, "-", "")) {
				s.Format = ""
			}
		case "integer":
			if s.Format != "int32" && s.Format != "int64" {
				s.Format = ""
			}
		case "number":
			if s.Format != "float" && s.Format != "double" {
				s.Format = ""
			}
		default:
			s.Format = ""
		}
	})
	return s, nil
}

// walkSchema calls f on s and every schema nested in it.
func walkSchema(s *spec.Schema, f func(*spec.Schema)) {
	if s == nil {
		return
	}
	f(s)
	for k, p := range s.Properties {
		walkSchema(&p, f)
		s.Properties[k] = p
	}
	for _, l := range [][]spec.Schema{s.AllOf, s.AnyOf, s.OneOf} {
		for i := range l {
			walkSchema(&l[i], f)
		}
	}
	walkSchema(s.Not, f)
	if s.Items != nil {
		walkSchema(s.Items.Schema, f)
		for i := range s.Items.Schemas {
			walkSchema(&s.Items.Schemas[i], f)
		}
	}
	if s.AdditionalProperties != nil {
		walkSchema(s.AdditionalProperties.Schema, f)
	}
}

func newValidator(p *apiextensionsv1.JSONSchemaProps) (*validate.SchemaValidator, error) {
	s, err := toOpenAPI(p)
	if err != nil {
		return nil, err
	}
	return validate.NewSchemaValidator(s, nil, "", strfmt.Default), nil
}

// validateSchema validates obj and turns kube-openapi's result into field
// errors the way upstream's apiextensions validation does, so messages
// read like `spec.replicas in body must be of type integer: "string"`.
func validateSchema(v *validate.SchemaValidator, obj map[string]interface{}) field.ErrorList {
	if v == nil {
		return nil
	}
	res := v.Validate(obj)
	if res.IsValid() {
		return nil
	}
	var errs field.ErrorList
	for _, err := range res.Errors {
		verr, ok := err.(*openapierrors.Validation)
		if !ok {
			errs = append(errs, field.Invalid(nil, "", err.Error()))
			continue
		}
		var p *field.Path
		if verr.Name != "" && verr.Name != "." {
			p = field.NewPath(strings.TrimPrefix(verr.Name, "."))
		}
		value := interface{}("")
		if verr.Value != nil {
			value = verr.Value
		}
		switch verr.Code() {
		case openapierrors.RequiredFailCode:
			errs = append(errs, field.Required(p, ""))
		case openapierrors.EnumFailCode:
			values := make([]string, 0, len(verr.Values))
			for _, a := range verr.Values {
				if s, ok := a.(string); ok {
					values = append(values, s)
				} else {
					j, _ := json.Marshal(a) // a came from JSON
					values = append(values, string(j))
				}
			}
			errs = append(errs, field.NotSupported(p, verr.Value, values))
		case openapierrors.TooLongFailCode:
			errs = append(errs, field.TooLong(p, "", int(asInt64(verr.Valid))))
		case openapierrors.MaxItemsFailCode, openapierrors.TooManyPropertiesCode:
			errs = append(errs, field.TooMany(p, int(asInt64(verr.Value)), int(asInt64(verr.Valid))))
		case openapierrors.InvalidTypeCode:
			errs = append(errs, field.TypeInvalid(p, value, verr.Error()))
		default:
			errs = append(errs, field.Invalid(p, value, verr.Error()))
		}
	}
	return errs
}

func asInt64(v interface{}) int64 {
	if i, ok := v.(int64); ok {
		return i
	}
	return -1
}

// validateScale checks the values the scale subresource maps to, with
// upstream's paths (as written in the CRD, leading dot included) and
// messages.
func validateScale(sc *apiextensionsv1.CustomResourceSubresourceScale, obj map[string]interface{}) field.ErrorList {
	if sc == nil {
		return nil
	}
	var errs field.ErrorList
	for _, path := range []string{sc.SpecReplicasPath, sc.StatusReplicasPath} {
		n, _, err := unstructured.NestedInt64(obj, strings.Split(strings.TrimPrefix(path, "."), ".")...)
		switch {
		case err != nil:
			errs = append(errs, field.Invalid(field.NewPath(path), n, err.Error()))
		case n < 0:
			errs = append(errs, field.Invalid(field.NewPath(path), n, "should be a non-negative integer"))
		case n > math.MaxInt32:
			errs = append(errs, field.Invalid(field.NewPath(path), n, fmt.Sprintf("should be less than or equal to %v", math.MaxInt32)))
		}
	}
	if sc.LabelSelectorPath != nil {
		path := *sc.LabelSelectorPath
		sel, _, err := unstructured.NestedString(obj, strings.Split(strings.TrimPrefix(path, "."), ".")...)
		if err != nil {
			errs = append(errs, field.Invalid(field.NewPath(path), sel, err.Error()))
		}
	}
	return errs
}
