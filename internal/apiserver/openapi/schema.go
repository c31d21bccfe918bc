package openapi

import (
	"reflect"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// Interfaces implemented by apimachinery types whose JSON form is not their
// Go struct (Quantity, Time, IntOrString, ...). The method sets mirror the
// ones kube-openapi's generator looks for.
type (
	schemaTyper  interface{ OpenAPISchemaType() []string }
	formatter    interface{ OpenAPISchemaFormat() string }
	oneOfTyper   interface{ OpenAPIV3OneOfTypes() []string }
	swaggerDocer interface{ SwaggerDoc() map[string]string }
	modelNamer   interface{ OpenAPIModelName() string }
)

var (
	schemaTyperType  = reflect.TypeFor[schemaTyper]()
	formatterType    = reflect.TypeFor[formatter]()
	oneOfTyperType   = reflect.TypeFor[oneOfTyper]()
	swaggerDocerType = reflect.TypeFor[swaggerDocer]()
	modelNamerType   = reflect.TypeFor[modelNamer]()
)

// Extension keys used in the documents.
const (
	extGVK             = "x-kubernetes-group-version-kind"
	extAction          = "x-kubernetes-action"
	extPatchStrategy   = "x-kubernetes-patch-strategy"
	extPatchMergeKey   = "x-kubernetes-patch-merge-key"
	extListType        = "x-kubernetes-list-type"
	extListMapKeys     = "x-kubernetes-list-map-keys"
	extMapType         = "x-kubernetes-map-type"
	extIntOrString     = "x-kubernetes-int-or-string"
	extPreserveUnknown = "x-kubernetes-preserve-unknown-fields"
)

// typeName returns the definition name of a named Go type: the name the
// type declares through OpenAPIModelName (k8s.io types generate one), or
// else the name upstream's definition namer derives: the package path with
// its first element (a domain) reversed and slashes turned into dots, then
// the type name. k8s.io/api/core/v1.Pod becomes io.k8s.api.core.v1.Pod.
func typeName(t reflect.Type) string {
	if t.Kind() == reflect.Struct && reflect.PointerTo(t).Implements(modelNamerType) {
		return newValue[modelNamer](t).OpenAPIModelName()
	}
	return reverseDomainPath(t.PkgPath()) + "." + t.Name()
}

// reverseDomainPath turns "k8s.io/api/core/v1" into "io.k8s.api.core.v1".
func reverseDomainPath(p string) string {
	parts := strings.Split(p, "/")
	if strings.Contains(parts[0], ".") {
		parts[0] = reverseDots(parts[0])
	}
	return strings.Join(parts, ".")
}

// reverseDots turns "stable.example.com" into "com.example.stable".
func reverseDots(s string) string {
	labels := strings.Split(s, ".")
	for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
		labels[i], labels[j] = labels[j], labels[i]
	}
	return strings.Join(labels, ".")
}

// gvkExtension renders GroupVersionKinds the way upstream stores them in
// definitions: a list of {group, kind, version} objects. The concrete
// []interface{} of map[string]interface{} is what apimachinery's
// managedfields indexer and kubectl expect after a JSON round trip.
func gvkExtension(gvks []schema.GroupVersionKind) []interface{} {
	sorted := append([]schema.GroupVersionKind(nil), gvks...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].String() < sorted[j].String() })
	out := make([]interface{}, 0, len(sorted))
	for i, gvk := range sorted {
		if i > 0 && gvk == sorted[i-1] {
			continue
		}
		out = append(out, gvkObject(gvk))
	}
	return out
}

func gvkObject(gvk schema.GroupVersionKind) map[string]interface{} {
	return map[string]interface{}{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind}
}

// defBuilder turns Go types into OpenAPI definitions by reflection. One
// builder renders one dialect: v2 ("#/definitions/", $ref with siblings, no
// defaults) or v3 ("#/components/schemas/", $ref wrapped in allOf when it has
// siblings, oneOf for multi-typed scalars, implicit defaults).
type defBuilder struct {
	v3   bool
	defs spec.Definitions
	// gvks lists the kinds a named type is served as; it becomes the
	// x-kubernetes-group-version-kind extension of its definition.
	gvks map[reflect.Type][]schema.GroupVersionKind
	seen map[reflect.Type]string
	// enums lists the values of the string types upstream marks +enum,
	// keyed by package path and type name (see enum.go).
	enums map[string][]enumValue
}

