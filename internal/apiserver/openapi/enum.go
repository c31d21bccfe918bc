package openapi

import (
	"reflect"
	"strconv"
	"strings"
)

//go:generate go run github.com/skiff/skiff/hack/genenums -o zz_generated_enums.go k8s.io/api k8s.io/apimachinery:pkg/apis/meta/v1 k8s.io/apiextensions-apiserver:pkg/apis/apiextensions/v1

// enumValue is one value of a string type marked +enum upstream, with the
// documentation of the constant that declares it.
type enumValue struct {
	value string
	doc   string
}

// enumHeader starts the paragraph upstream appends to the description of a
// property whose type is an enum.
const enumHeader = "Possible enum values:"

// enumValues returns the values of t (or of the type t points to) when it is
// an enum type, nil otherwise.
func (b *defBuilder) enumValues(t reflect.Type) []enumValue {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.String || t.Name() == "" {
		return nil
	}
	return b.enums[t.PkgPath()+"."+t.Name()]
}

// enumList returns the values in the order of the schema's enum keyword.
func enumList(values []enumValue) []interface{} {
	out := make([]interface{}, len(values))
	for i, v := range values {
		out[i] = v.value
	}
	return out
}

// enumDescription appends to a property's description the paragraph
// upstream's generator writes for enum types: the header, then one line per
// value, " - `<value quoted as Go does>` <doc>" (no trailing space without doc).
func enumDescription(description string, values []enumValue) string {
	var b strings.Builder
	b.WriteString(description)
	if description != "" {
		b.WriteString("\n\n")
	}
	b.WriteString(enumHeader)
	for _, v := range values {
		b.WriteString("\n - `")
		b.WriteString(strconv.Quote(v.value))
		b.WriteString("`")
		if v.doc != "" {
			b.WriteString(" ")
			b.WriteString(v.doc)
		}
	}
	return b.String()
}
