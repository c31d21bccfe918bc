// Package controllerrevision is the strategy of apps/v1 ControllerRevisions.
package controllerrevision

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	appsv1beta1 "k8s.io/api/apps/v1beta1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
)

// Kind returns the apps/v1 ControllerRevision kind.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:                appsv1.SchemeGroupVersion.WithKind("ControllerRevision"),
		Resource:           "controllerrevisions",
		Singular:           "controllerrevision",
		Namespaced:         true,
		New:                func() runtime.Object { return &appsv1.ControllerRevision{} },
		NewList:            func() runtime.Object { return &appsv1.ControllerRevisionList{} },
		KeepStatusOnCreate: true,
		Strategy: kinds.Strategy{
			Validate: func(obj runtime.Object) field.ErrorList { return Validate(obj.(*appsv1.ControllerRevision)) },
			ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*appsv1.ControllerRevision), old.(*appsv1.ControllerRevision))
			},
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.Column("Controller", "string", 0, "Controller of the object"),
				kinds.Column("Revision", "string", 0, appsv1beta1.ControllerRevision{}.SwaggerDoc()["revision"]),
				kinds.AgeColumn,
			},
			Row: func(obj runtime.Object, now time.Time) []interface{} {
				cr := obj.(*appsv1.ControllerRevision)
				return []interface{}{cr.Name, controllerCell(cr), cr.Revision, kinds.Age(cr.CreationTimestamp, now)}
			},
		},
	}
}

// Validate checks that data is set and revision is not negative.
func Validate(cr *appsv1.ControllerRevision) field.ErrorList {
	var errs field.ErrorList
	if cr.Data.Raw == nil && cr.Data.Object == nil {
		errs = append(errs, field.Required(field.NewPath("data"), "data is mandatory"))
	}
	return append(errs, kinds.ValidateNonnegative(cr.Revision, field.NewPath("revision"))...)
}

// ValidateUpdate also keeps data immutable.
func ValidateUpdate(cr, old *appsv1.ControllerRevision) field.ErrorList {
	errs := Validate(cr)
	if !sameJSON(cr.Data.Raw, old.Data.Raw) {
		errs = append(errs, apivalidation.ValidateImmutableField(cr.Data, old.Data, field.NewPath("data"))...)
	}
	return errs
}

// sameJSON reports whether two JSON documents are equal once decoded, so
// that re-encoding the same data is not a change.
func sameJSON(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y interface{}
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// controllerCell formats the controller owner as "kind.group/name", or
// "<none>".
func controllerCell(cr *appsv1.ControllerRevision) string {
	ref := metav1.GetControllerOf(cr)
	if ref == nil {
		return "<none>"
	}
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return ref.Name
	}
	gk := gv.WithKind(ref.Kind).GroupKind()
	if gk.Empty() {
		return ref.Name
	}
	return strings.ToLower(gk.String()) + "/" + ref.Name
}
