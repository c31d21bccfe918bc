// Package resourcequota is the strategy of core/v1 ResourceQuotas.
package resourcequota

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/podspec"
)

// Kind returns the ResourceQuota kind.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:        corev1.SchemeGroupVersion.WithKind("ResourceQuota"),
		Resource:   "resourcequotas",
		Singular:   "resourcequota",
		Namespaced: true,
		ShortNames: []string{"quota"},
		New:        func() runtime.Object { return &corev1.ResourceQuota{} },
		NewList:    func() runtime.Object { return &corev1.ResourceQuotaList{} },
		HasStatus:  true,
		Strategy: kinds.Strategy{
			Default:  func(obj runtime.Object) { podspec.DefaultResourceList(obj.(*corev1.ResourceQuota).Spec.Hard) },
			Validate: func(obj runtime.Object) field.ErrorList { return Validate(obj.(*corev1.ResourceQuota)) },
			ValidateUpdate: func(obj, _ runtime.Object) field.ErrorList {
				return Validate(obj.(*corev1.ResourceQuota))
			},
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.AgeColumn,
				kinds.Column("Request", "string", 0, "Request represents a minimum amount of cpu/memory that a container may consume."),
				kinds.Column("Limit", "string", 0, "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."),
			},
			Row: func(obj runtime.Object, now time.Time) []interface{} {
				q := obj.(*corev1.ResourceQuota)
				names := make([]string, 0, len(q.Spec.Hard))
				for n := range q.Spec.Hard {
					names = append(names, string(n))
				}
				sort.Strings(names)
				var req, lim []string
				for _, n := range names {
					used := q.Status.Used[corev1.ResourceName(n)]
					hard := q.Spec.Hard[corev1.ResourceName(n)]
					cell := fmt.Sprintf("%s: %s/%s", n, used.String(), hard.String())
					if strings.HasPrefix(n, "limits.") {
						lim = append(lim, cell)
					} else {
						req = append(req, cell)
					}
				}
				return []interface{}{q.Name, kinds.Age(q.CreationTimestamp, now), strings.Join(req, ", "), strings.Join(lim, ", ")}
			},
		},
	}
}

// Validate checks hard limit names and quantities and the scopes.
func Validate(q *corev1.ResourceQuota) field.ErrorList {
	var errs field.ErrorList
	hardPath := field.NewPath("spec", "hard")
	for name, v := range q.Spec.Hard {
		p := hardPath.Key(string(name))
		for _, msg := range validation.IsQualifiedName(string(name)) {
			errs = append(errs, field.Invalid(p, name, msg))
		}
		errs = append(errs, podspec.ValidateResourceQuantity(name, v, p)...)
	}
	for i, s := range q.Spec.Scopes {
		switch s {
		case corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating, corev1.ResourceQuotaScopeBestEffort,
			corev1.ResourceQuotaScopeNotBestEffort, corev1.ResourceQuotaScopePriorityClass, corev1.ResourceQuotaScopeCrossNamespacePodAffinity,
			corev1.ResourceQuotaScopeVolumeAttributesClass:
		default:
			errs = append(errs, field.Invalid(field.NewPath("spec", "scopes").Index(i), s, "unsupported scope"))
		}
	}
	return errs
}
