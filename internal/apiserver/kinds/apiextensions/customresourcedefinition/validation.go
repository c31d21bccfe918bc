package customresourcedefinition

import (
	"fmt"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"

	"k8s.io/apiextensions-apiserver/pkg/apihelpers"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	printerColumnTypes       = sets.NewString("integer", "number", "string", "boolean", "date")
	printerColumnFormats     = sets.NewString("int32", "int64", "float", "double", "byte", "date", "date-time", "password")
	openAPIV3Types           = sets.NewString("string", "number", "integer", "boolean", "array", "object")
	conversionReviewVersions = sets.NewString("v1", "v1beta1")
	// allowedAtRoot are the schema fields allowed at the root when the
	// status subresource is enabled (Go field names of JSONSchemaProps).
	allowedAtRoot = []string{"Description", "Type", "Format", "Title", "Maximum", "ExclusiveMaximum", "Minimum", "ExclusiveMinimum", "MaxLength", "MinLength", "Pattern", "MaxItems", "MinItems", "UniqueItems", "MultipleOf", "Required", "Items", "Properties", "ExternalDocs", "Example", "XPreserveUnknownFields", "XValidations"}
)

const apiApprovedAnnotation = "api-approved.kubernetes.io"

// toInternal converts crd to the apiextensions internal form validation
// works on.
func toInternal(crd *apiextensionsv1.CustomResourceDefinition) (*apiextensions.CustomResourceDefinition, error) {
	out := &apiextensions.CustomResourceDefinition{}
	if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(crd.DeepCopy(), out, nil); err != nil {
		return nil, fmt.Errorf("convert customresourcedefinition %s: %w", crd.Name, err)
	}
	return out, nil
}

func validateCreate(v1crd *apiextensionsv1.CustomResourceDefinition) field.ErrorList {
	crd, err := toInternal(v1crd)
	if err != nil {
		return field.ErrorList{field.InternalError(field.NewPath(""), err)}
	}
	var errs field.ErrorList
	if want := crd.Spec.Names.Plural + "." + crd.Spec.Group; crd.Name != want {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), crd.Name, `must be spec.names.plural+"."+spec.group`))
	}
	errs = append(errs, validateSpec(&crd.Spec, field.NewPath("spec"))...)
	errs = append(errs, validateNames(&crd.Status.AcceptedNames, field.NewPath("status", "acceptedNames"))...)
	errs = append(errs, validateStoredVersions(crd.Status.StoredVersions, crd.Spec.Versions, field.NewPath("status", "storedVersions"))...)
	errs = append(errs, validateAPIApproval(crd, nil)...)
	return append(errs, validatePreserveUnknownFields(crd, nil)...)
}

