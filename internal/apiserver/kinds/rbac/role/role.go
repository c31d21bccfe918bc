// Package role is the strategy of rbac.authorization.k8s.io/v1 Roles.
package role

import (
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/rbac/rules"
)

// Kind returns the Role kind.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:        rbacv1.SchemeGroupVersion.WithKind("Role"),
		Resource:   "roles",
		Singular:   "role",
		Namespaced: true,
		New:        func() runtime.Object { return &rbacv1.Role{} },
		NewList:    func() runtime.Object { return &rbacv1.RoleList{} },
		Strategy: kinds.Strategy{
			ValidateName: rules.ValidateName,
			Validate: func(obj runtime.Object) field.ErrorList {
				return rules.ValidatePolicyRules(obj.(*rbacv1.Role).Rules, true, field.NewPath("rules"))
			},
			ValidateUpdate: func(obj, _ runtime.Object) field.ErrorList {
				return rules.ValidatePolicyRules(obj.(*rbacv1.Role).Rules, true, field.NewPath("rules"))
			},
			Columns: []metav1.TableColumnDefinition{kinds.NameColumn, kinds.CreatedAtColumn},
			Row: func(obj runtime.Object, _ time.Time) []interface{} {
				r := obj.(*rbacv1.Role)
				return []interface{}{r.Name, kinds.CreatedAt(r.CreationTimestamp)}
			},
		},
	}
}
