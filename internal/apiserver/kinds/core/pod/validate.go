package pod

import (
	"fmt"
	"math"
	"strings"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds/core/podspec"
)

// Validate validates a new pod: its spec, and no ephemeral containers
// (those are added through the ephemeralcontainers subresource).
func Validate(pod *corev1.Pod) field.ErrorList {
	specPath := field.NewPath("spec")
	errs := podspec.Validate(&pod.Spec, specPath)
	if len(pod.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(specPath.Child("ephemeralContainers"), "cannot be set on create"))
	}
	return errs
}

// updatableFields is the list upstream's error message gives of the pod
// spec fields an update may change.
var updatableFields = []string{
	"`spec.containers[*].image`",
	"`spec.initContainers[*].image`",
	"`spec.activeDeadlineSeconds`",
	"`spec.tolerations` (only additions to existing tolerations)",
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
}

// ValidateUpdate enforces that a pod update changes only container images,
// activeDeadlineSeconds (set, or lowered), added tolerations, a negative
// grace period raised to 1 and scheduling gates removed.
func ValidateUpdate(pod, old *corev1.Pod) field.ErrorList {
	specPath := field.NewPath("spec")
	var errs field.ErrorList
	if len(pod.Spec.Containers) != len(old.Spec.Containers) {
		return field.ErrorList{field.Forbidden(specPath.Child("containers"), "pod updates may not add or remove containers")}
	}
	if len(pod.Spec.InitContainers) != len(old.Spec.InitContainers) {
		return field.ErrorList{field.Forbidden(specPath.Child("initContainers"), "pod updates may not add or remove containers")}
	}
	for i, c := range pod.Spec.Containers {
		if c.Image == "" {
			errs = append(errs, field.Required(specPath.Child("containers").Index(i).Child("image"), ""))
		}
	}
	for i, c := range pod.Spec.InitContainers {
		if c.Image == "" {
			errs = append(errs, field.Required(specPath.Child("initContainers").Index(i).Child("image"), ""))
		}
	}
	adsPath := specPath.Child("activeDeadlineSeconds")
	if v := pod.Spec.ActiveDeadlineSeconds; v != nil {
		if *v < 0 || *v > math.MaxInt32 {
			return append(errs, field.Invalid(adsPath, *v, validation.InclusiveRangeError(0, math.MaxInt32)))
		}
		if o := old.Spec.ActiveDeadlineSeconds; o != nil && *o < *v {
			return append(errs, field.Invalid(adsPath, *v, "must be less than or equal to previous value"))
		}
	} else if old.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Invalid(adsPath, pod.Spec.ActiveDeadlineSeconds, "must not update from a positive integer to nil value"))
	}
	errs = append(errs, podspec.ValidateTolerations(pod.Spec.Tolerations, specPath.Child("tolerations"))...)
	errs = append(errs, validateOnlyAddedTolerations(pod.Spec.Tolerations, old.Spec.Tolerations, specPath.Child("tolerations"))...)
	errs = append(errs, validateGatesRemovedOnly(pod.Spec.SchedulingGates, old.Spec.SchedulingGates, specPath.Child("schedulingGates"))...)

	// Compare the new spec with the old one carrying over every field an
	// update may change: anything left different is forbidden.
	munged := *old.Spec.DeepCopy()
	munged.Containers = copyImages(munged.Containers, pod.Spec.Containers)
	munged.InitContainers = copyImages(munged.InitContainers, pod.Spec.InitContainers)
	munged.ActiveDeadlineSeconds = pod.Spec.ActiveDeadlineSeconds
	munged.Tolerations = pod.Spec.Tolerations
	munged.SchedulingGates = pod.Spec.SchedulingGates
	munged.EphemeralContainers = pod.Spec.EphemeralContainers
	if g := old.Spec.TerminationGracePeriodSeconds; g != nil && *g < 0 {
		if n := pod.Spec.TerminationGracePeriodSeconds; n != nil && *n == 1 {
			munged.TerminationGracePeriodSeconds = n
		}
	}
	if !equality.Semantic.DeepEqual(pod.Spec, munged) {
		diff := cmp.Diff(munged, pod.Spec)
		errs = append(errs, field.Forbidden(specPath, fmt.Sprintf("pod updates may not change fields other than %s\n%v", strings.Join(updatableFields, ","), diff)))
	}
	return errs
}

func copyImages(dst, src []corev1.Container) []corev1.Container {
	for i := range dst {
		dst[i].Image = src[i].Image
	}
	return dst
}

func validateOnlyAddedTolerations(tolerations, old []corev1.Toleration, fldPath *field.Path) field.ErrorList {
	for _, o := range old {
		found := false
		for _, t := range tolerations {
			if t.Key == o.Key && t.Operator == o.Operator && t.Value == o.Value && t.Effect == o.Effect {
				// Only tolerationSeconds of a NoExecute toleration may change, and only downwards.
				if o.TolerationSeconds == nil || (t.TolerationSeconds != nil && *t.TolerationSeconds <= *o.TolerationSeconds) {
					found = true
					break
				}
			}
		}
		if !found {
			return field.ErrorList{field.Forbidden(fldPath, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return nil
}

func validateGatesRemovedOnly(gates, old []corev1.PodSchedulingGate, fldPath *field.Path) field.ErrorList {
	had := map[string]bool{}
	for _, g := range old {
		had[g.Name] = true
	}
	for _, g := range gates {
		if !had[g.Name] {
			return field.ErrorList{field.Forbidden(fldPath, "only deletion is allowed, but found new scheduling gate '"+g.Name+"'")}
		}
	}
	return nil
}