func validateUpdate(v1crd, v1old *apiextensionsv1.CustomResourceDefinition) field.ErrorList {
	crd, err := toInternal(v1crd)
	if err != nil {
		return field.ErrorList{field.InternalError(field.NewPath(""), err)}
	}
	old, err := toInternal(v1old)
	if err != nil {
		return field.ErrorList{field.InternalError(field.NewPath(""), err)}
	}
	spec := field.NewPath("spec")
	errs := validateSpec(&crd.Spec, spec)
	if apiextensions.IsCRDConditionTrue(old, apiextensions.Established) {
		errs = append(errs, apivalidation.ValidateImmutableField(crd.Spec.Scope, old.Spec.Scope, spec.Child("scope"))...)
		errs = append(errs, apivalidation.ValidateImmutableField(crd.Spec.Names.Kind, old.Spec.Names.Kind, spec.Child("names", "kind"))...)
	}
	errs = append(errs, apivalidation.ValidateImmutableField(crd.Spec.Group, old.Spec.Group, spec.Child("group"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(crd.Spec.Names.Plural, old.Spec.Names.Plural, spec.Child("names", "plural"))...)
	errs = append(errs, validateNames(&crd.Status.AcceptedNames, field.NewPath("status", "acceptedNames"))...)
	errs = append(errs, validateStoredVersions(crd.Status.StoredVersions, crd.Spec.Versions, field.NewPath("status", "storedVersions"))...)
	errs = append(errs, validateAPIApproval(crd, old)...)
	return append(errs, validatePreserveUnknownFields(crd, old)...)
}

func validateSpec(spec *apiextensions.CustomResourceDefinitionSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	gp := fldPath.Child("group")
	if spec.Group == "" {
		errs = append(errs, field.Required(gp, ""))
	} else if msgs := utilvalidation.IsDNS1123Subdomain(spec.Group); len(msgs) > 0 {
		errs = append(errs, field.Invalid(gp, spec.Group, strings.Join(msgs, ",")))
	} else if len(strings.Split(spec.Group, ".")) < 2 {
		errs = append(errs, field.Invalid(gp, spec.Group, "should be a domain with at least one dot"))
	}
	errs = append(errs, validateEnum(fldPath.Child("scope"), string(spec.Scope), []string{string(apiextensions.ClusterScoped), string(apiextensions.NamespaceScoped)})...)

	if spec.Validation == nil || spec.Validation.OpenAPIV3Schema == nil {
		for i, v := range spec.Versions {
			if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				errs = append(errs, field.Required(fldPath.Child("versions").Index(i).Child("schema").Child("openAPIV3Schema"), ""))
			}
		}
	}
	if hasDefaults(spec) && (spec.PreserveUnknownFields == nil || *spec.PreserveUnknownFields) {
		errs = append(errs, field.Invalid(fldPath.Child("preserveUnknownFields"), true, "must be false in order to use defaults in the schema"))
	}

	storageCount := 0
	seen := map[string]bool{}
	unique := true
	for i, v := range spec.Versions {
		vp := fldPath.Child("versions").Index(i)
		if v.Storage {
			storageCount++
		}
		if seen[v.Name] {
			unique = false
		}
		seen[v.Name] = true
		if msgs := utilvalidation.IsDNS1035Label(v.Name); len(msgs) > 0 {
			errs = append(errs, field.Invalid(vp.Child("name"), v.Name, strings.Join(msgs, ",")))
		}
		subresources := spec.Subresources
		if v.Subresources != nil {
			subresources = v.Subresources
		}
		errs = append(errs, validateVersion(&v, vp, subresources != nil && subresources.Status != nil)...)
	}
	if !unique {
		errs = append(errs, field.Invalid(fldPath.Child("versions"), spec.Versions, "must contain unique version names"))
	}
	if storageCount != 1 {
		errs = append(errs, field.Invalid(fldPath.Child("versions"), spec.Versions, "must have exactly one version marked as storage version"))
	}

	names := fldPath.Child("names")
	for _, n := range []struct{ value, name string }{
		{spec.Names.Plural, "plural"}, {spec.Names.Singular, "singular"},
		{spec.Names.Kind, "kind"}, {spec.Names.ListKind, "listKind"},
	} {
		if n.value == "" {
			errs = append(errs, field.Required(names.Child(n.name), ""))
		}
	}
	errs = append(errs, validateNames(&spec.Names, names)...)
	statusEnabled := spec.Subresources != nil && spec.Subresources.Status != nil
	for _, v := range spec.Versions {
		if v.Subresources != nil && v.Subresources.Status != nil {
			statusEnabled = true
		}
	}
	errs = append(errs, validateSchema(spec.Validation, statusEnabled, fldPath.Child("validation"))...)
	errs = append(errs, validateSubresources(spec.Subresources, fldPath.Child("subresources"))...)
	for i := range spec.AdditionalPrinterColumns {
		errs = append(errs, validateColumn(&spec.AdditionalPrinterColumns[i], fldPath.Child("additionalPrinterColumns").Index(i))...)
	}
	if spec.Conversion != nil && spec.Conversion.Strategy != apiextensions.NoneConverter && (spec.PreserveUnknownFields == nil || *spec.PreserveUnknownFields) {
		errs = append(errs, field.Invalid(fldPath.Child("conversion").Child("strategy"), spec.Conversion.Strategy, "must be None if spec.preserveUnknownFields is true"))
	}
	return append(errs, validateConversion(spec.Conversion, fldPath.Child("conversion"))...)
}

func validateEnum(fldPath *field.Path, value string, accepted []string) field.ErrorList {
	if value == "" {
		return field.ErrorList{field.Required(fldPath, "")}
	}
	for _, a := range accepted {
		if a == value {
			return nil
		}
	}
	return field.ErrorList{field.NotSupported(fldPath, value, accepted)}
}

func validateVersion(v *apiextensions.CustomResourceDefinitionVersion, fldPath *field.Path, statusEnabled bool) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validateDeprecationWarning(v.Deprecated, v.DeprecationWarning) {
		errs = append(errs, field.Invalid(fldPath.Child("deprecationWarning"), v.DeprecationWarning, msg))
	}
	errs = append(errs, validateSchema(v.Schema, statusEnabled, fldPath.Child("schema"))...)
	errs = append(errs, validateSubresources(v.Subresources, fldPath.Child("subresources"))...)
	for i := range v.AdditionalPrinterColumns {
		errs = append(errs, validateColumn(&v.AdditionalPrinterColumns[i], fldPath.Child("additionalPrinterColumns").Index(i))...)
	}
	return errs
}

