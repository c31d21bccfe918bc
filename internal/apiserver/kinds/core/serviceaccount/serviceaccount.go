// Package serviceaccount is the strategy of core/v1 ServiceAccounts.
package serviceaccount

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
)

// Kind returns the ServiceAccount kind. The API server serves the
// serviceaccounts/token subresource (TokenRequest) itself.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:        corev1.SchemeGroupVersion.WithKind("ServiceAccount"),
		Resource:   "serviceaccounts",
		Singular:   "serviceaccount",
		Namespaced: true,
		ShortNames: []string{"sa"},
		New:        func() runtime.Object { return &corev1.ServiceAccount{} },
		NewList:    func() runtime.Object { return &corev1.ServiceAccountList{} },
		Strategy: kinds.Strategy{
			Validate: func(obj runtime.Object) field.ErrorList { return Validate(obj.(*corev1.ServiceAccount)) },
			ValidateUpdate: func(obj, _ runtime.Object) field.ErrorList {
				return Validate(obj.(*corev1.ServiceAccount))
			},
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.Column("Secrets", "string", 0, corev1.ServiceAccount{}.SwaggerDoc()["secrets"]),
				kinds.AgeColumn,
			},
			Row: func(obj runtime.Object, now time.Time) []interface{} {
				sa := obj.(*corev1.ServiceAccount)
				return []interface{}{sa.Name, int64(len(sa.Secrets)), kinds.Age(sa.CreationTimestamp, now)}
			},
		},
	}
}

// Validate requires a name on every image pull secret reference.
func Validate(sa *corev1.ServiceAccount) field.ErrorList {
	var errs field.ErrorList
	for i, s := range sa.ImagePullSecrets {
		if s.Name == "" {
			errs = append(errs, field.Required(field.NewPath("imagePullSecrets").Index(i).Child("name"), ""))
		}
	}
	return errs
}
