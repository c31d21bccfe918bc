// Package storagevalidation holds the checks the storage.k8s.io/v1 kinds
// share: CSI driver names and qualified names with upstream's messages.
//
// Everything here is pure and safe for concurrent use.
package storagevalidation

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidateCSIDriverName checks a CSI driver name: required, at most 63
// characters, and a DNS-1123 subdomain once lower-cased.
func ValidateCSIDriverName(name string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(fldPath, ""))
	}
	if len(name) > 63 {
		errs = append(errs, field.TooLong(fldPath, name, 63))
	}
	for _, msg := range validation.IsDNS1123Subdomain(strings.ToLower(name)) {
		errs = append(errs, field.Invalid(fldPath, name, msg))
	}
	return errs
}

// ValidateQualifiedName reports each way value is not a qualified name
// (an optional DNS subdomain prefix and a name part).
func ValidateQualifiedName(value string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsQualifiedName(value) {
		errs = append(errs, field.Invalid(fldPath, value, msg))
	}
	return errs
}
