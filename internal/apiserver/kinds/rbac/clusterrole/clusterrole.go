// Package clusterrole is the strategy of rbac.authorization.k8s.io/v1
// ClusterRoles.
package clusterrole

import (
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/rbac/rules"
)

// Kind returns the ClusterRole kind.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:      rbacv1.SchemeGroupVersion.WithKind("ClusterRole"),
		Resource: "clusterroles",
		Singular: "clusterrole",
		New:      func() runtime.Object { return &rbacv1.ClusterRole{} },
		NewList:  func() runtime.Object { return &rbacv1.ClusterRoleList{} },
		Strategy: kinds.Strategy{
			ValidateName:   rules.ValidateName,
			Validate:       validate,
			ValidateUpdate: func(obj, _ runtime.Object) field.ErrorList { return validate(obj) },
			Columns:        []metav1.TableColumnDefinition{kinds.NameColumn, kinds.CreatedAtColumn},
			Row: func(obj runtime.Object, _ time.Time) []interface{} {
				r := obj.(*rbacv1.ClusterRole)
				return []interface{}{r.Name, kinds.CreatedAt(r.CreationTimestamp)}
			},
		},
	}
}

func validate(obj runtime.Object) field.ErrorList {
	r := obj.(*rbacv1.ClusterRole)
	errs := rules.ValidatePolicyRules(r.Rules, false, field.NewPath("rules"))
	return append(errs, rules.ValidateAggregationRule(r.AggregationRule)...)
}
