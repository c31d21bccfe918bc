// Package rules holds what the rbac.authorization.k8s.io/v1 kinds share:
// name validation, policy rule, role reference and subject validation and
// defaults, and the binding table columns.
//
// Everything here is pure and safe for concurrent use.
package rules

import (
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
)

// ValidateName is upstream's minimal name rule for roles and bindings: the
// name only has to be usable as a URL path segment.
func ValidateName(name string, _ bool) []string {
	return path.IsValidPathSegmentName(name)
}

// ValidatePolicyRules checks rules at fldPath (usually "rules");
// namespaced rules may not name non-resource URLs.
func ValidatePolicyRules(rules []rbacv1.PolicyRule, namespaced bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i := range rules {
		errs = append(errs, validatePolicyRule(&rules[i], namespaced, fldPath.Index(i))...)
	}
	return errs
}

func validatePolicyRule(rule *rbacv1.PolicyRule, namespaced bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(rule.Verbs) == 0 {
		errs = append(errs, field.Required(fldPath.Child("verbs"), "verbs must contain at least one value"))
	}
	if len(rule.NonResourceURLs) > 0 {
		if namespaced {
			errs = append(errs, field.Invalid(fldPath.Child("nonResourceURLs"), rule.NonResourceURLs, "namespaced rules cannot apply to non-resource URLs"))
		}
		if len(rule.APIGroups) > 0 || len(rule.Resources) > 0 || len(rule.ResourceNames) > 0 {
			errs = append(errs, field.Invalid(fldPath.Child("nonResourceURLs"), rule.NonResourceURLs, "rules cannot apply to both regular resources and non-resource URLs"))
		}
		return errs
	}
	if len(rule.APIGroups) == 0 {
		errs = append(errs, field.Required(fldPath.Child("apiGroups"), "resource rules must supply at least one api group"))
	}
	if len(rule.Resources) == 0 {
		errs = append(errs, field.Required(fldPath.Child("resources"), "resource rules must supply at least one resource"))
	}
	if len(rule.ResourceNames) > 0 && len(rule.Resources) > 1 {
		errs = append(errs, field.Required(fldPath.Child("resourceNames"), "resource names cannot apply to multiple resources"))
	}
	return errs
}

// ValidateAggregationRule checks a ClusterRole's aggregationRule.
func ValidateAggregationRule(rule *rbacv1.AggregationRule) field.ErrorList {
	if rule == nil {
		return nil
	}
	var errs field.ErrorList
	fldPath := field.NewPath("aggregationRule", "clusterRoleSelectors")
	if len(rule.ClusterRoleSelectors) == 0 {
		errs = append(errs, field.Required(fldPath, "at least one clusterRoleSelector required if aggregationRule is non-nil"))
	}
	for i := range rule.ClusterRoleSelectors {
		sel := &rule.ClusterRoleSelectors[i]
		errs = append(errs, metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, fldPath.Index(i))...)
		if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
			errs = append(errs, field.Invalid(fldPath.Index(i), sel, "invalid label selector."))
		}
	}
	return errs
}

// ValidateRoleRef checks a binding's roleRef; kinds lists the role kinds
// the binding may refer to.
func ValidateRoleRef(ref rbacv1.RoleRef, kindsAllowed []string) field.ErrorList {
	var errs field.ErrorList
	if ref.APIGroup != rbacv1.GroupName {
		errs = append(errs, field.NotSupported(field.NewPath("roleRef", "apiGroup"), ref.APIGroup, []string{rbacv1.GroupName}))
	}
	known := false
	for _, k := range kindsAllowed {
		if ref.Kind == k {
			known = true
		}
	}
	if !known {
		errs = append(errs, field.NotSupported(field.NewPath("roleRef", "kind"), ref.Kind, kindsAllowed))
	}
	namePath := field.NewPath("roleRef", "name")
	if ref.Name == "" {
		errs = append(errs, field.Required(namePath, ""))
	} else {
		for _, msg := range ValidateName(ref.Name, false) {
			errs = append(errs, field.Invalid(namePath, ref.Name, msg))
		}
	}
	return errs
}