func newDefBuilder(v3 bool) *defBuilder {
	return &defBuilder{
		v3:    v3,
		defs:  spec.Definitions{},
		gvks:  map[reflect.Type][]schema.GroupVersionKind{},
		seen:  map[reflect.Type]string{},
		enums: builtinEnums(),
	}
}

// ref returns a reference to the named definition in this dialect.
func (b *defBuilder) ref(name string) spec.Ref {
	if b.v3 {
		return spec.MustCreateRef("#/components/schemas/" + name)
	}
	return spec.MustCreateRef("#/definitions/" + name)
}

// refSchema returns a schema referring to name, carrying description and
// def as siblings. OpenAPI v3 forbids siblings next to $ref, so v3 wraps the
// reference in a one-element allOf as upstream does.
func (b *defBuilder) refSchema(name, description string, def interface{}) spec.Schema {
	var s spec.Schema
	s.Description = description
	if b.v3 && (description != "" || def != nil) {
		s.AllOf = []spec.Schema{{SchemaProps: spec.SchemaProps{Ref: b.ref(name)}}}
		s.Default = def
		return s
	}
	s.Ref = b.ref(name)
	return s
}

// addGVK records that t is served as gvk.
func (b *defBuilder) addGVK(t reflect.Type, gvk schema.GroupVersionKind) {
	b.gvks[t] = append(b.gvks[t], gvk)
	if name, ok := b.seen[t]; ok {
		d := b.defs[name]
		d.AddExtension(extGVK, gvkExtension(b.gvks[t]))
		b.defs[name] = d
	}
}

// add makes sure t (a named struct type) has a definition and returns its name.
func (b *defBuilder) add(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if name, ok := b.seen[t]; ok {
		return name
	}
	name := typeName(t)
	b.seen[t] = name
	// Reserve the name first: recursive types (JSONSchemaProps) refer to
	// themselves while being built.
	b.defs[name] = spec.Schema{}

	var s spec.Schema
	if isSpecial(t) {
		s = b.specialSchema(t)
	} else {
		s = b.structSchema(t)
	}
	if gvks := b.gvks[t]; len(gvks) > 0 {
		s.AddExtension(extGVK, gvkExtension(gvks))
	}
	b.defs[name] = s
	return name
}

// isSpecial reports whether t declares its own OpenAPI type.
func isSpecial(t reflect.Type) bool {
	return reflect.PointerTo(t).Implements(schemaTyperType)
}

func newValue[T any](t reflect.Type) T {
	return reflect.New(t).Interface().(T)
}

func (b *defBuilder) specialSchema(t reflect.Type) spec.Schema {
	var s spec.Schema
	s.Description = typeDoc(t)
	if reflect.PointerTo(t).Implements(formatterType) {
		s.Format = newValue[formatter](t).OpenAPISchemaFormat()
	}
	if b.v3 && reflect.PointerTo(t).Implements(oneOfTyperType) {
		for _, typ := range newValue[oneOfTyper](t).OpenAPIV3OneOfTypes() {
			s.OneOf = append(s.OneOf, spec.Schema{SchemaProps: spec.SchemaProps{Type: spec.StringOrArray{typ}}})
		}
		return s
	}
	if types := newValue[schemaTyper](t).OpenAPISchemaType(); len(types) > 0 {
		s.Type = spec.StringOrArray(types)
	}
	return s
}

// typeDoc returns the type-level documentation from SwaggerDoc.
func typeDoc(t reflect.Type) string {
	return swaggerDoc(t)[""]
}

func swaggerDoc(t reflect.Type) map[string]string {
	if t.Kind() == reflect.Struct && reflect.PointerTo(t).Implements(swaggerDocerType) {
		return newValue[swaggerDocer](t).SwaggerDoc()
	}
	return nil
}

func (b *defBuilder) structSchema(t reflect.Type) spec.Schema {
	var s spec.Schema
	s.Description = typeDoc(t)
	s.Type = spec.StringOrArray{"object"}
	b.addFields(&s, t)
	return s
}

// jsonField describes how encoding/json treats a struct field.
type jsonField struct {
	name      string
	omitempty bool
	inline    bool
	skip      bool
}

func parseJSONTag(f reflect.StructField) jsonField {
	tag := f.Tag.Get("json")
	if tag == "-" {
		return jsonField{skip: true}
	}
	name, opts, _ := strings.Cut(tag, ",")
	jf := jsonField{name: name}
	for _, o := range strings.Split(opts, ",") {
		switch o {
		case "omitempty", "omitzero":
			jf.omitempty = true
		case "inline":
			jf.inline = true
		}
	}
	if f.Anonymous && name == "" {
		jf.inline = true
	}
	if !f.IsExported() && !jf.inline {
		return jsonField{skip: true}
	}
	if name == "" && !jf.inline {
		jf.name = f.Name
	}
	return jf
}

