// Package limitrange is the strategy of core/v1 LimitRanges.
package limitrange

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/podspec"
)

// Kind returns the LimitRange kind.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:        corev1.SchemeGroupVersion.WithKind("LimitRange"),
		Resource:   "limitranges",
		Singular:   "limitrange",
		Namespaced: true,
		ShortNames: []string{"limits"},
		New:        func() runtime.Object { return &corev1.LimitRange{} },
		NewList:    func() runtime.Object { return &corev1.LimitRangeList{} },
		Strategy: kinds.Strategy{
			Default:  func(obj runtime.Object) { Default(obj.(*corev1.LimitRange)) },
			Validate: func(obj runtime.Object) field.ErrorList { return Validate(obj.(*corev1.LimitRange)) },
			ValidateUpdate: func(obj, _ runtime.Object) field.ErrorList {
				return Validate(obj.(*corev1.LimitRange))
			},
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				{Name: "Created At", Type: "date", Description: kinds.AgeColumn.Description},
			},
			Row: func(obj runtime.Object, _ time.Time) []interface{} {
				lr := obj.(*corev1.LimitRange)
				return []interface{}{lr.Name, lr.CreationTimestamp.UTC().Format(time.RFC3339)}
			},
		},
	}
}

// Default fills, for Container items, the default limit from max and the
// default request from the default limit, then from min.
func Default(lr *corev1.LimitRange) {
	for i := range lr.Spec.Limits {
		it := &lr.Spec.Limits[i]
		for _, rl := range []corev1.ResourceList{it.Max, it.Min, it.Default, it.DefaultRequest, it.MaxLimitRequestRatio} {
			podspec.DefaultResourceList(rl)
		}
		if it.Type != corev1.LimitTypeContainer {
			continue
		}
		if it.Default == nil {
			it.Default = corev1.ResourceList{}
		}
		if it.DefaultRequest == nil {
			it.DefaultRequest = corev1.ResourceList{}
		}
		fill(it.Default, it.Max)
		fill(it.DefaultRequest, it.Default)
		fill(it.DefaultRequest, it.Min)
	}
}

func fill(dst, src corev1.ResourceList) {
	for k, v := range src {
		if _, ok := dst[k]; !ok {
			dst[k] = v.DeepCopy()
		}
	}
}

// Validate checks item types, quantities and min <= defaultRequest <=
// default <= max.
func Validate(lr *corev1.LimitRange) field.ErrorList {
	var errs field.ErrorList
	for i, it := range lr.Spec.Limits {
		p := field.NewPath("spec", "limits").Index(i)
		switch it.Type {
		case corev1.LimitTypePod, corev1.LimitTypeContainer, corev1.LimitTypePersistentVolumeClaim:
		case "":
			errs = append(errs, field.Required(p.Child("type"), ""))
		default:
			errs = append(errs, field.NotSupported(p.Child("type"), it.Type, []string{"Container", "PersistentVolumeClaim", "Pod"}))
		}
		if it.Type == corev1.LimitTypePod {
			if len(it.Default) > 0 {
				errs = append(errs, field.Forbidden(p.Child("default"), "may not be specified when `type` is 'Pod'"))
			}
			if len(it.DefaultRequest) > 0 {
				errs = append(errs, field.Forbidden(p.Child("defaultRequest"), "may not be specified when `type` is 'Pod'"))
			}
		}
		for _, f := range []struct {
			name string
			rl   corev1.ResourceList
		}{{"max", it.Max}, {"min", it.Min}, {"default", it.Default}, {"defaultRequest", it.DefaultRequest}, {"maxLimitRequestRatio", it.MaxLimitRequestRatio}} {
			for name, q := range f.rl {
				errs = append(errs, podspec.ValidateResourceQuantity(name, q, p.Child(f.name).Key(string(name)))...)
			}
		}
		for name, minQ := range it.Min {
			if maxQ, ok := it.Max[name]; ok && minQ.Cmp(maxQ) > 0 {
				errs = append(errs, field.Invalid(p.Child("min").Key(string(name)), minQ.String(), fmt.Sprintf("min value %s is greater than max value %s", minQ.String(), maxQ.String())))
			}
			if d, ok := it.DefaultRequest[name]; ok && minQ.Cmp(d) > 0 {
				errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(string(name)), d.String(), fmt.Sprintf("min value %s is greater than default request value %s", minQ.String(), d.String())))
			}
		}
		for name, d := range it.DefaultRequest {
			if dl, ok := it.Default[name]; ok && d.Cmp(dl) > 0 {
				errs = append(errs, field.Invalid(p.Child("defaultRequest").Key(string(name)), d.String(), fmt.Sprintf("default request value %s is greater than default limit value %s", d.String(), dl.String())))
			}
		}
		for name, dl := range it.Default {
			if maxQ, ok := it.Max[name]; ok && dl.Cmp(maxQ) > 0 {
				errs = append(errs, field.Invalid(p.Child("default").Key(string(name)), dl.String(), fmt.Sprintf("default value %s is greater than max value %s", dl.String(), maxQ.String())))
			}
		}
	}
	return errs
}