func validateDeprecationWarning(deprecated bool, warning *string) []string {
	if !deprecated && warning != nil {
		return []string{"can only be set for deprecated versions"}
	}
	if warning == nil {
		return nil
	}
	var msgs []string
	if len(*warning) > 256 {
		msgs = append(msgs, "must be <= 256 characters long")
	}
	if len(*warning) == 0 {
		msgs = append(msgs, "must not be an empty string")
	}
	for i, r := range *warning {
		if !unicode.IsPrint(r) {
			msgs = append(msgs, fmt.Sprintf("must only contain printable UTF-8 characters; non-printable character found at index %d", i))
			break
		}
		if unicode.IsControl(r) {
			msgs = append(msgs, fmt.Sprintf("must only contain printable UTF-8 characters; control character found at index %d", i))
			break
		}
	}
	if !utf8.ValidString(*warning) {
		msgs = append(msgs, "must only contain printable UTF-8 characters")
	}
	return msgs
}

func validateNames(n *apiextensions.CustomResourceDefinitionNames, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	label := func(value, name string, mixedCase bool) {
		if value == "" {
			return
		}
		check := value
		prefix := ""
		if mixedCase {
			check = strings.ToLower(value)
			prefix = "may have mixed case, but should otherwise match: "
		}
		if msgs := utilvalidation.IsDNS1035Label(check); len(msgs) > 0 {
			errs = append(errs, field.Invalid(fldPath.Child(name), value, prefix+strings.Join(msgs, ",")))
		}
	}
	label(n.Plural, "plural", false)
	label(n.Singular, "singular", false)
	label(n.Kind, "kind", true)
	label(n.ListKind, "listKind", true)
	for i, s := range n.ShortNames {
		if msgs := utilvalidation.IsDNS1035Label(s); len(msgs) > 0 {
			errs = append(errs, field.Invalid(fldPath.Child("shortNames").Index(i), s, strings.Join(msgs, ",")))
		}
	}
	if n.Kind != "" && n.Kind == n.ListKind {
		errs = append(errs, field.Invalid(fldPath.Child("listKind"), n.ListKind, "kind and listKind may not be the same"))
	}
	for i, c := range n.Categories {
		if msgs := utilvalidation.IsDNS1035Label(c); len(msgs) > 0 {
			errs = append(errs, field.Invalid(fldPath.Child("categories").Index(i), c, strings.Join(msgs, ",")))
		}
	}
	return errs
}

func validateColumn(col *apiextensions.CustomResourceColumnDefinition, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if col.Name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	}
	typeMsg := "must be one of " + strings.Join(printerColumnTypes.List(), ",")
	if col.Type == "" {
		errs = append(errs, field.Required(fldPath.Child("type"), typeMsg))
	} else if !printerColumnTypes.Has(col.Type) {
		errs = append(errs, field.Invalid(fldPath.Child("type"), col.Type, typeMsg))
	}
	if col.Format != "" && !printerColumnFormats.Has(col.Format) {
		errs = append(errs, field.Invalid(fldPath.Child("format"), col.Format, "must be one of "+strings.Join(printerColumnFormats.List(), ",")))
	}
	if col.JSONPath == "" {
		errs = append(errs, field.Required(fldPath.Child("JSONPath"), ""))
	} else {
		errs = append(errs, validateSimpleJSONPath(col.JSONPath, fldPath.Child("JSONPath"))...)
	}
	return errs
}