// addFields adds the properties of struct t to s, flattening inline members.
func (b *defBuilder) addFields(s *spec.Schema, t reflect.Type) {
	docs := swaggerDoc(t)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		jf := parseJSONTag(f)
		if jf.skip {
			continue
		}
		if jf.inline {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				b.addFields(s, ft)
				continue
			}
		}
		prop := b.fieldSchema(f.Type, docs[jf.name], jf.omitempty)
		if values := b.enumValues(f.Type); len(values) > 0 {
			prop.Description = enumDescription(prop.Description, values)
		}
		if v := f.Tag.Get("patchStrategy"); v != "" {
			prop.AddExtension(extPatchStrategy, v)
		}
		if v := f.Tag.Get("patchMergeKey"); v != "" {
			prop.AddExtension(extPatchMergeKey, v)
		}
		if s.Properties == nil {
			s.Properties = map[string]spec.Schema{}
		}
		s.Properties[jf.name] = prop
		if !jf.omitempty {
			s.Required = append(s.Required, jf.name)
		}
	}
}

// fieldSchema returns the schema of a property (or array item, or map value)
// of Go type t.
func (b *defBuilder) fieldSchema(t reflect.Type, description string, omitempty bool) spec.Schema {
	isPtr := false
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
		isPtr = true
	}
	var def interface{}
	if b.v3 && !isPtr {
		def = implicitDefault(t, omitempty)
	}
	if t.Kind() == reflect.Struct && t.Name() != "" {
		return b.refSchema(b.add(t), description, def)
	}
	var s spec.Schema
	s.Description = description
	s.Default = def
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			s.Type, s.Format = spec.StringOrArray{"string"}, "byte"
			return s
		}
		item := b.fieldSchema(t.Elem(), "", false)
		s.Type = spec.StringOrArray{"array"}
		s.Items = &spec.SchemaOrArray{Schema: &item}
	case reflect.Map:
		val := b.fieldSchema(t.Elem(), "", false)
		s.Type = spec.StringOrArray{"object"}
		s.AdditionalProperties = &spec.SchemaOrBool{Allows: true, Schema: &val}
	case reflect.Struct: // anonymous struct
		s.Type = spec.StringOrArray{"object"}
		b.addFields(&s, t)
	case reflect.Interface:
		s.Type = spec.StringOrArray{"object"}
	default:
		typ, format := scalarType(t.Kind())
		if typ != "" {
			s.Type = spec.StringOrArray{typ}
		}
		s.Format = format
		// Items and map values of an enum type carry the enum too, but only
		// a property's description lists the values (see addFields).
		if values := b.enumValues(t); len(values) > 0 {
			s.Enum = enumList(values)
		}
	}
	return s
}

// scalarType maps a Go kind to an OpenAPI type and format, using the table
// kube-openapi's generator uses for builtin types.
func scalarType(k reflect.Kind) (typ, format string) {
	switch k {
	case reflect.String:
		return "string", ""
	case reflect.Bool:
		return "boolean", ""
	case reflect.Int, reflect.Int16, reflect.Int32, reflect.Uint, reflect.Uint16:
		return "integer", "int32"
	case reflect.Int64, reflect.Uint32, reflect.Uint64:
		return "integer", "int64"
	case reflect.Int8, reflect.Uint8:
		return "integer", "byte"
	case reflect.Float64:
		return "number", "double"
	case reflect.Float32:
		return "number", "float"
	}
	return "", ""
}

// implicitDefault returns the default upstream's generator attaches to a
// non-pointer member in OpenAPI v3: {} for structs, the zero value for
// scalars that are not omitempty, nothing otherwise.
func implicitDefault(t reflect.Type, omitempty bool) interface{} {
	switch t.Kind() {
	case reflect.Struct:
		return map[string]interface{}{}
	case reflect.Map, reflect.Slice, reflect.Array, reflect.Interface:
		return nil
	}
	if omitempty {
		return nil
	}
	switch typ, _ := scalarType(t.Kind()); typ {
	case "string":
		return ""
	case "boolean":
		return false
	case "integer", "number":
		return 0
	}
	return nil
}
