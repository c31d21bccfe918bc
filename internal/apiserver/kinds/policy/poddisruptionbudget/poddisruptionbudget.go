// Package poddisruptionbudget is the strategy of policy/v1
// PodDisruptionBudgets.
package poddisruptionbudget

import (
	"time"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
)

// Kind returns the policy/v1 PodDisruptionBudget kind.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:              policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"),
		Resource:         "poddisruptionbudgets",
		Singular:         "poddisruptionbudget",
		Namespaced:       true,
		ShortNames:       []string{"pdb"},
		New:              func() runtime.Object { return &policyv1.PodDisruptionBudget{} },
		NewList:          func() runtime.Object { return &policyv1.PodDisruptionBudgetList{} },
		HasStatus:        true,
		TracksGeneration: true,
		Strategy: kinds.Strategy{
			PrepareForCreate: func(obj runtime.Object) {
				obj.(*policyv1.PodDisruptionBudget).Status = policyv1.PodDisruptionBudgetStatus{}
			},
			Validate:       func(obj runtime.Object) field.ErrorList { return Validate(obj.(*policyv1.PodDisruptionBudget)) },
			ValidateUpdate: func(obj, _ runtime.Object) field.ErrorList { return Validate(obj.(*policyv1.PodDisruptionBudget)) },
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.Column("Min Available", "string", 0, "The minimum number of pods that must be available."),
				kinds.Column("Max Unavailable", "string", 0, "The maximum number of pods that may be unavailable."),
				kinds.Column("Allowed Disruptions", "integer", 0, "Calculated number of pods that may be disrupted at this time."),
				kinds.AgeColumn,
			},
			Row: func(obj runtime.Object, now time.Time) []interface{} {
				pdb := obj.(*policyv1.PodDisruptionBudget)
				minAvailable, maxUnavailable := "N/A", "N/A"
				if pdb.Spec.MinAvailable != nil {
					minAvailable = pdb.Spec.MinAvailable.String()
				}
				if pdb.Spec.MaxUnavailable != nil {
					maxUnavailable = pdb.Spec.MaxUnavailable.String()
				}
				return []interface{}{pdb.Name, minAvailable, maxUnavailable, int64(pdb.Status.DisruptionsAllowed), kinds.Age(pdb.CreationTimestamp, now)}
			},
		},
	}
}

// Validate checks that at most one of minAvailable and maxUnavailable is
// set, each a non-negative integer or a percentage up to 100%, the
// selector, and unhealthyPodEvictionPolicy.
func Validate(pdb *policyv1.PodDisruptionBudget) field.ErrorList {
	spec := &pdb.Spec
	fldPath := field.NewPath("spec")
	var errs field.ErrorList
	if spec.MinAvailable != nil && spec.MaxUnavailable != nil {
		errs = append(errs, field.Invalid(fldPath, spec, "minAvailable and maxUnavailable cannot be both set"))
	}
	if v := spec.MinAvailable; v != nil {
		errs = append(errs, kinds.ValidatePositiveIntOrPercent(*v, fldPath.Child("minAvailable"))...)
		errs = append(errs, kinds.ValidateNotMoreThan100Percent(*v, fldPath.Child("minAvailable"))...)
	}
	if v := spec.MaxUnavailable; v != nil {
		errs = append(errs, kinds.ValidatePositiveIntOrPercent(*v, fldPath.Child("maxUnavailable"))...)
		errs = append(errs, kinds.ValidateNotMoreThan100Percent(*v, fldPath.Child("maxUnavailable"))...)
	}
	errs = append(errs, metavalidation.ValidateLabelSelector(spec.Selector, metavalidation.LabelSelectorValidationOptions{}, fldPath.Child("selector"))...)
	if p := spec.UnhealthyPodEvictionPolicy; p != nil && *p != policyv1.AlwaysAllow && *p != policyv1.IfHealthyBudget {
		errs = append(errs, field.NotSupported(fldPath.Child("unhealthyPodEvictionPolicy"), *p, []string{string(policyv1.AlwaysAllow), string(policyv1.IfHealthyBudget)}))
	}
	return errs
}