func validateSimpleJSONPath(s string, fldPath *field.Path) field.ErrorList {
	switch {
	case s == "":
		return field.ErrorList{field.Invalid(fldPath, s, "must not be empty")}
	case s[0] != '.':
		return field.ErrorList{field.Invalid(fldPath, s, "must be a simple json path starting with .")}
	}
	return nil
}

func validateSubresources(sr *apiextensions.CustomResourceSubresources, fldPath *field.Path) field.ErrorList {
	if sr == nil || sr.Scale == nil {
		return nil
	}
	var errs field.ErrorList
	path := func(value, name, prefix, msg string) {
		p := fldPath.Child("scale." + name)
		if value == "" {
			errs = append(errs, field.Required(p, ""))
			return
		}
		if e := validateSimpleJSONPath(value, p); len(e) > 0 {
			errs = append(errs, e...)
		} else if !strings.HasPrefix(value, prefix) {
			errs = append(errs, field.Invalid(p, value, msg))
		}
	}
	path(sr.Scale.SpecReplicasPath, "specReplicasPath", ".spec.", "should be a json path under .spec")
	path(sr.Scale.StatusReplicasPath, "statusReplicasPath", ".status.", "should be a json path under .status")
	if sel := sr.Scale.LabelSelectorPath; sel != nil && *sel != "" {
		p := fldPath.Child("scale.labelSelectorPath")
		if e := validateSimpleJSONPath(*sel, p); len(e) > 0 {
			errs = append(errs, e...)
		} else if !strings.HasPrefix(*sel, ".spec.") && !strings.HasPrefix(*sel, ".status.") {
			errs = append(errs, field.Invalid(p, *sel, "should be a json path under either .spec or .status"))
		}
	}
	return errs
}

func validateConversion(c *apiextensions.CustomResourceConversion, fldPath *field.Path) field.ErrorList {
	if c == nil {
		return nil
	}
	errs := validateEnum(fldPath.Child("strategy"), string(c.Strategy), []string{string(apiextensions.NoneConverter), string(apiextensions.WebhookConverter)})
	if c.Strategy != apiextensions.WebhookConverter {
		if c.WebhookClientConfig != nil {
			errs = append(errs, field.Forbidden(fldPath.Child("webhookClientConfig"), "should not be set when strategy is not set to Webhook"))
		}
		if len(c.ConversionReviewVersions) > 0 {
			errs = append(errs, field.Forbidden(fldPath.Child("conversionReviewVersions"), "should not be set when strategy is not set to Webhook"))
		}
		return errs
	}
	cc := c.WebhookClientConfig
	switch {
	case cc == nil:
		errs = append(errs, field.Required(fldPath.Child("webhookClientConfig"), "required when strategy is set to Webhook"))
	case (cc.URL == nil) == (cc.Service == nil):
		errs = append(errs, field.Required(fldPath.Child("webhookClientConfig"), "exactly one of url or service is required"))
	}
	vp := fldPath.Child("conversionReviewVersions")
	if len(c.ConversionReviewVersions) == 0 {
		return append(errs, field.Required(vp, ""))
	}
	seen := map[string]bool{}
	accepted := false
	for i, v := range c.ConversionReviewVersions {
		if seen[v] {
			errs = append(errs, field.Invalid(vp.Index(i), v, "duplicate version"))
			continue
		}
		seen[v] = true
		for _, msg := range utilvalidation.IsDNS1035Label(v) {
			errs = append(errs, field.Invalid(vp.Index(i), v, msg))
		}
		accepted = accepted || conversionReviewVersions.Has(v)
	}
	if !accepted {
		errs = append(errs, field.Invalid(vp, c.ConversionReviewVersions, "must include at least one of "+strings.Join(conversionReviewVersions.List(), ", ")))
	}
	return errs
}

