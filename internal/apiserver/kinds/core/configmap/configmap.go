// Package configmap is the strategy of core/v1 ConfigMaps.
package configmap

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
)

// MaxSize is the largest total size of a ConfigMap's (or Secret's) data,
// keys included: 1 MiB.
const MaxSize = 1 << 20

// Kind returns the ConfigMap kind.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:        corev1.SchemeGroupVersion.WithKind("ConfigMap"),
		Resource:   "configmaps",
		Singular:   "configmap",
		Namespaced: true,
		ShortNames: []string{"cm"},
		New:        func() runtime.Object { return &corev1.ConfigMap{} },
		NewList:    func() runtime.Object { return &corev1.ConfigMapList{} },
		Strategy: kinds.Strategy{
			Validate: func(obj runtime.Object) field.ErrorList { return Validate(obj.(*corev1.ConfigMap)) },
			ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
				return ValidateUpdate(obj.(*corev1.ConfigMap), old.(*corev1.ConfigMap))
			},
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.Column("Data", "integer", 0, "Number of data entries"),
				kinds.AgeColumn,
			},
			Row: func(obj runtime.Object, now time.Time) []interface{} {
				cm := obj.(*corev1.ConfigMap)
				return []interface{}{cm.Name, int64(len(cm.Data) + len(cm.BinaryData)), kinds.Age(cm.CreationTimestamp, now)}
			},
		},
	}
}

// Validate checks that keys are valid config keys, that no key is in both
// data and binaryData, and that the total size is at most MaxSize.
func Validate(cm *corev1.ConfigMap) field.ErrorList {
	var errs field.ErrorList
	size := 0
	dataPath, binPath := field.NewPath("data"), field.NewPath("binaryData")
	for key, value := range cm.Data {
		for _, msg := range validation.IsConfigMapKey(key) {
			errs = append(errs, field.Invalid(dataPath.Key(key), key, msg))
		}
		size += len(key) + len(value)
	}
	for key, value := range cm.BinaryData {
		for _, msg := range validation.IsConfigMapKey(key) {
			errs = append(errs, field.Invalid(binPath.Key(key), key, msg))
		}
		if _, ok := cm.Data[key]; ok {
			errs = append(errs, field.Invalid(binPath.Key(key), key, "duplicate of key present in data"))
		}
		size += len(key) + len(value)
	}
	if size > MaxSize {
		// An empty path: the error concerns the whole object.
		errs = append(errs, field.TooLong(field.NewPath(""), "", MaxSize))
	}
	return errs
}

// ValidateUpdate validates the new object and, when the old one is
// immutable, forbids changing data, binaryData or the immutable flag.
func ValidateUpdate(cm, old *corev1.ConfigMap) field.ErrorList {
	errs := Validate(cm)
	if old.Immutable != nil && *old.Immutable {
		if cm.Immutable == nil || !*cm.Immutable {
			errs = append(errs, field.Forbidden(field.NewPath("immutable"), "field is immutable when `immutable` is set"))
		}
		if !equality.Semantic.DeepEqual(cm.Data, old.Data) {
			errs = append(errs, field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set"))
		}
		if !equality.Semantic.DeepEqual(cm.BinaryData, old.BinaryData) {
			errs = append(errs, field.Forbidden(field.NewPath("binaryData"), "field is immutable when `immutable` is set"))
		}
	}
	return errs
}
