// Package rolebinding is the strategy of rbac.authorization.k8s.io/v1
// RoleBindings.
package rolebinding

import (
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/rbac/rules"
)

// Kind returns the RoleBinding kind.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:        rbacv1.SchemeGroupVersion.WithKind("RoleBinding"),
		Resource:   "rolebindings",
		Singular:   "rolebinding",
		Namespaced: true,
		New:        func() runtime.Object { return &rbacv1.RoleBinding{} },
		NewList:    func() runtime.Object { return &rbacv1.RoleBindingList{} },
		Strategy: kinds.Strategy{
			ValidateName: rules.ValidateName,
			Default: func(obj runtime.Object) {
				b := obj.(*rbacv1.RoleBinding)
				rules.DefaultBinding(&b.RoleRef, b.Subjects)
			},
			Validate: validate,
			ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
				errs := validate(obj)
				return append(errs, rules.ValidateRoleRefUpdate(obj.(*rbacv1.RoleBinding).RoleRef, old.(*rbacv1.RoleBinding).RoleRef)...)
			},
			Columns: rules.BindingColumns(rbacv1.RoleBinding{}.SwaggerDoc()["roleRef"]),
			Row: func(obj runtime.Object, now time.Time) []interface{} {
				b := obj.(*rbacv1.RoleBinding)
				return rules.BindingRow(&b.ObjectMeta, b.RoleRef, b.Subjects, now)
			},
		},
	}
}

func validate(obj runtime.Object) field.ErrorList {
	b := obj.(*rbacv1.RoleBinding)
	errs := rules.ValidateRoleRef(b.RoleRef, []string{"Role", "ClusterRole"})
	return append(errs, rules.ValidateSubjects(b.Subjects, true)...)
}