func validateStoredVersions(stored []string, versions []apiextensions.CustomResourceDefinitionVersion, fldPath *field.Path) field.ErrorList {
	if len(stored) == 0 {
		return field.ErrorList{field.Invalid(fldPath, stored, "must have at least one stored version")}
	}
	var errs field.ErrorList
	index := map[string]int{}
	for i, v := range stored {
		index[v] = i
	}
	for _, v := range versions {
		_, ok := index[v.Name]
		if v.Storage && !ok {
			errs = append(errs, field.Invalid(fldPath, stored, "must have the storage version "+v.Name))
		}
		delete(index, v.Name)
	}
	for _, v := range stored {
		if i, ok := index[v]; ok {
			errs = append(errs, field.Invalid(fldPath.Index(i), v, fmt.Sprintf("missing from spec.versions; %[1]s was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in %[1]s and removes %[1]s from status.storedVersions", v)))
		}
	}
	return errs
}

func validateAPIApproval(crd, old *apiextensions.CustomResourceDefinition) field.ErrorList {
	if !apihelpers.IsProtectedCommunityGroup(crd.Spec.Group) {
		return nil
	}
	state, reason := apihelpers.GetAPIApprovalState(crd.Annotations)
	if old != nil {
		if oldState, _ := apihelpers.GetAPIApprovalState(old.Annotations); oldState == state {
			return nil
		}
	}
	p := field.NewPath("metadata", "annotations").Key(apiApprovedAnnotation)
	switch state {
	case apihelpers.APIApproved, apihelpers.APIApprovalBypassed:
		return nil
	case apihelpers.APIApprovalMissing:
		return field.ErrorList{field.Required(p, reason)}
	default:
		return field.ErrorList{field.Invalid(p, crd.Annotations[apiApprovedAnnotation], reason)}
	}
}

func validatePreserveUnknownFields(crd, old *apiextensions.CustomResourceDefinition) field.ErrorList {
	if old != nil && old.Spec.PreserveUnknownFields != nil && *old.Spec.PreserveUnknownFields {
		return nil
	}
	if p := crd.Spec.PreserveUnknownFields; p != nil && *p {
		return field.ErrorList{field.Invalid(field.NewPath("spec").Child("preserveUnknownFields"), *p, "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead")}
	}
	return nil
}

// validateSchema checks a CustomResourceValidation: structural schema
// rules (upstream's own structural checker), root restrictions and the
// OpenAPI features CRDs do not support. CEL rules and defaults are not
// checked.
func validateSchema(v *apiextensions.CustomResourceValidation, statusEnabled bool, fldPath *field.Path) field.ErrorList {
	if v == nil || v.OpenAPIV3Schema == nil {
		return nil
	}
	schema := v.OpenAPIV3Schema
	root := fldPath.Child("openAPIV3Schema")
	var errs field.ErrorList
	if statusEnabled {
		rv := reflect.ValueOf(schema).Elem()
		for i := 0; i < rv.NumField(); i++ {
			if rv.Field(i).IsZero() {
				continue
			}
			name := rv.Type().Field(i).Name
			if name == "Type" {
				if schema.Type != "object" {
					errs = append(errs, field.Invalid(fldPath.Child("openAPIV3Schema.type"), schema.Type, `only "object" is allowed as the type at the root of the schema if the status subresource is enabled`))
					break
				}
				continue
			}
			if !sets.NewString(allowedAtRoot...).Has(name) {
				errs = append(errs, field.Invalid(root, "", fmt.Sprintf(`only %v fields are allowed at the root of the schema if the status subresource is enabled`, allowedAtRoot)))
				break
			}
		}
	}
	if schema.Nullable {
		errs = append(errs, field.Forbidden(fldPath.Child("openAPIV3Schema.nullable"), `nullable cannot be true at the root`))
	}
	var structuralInitErrs field.ErrorList
	if ss, err := structuralschema.NewStructural(schema); err != nil {
		structuralInitErrs = append(structuralInitErrs, field.Invalid(root, "", err.Error()))
	} else {
		errs = append(errs, structuralschema.ValidateStructural(root, ss)...)
	}
	errs = append(errs, validateOpenAPISchema(schema, root)...)
	if len(errs) == 0 {
		errs = structuralInitErrs
	}
	return errs
}

