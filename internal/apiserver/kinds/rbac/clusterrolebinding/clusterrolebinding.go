// Package clusterrolebinding is the strategy of
// rbac.authorization.k8s.io/v1 ClusterRoleBindings.
package clusterrolebinding

import (
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/rbac/rules"
)

// Kind returns the ClusterRoleBinding kind.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:      rbacv1.SchemeGroupVersion.WithKind("ClusterRoleBinding"),
		Resource: "clusterrolebindings",
		Singular: "clusterrolebinding",
		New:      func() runtime.Object { return &rbacv1.ClusterRoleBinding{} },
		NewList:  func() runtime.Object { return &rbacv1.ClusterRoleBindingList{} },
		Strategy: kinds.Strategy{
			ValidateName: rules.ValidateName,
			Default: func(obj runtime.Object) {
				b := obj.(*rbacv1.ClusterRoleBinding)
				rules.DefaultBinding(&b.RoleRef, b.Subjects)
			},
			Validate: validate,
			ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
				errs := validate(obj)
				return append(errs, rules.ValidateRoleRefUpdate(obj.(*rbacv1.ClusterRoleBinding).RoleRef, old.(*rbacv1.ClusterRoleBinding).RoleRef)...)
			},
			Columns: rules.BindingColumns(rbacv1.ClusterRoleBinding{}.SwaggerDoc()["roleRef"]),
			Row: func(obj runtime.Object, now time.Time) []interface{} {
				b := obj.(*rbacv1.ClusterRoleBinding)
				return rules.BindingRow(&b.ObjectMeta, b.RoleRef, b.Subjects, now)
			},
		},
	}
}

func validate(obj runtime.Object) field.ErrorList {
	b := obj.(*rbacv1.ClusterRoleBinding)
	errs := rules.ValidateRoleRef(b.RoleRef, []string{"ClusterRole"})
	return append(errs, rules.ValidateSubjects(b.Subjects, false)...)
}