// ValidateRoleRefUpdate forbids any change of roleRef.
func ValidateRoleRefUpdate(ref, old rbacv1.RoleRef) field.ErrorList {
	if ref != old {
		return field.ErrorList{field.Invalid(field.NewPath("roleRef"), ref, "cannot change roleRef")}
	}
	return nil
}

// ValidateSubjects checks a binding's subjects. Service account subjects of
// cluster-scoped bindings must name their namespace.
func ValidateSubjects(subjects []rbacv1.Subject, namespaced bool) field.ErrorList {
	var errs field.ErrorList
	base := field.NewPath("subjects")
	for i := range subjects {
		errs = append(errs, validateSubject(&subjects[i], namespaced, base.Index(i))...)
	}
	return errs
}

func validateSubject(s *rbacv1.Subject, namespaced bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if s.Name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	}
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		if s.Name != "" {
			for _, msg := range apivalidation.NameIsDNSSubdomain(s.Name, false) {
				errs = append(errs, field.Invalid(fldPath.Child("name"), s.Name, msg))
			}
		}
		if s.APIGroup != "" {
			errs = append(errs, field.NotSupported(fldPath.Child("apiGroup"), s.APIGroup, []string{""}))
		}
		if !namespaced && s.Namespace == "" {
			errs = append(errs, field.Required(fldPath.Child("namespace"), ""))
		}
	case rbacv1.UserKind, rbacv1.GroupKind:
		if s.Name == "" {
			what := "user"
			if s.Kind == rbacv1.GroupKind {
				what = "group"
			}
			errs = append(errs, field.Invalid(fldPath.Child("name"), s.Name, what+" name cannot be empty"))
		}
		if s.APIGroup != rbacv1.GroupName {
			errs = append(errs, field.NotSupported(fldPath.Child("apiGroup"), s.APIGroup, []string{rbacv1.GroupName}))
		}
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("kind"), s.Kind, []string{rbacv1.ServiceAccountKind, rbacv1.UserKind, rbacv1.GroupKind}))
	}
	return errs
}

// DefaultBinding sets roleRef.apiGroup and each subject's apiGroup as
// upstream's v1 defaulters do.
func DefaultBinding(ref *rbacv1.RoleRef, subjects []rbacv1.Subject) {
	if ref.APIGroup == "" {
		ref.APIGroup = rbacv1.GroupName
	}
	for i := range subjects {
		s := &subjects[i]
		if s.APIGroup != "" {
			continue
		}
		switch s.Kind {
		case rbacv1.UserKind, rbacv1.GroupKind:
			s.APIGroup = rbacv1.GroupName
		}
	}
}

// BindingColumns returns the columns of a (cluster) role binding table;
// roleRefDoc describes the Role column.
func BindingColumns(roleRefDoc string) []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		kinds.NameColumn,
		kinds.Column("Role", "string", 0, roleRefDoc),
		kinds.AgeColumn,
		kinds.Column("Users", "string", 1, "Users in the roleBinding"),
		kinds.Column("Groups", "string", 1, "Groups in the roleBinding"),
		kinds.Column("ServiceAccounts", "string", 1, "ServiceAccounts in the roleBinding"),
	}
}

// BindingRow returns the cells for BindingColumns.
func BindingRow(meta *metav1.ObjectMeta, ref rbacv1.RoleRef, subjects []rbacv1.Subject, now time.Time) []interface{} {
	var users, groups, sas []string
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.ServiceAccountKind:
			sas = append(sas, s.Namespace+"/"+s.Name)
		case rbacv1.UserKind:
			users = append(users, s.Name)
		case rbacv1.GroupKind:
			groups = append(groups, s.Name)
		}
	}
	return []interface{}{
		meta.Name,
		ref.Kind + "/" + ref.Name,
		kinds.Age(meta.CreationTimestamp, now),
		strings.Join(users, ", "),
		strings.Join(groups, ", "),
		strings.Join(sas, ", "),
	}
}