// validateOpenAPISchema walks the schema and rejects what CRD schemas may
// not use.
func validateOpenAPISchema(s *apiextensions.JSONSchemaProps, fldPath *field.Path) field.ErrorList {
	if s == nil {
		return nil
	}
	var errs field.ErrorList
	if s.Type != "" && !openAPIV3Types.Has(s.Type) {
		errs = append(errs, field.NotSupported(fldPath.Child("type"), s.Type, openAPIV3Types.List()))
	}
	forbidden := func(set bool, name, msg string) {
		if set {
			errs = append(errs, field.Forbidden(fldPath.Child(name), msg))
		}
	}
	forbidden(s.ID != "", "id", "id is not supported")
	forbidden(s.AdditionalItems != nil, "additionalItems", "additionalItems is not supported")
	forbidden(len(s.PatternProperties) != 0, "patternProperties", "patternProperties is not supported")
	forbidden(len(s.Definitions) != 0, "definitions", "definitions is not supported")
	forbidden(s.Dependencies != nil, "dependencies", "dependencies is not supported")
	forbidden(s.Ref != nil, "$ref", "$ref is not supported")
	forbidden(s.Type == "null", "type", "type cannot be set to null, use nullable as an alternative")
	forbidden(s.Items != nil && len(s.Items.JSONSchemas) != 0, "items", "items must be a schema object and not an array")
	forbidden(s.UniqueItems, "uniqueItems", "uniqueItems cannot be set to true since the runtime complexity becomes quadratic")
	if ap := s.AdditionalProperties; ap != nil {
		forbidden(len(s.Properties) != 0 && (!ap.Allows || ap.Schema != nil), "additionalProperties", "additionalProperties and properties are mutual exclusive")
		errs = append(errs, validateOpenAPISchema(ap.Schema, fldPath.Child("additionalProperties"))...)
	}
	for _, name := range sets.StringKeySet(s.Properties).List() {
		p := s.Properties[name]
		errs = append(errs, validateOpenAPISchema(&p, fldPath.Child("properties").Key(name))...)
	}
	errs = append(errs, validateOpenAPISchema(s.Not, fldPath.Child("not"))...)
	for _, group := range []struct {
		name    string
		schemas []apiextensions.JSONSchemaProps
	}{{"allOf", s.AllOf}, {"oneOf", s.OneOf}, {"anyOf", s.AnyOf}} {
		for i := range group.schemas {
			errs = append(errs, validateOpenAPISchema(&group.schemas[i], fldPath.Child(group.name).Index(i))...)
		}
	}
	if s.Items != nil {
		errs = append(errs, validateOpenAPISchema(s.Items.Schema, fldPath.Child("items"))...)
	}
	if s.XPreserveUnknownFields != nil && !*s.XPreserveUnknownFields {
		errs = append(errs, field.Invalid(fldPath.Child("x-kubernetes-preserve-unknown-fields"), *s.XPreserveUnknownFields, "must be true or undefined"))
	}
	if s.XListType != nil {
		switch *s.XListType {
		case "atomic", "set", "map":
		default:
			errs = append(errs, field.NotSupported(fldPath.Child("x-kubernetes-list-type"), *s.XListType, []string{"atomic", "set", "map"}))
		}
	}
	if s.XMapType != nil && *s.XMapType != "atomic" && *s.XMapType != "granular" {
		errs = append(errs, field.NotSupported(fldPath.Child("x-kubernetes-map-type"), *s.XMapType, []string{"atomic", "granular"}))
	}
	return errs
}

func hasDefaults(spec *apiextensions.CustomResourceDefinitionSpec) bool {
	var walk func(s *apiextensions.JSONSchemaProps) bool
	walk = func(s *apiextensions.JSONSchemaProps) bool {
		if s == nil {
			return false
		}
		if s.Default != nil {
			return true
		}
		for _, p := range s.Properties {
			if walk(&p) {
				return true
			}
		}
		if s.Items != nil && walk(s.Items.Schema) {
			return true
		}
		if s.AdditionalProperties != nil && walk(s.AdditionalProperties.Schema) {
			return true
		}
		return false
	}
	if spec.Validation != nil && walk(spec.Validation.OpenAPIV3Schema) {
		return true
	}
	for _, v := range spec.Versions {
		if v.Schema != nil && walk(v.Schema.OpenAPIV3Schema) {
			return true
		}
	}
	return false
}
