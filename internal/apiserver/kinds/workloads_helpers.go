package kinds

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Column descriptions shared by the workload kinds' Containers and Images
// columns.
const (
	ContainersDescription = "Names of each container in the template."
	ImagesDescription     = "Images referenced by each container in the template."
)

// ContainerCells returns the names and the images of containers, each
// joined with commas, as the Containers and Images table columns show them.
func ContainerCells(containers []corev1.Container) (names, images string) {
	n := make([]string, len(containers))
	im := make([]string, len(containers))
	for i, c := range containers {
		n[i], im[i] = c.Name, c.Image
	}
	return strings.Join(n, ","), strings.Join(im, ",")
}

// BoolPtrCell formats an optional boolean as "True", "False" or "<unset>".
func BoolPtrCell(b *bool) string {
	switch {
	case b == nil:
		return "<unset>"
	case *b:
		return "True"
	default:
		return "False"
	}
}

// ValidateWorkloadSelector checks the label selector of a controller that
// requires one (deployments, replicasets, statefulsets): "Required" when
// nil, the label selector rules, and "empty selector is invalid for <what>".
// It returns the parsed selector (labels.Nothing() for a nil selector, as
// upstream, so that the template check fails too), or nil when the
// selector does not parse.
func ValidateWorkloadSelector(sel *metav1.LabelSelector, what string, fldPath *field.Path) (labels.Selector, field.ErrorList) {
	var errs field.ErrorList
	if sel == nil {
		errs = append(errs, field.Required(fldPath, ""))
	} else {
		errs = append(errs, metavalidation.ValidateLabelSelector(sel, metavalidation.LabelSelectorValidationOptions{}, fldPath)...)
		if len(sel.MatchLabels)+len(sel.MatchExpressions) == 0 {
			errs = append(errs, field.Invalid(fldPath, sel, "empty selector is invalid for "+what))
		}
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, errs
	}
	return s, errs
}

// ValidateSelectorMatchesTemplate reports "`selector` does not match
// template `labels`" at fldPath (the template's metadata.labels) when a
// non-empty selector does not select the template's labels.
func ValidateSelectorMatchesTemplate(sel labels.Selector, templateLabels map[string]string, fldPath *field.Path) field.ErrorList {
	if sel == nil || sel.Empty() || sel.Matches(labels.Set(templateLabels)) {
		return nil
	}
	return field.ErrorList{field.Invalid(fldPath, templateLabels, "`selector` does not match template `labels`")}
}

// ValidateNonnegative reports "must be greater than or equal to 0" for a
// negative value.
func ValidateNonnegative(v int64, fldPath *field.Path) field.ErrorList {
	return apivalidation.ValidateNonnegativeField(v, fldPath)
}

// ValidatePositiveIntOrPercent checks that v is a non-negative integer or a
// valid percentage such as "25%".
func ValidatePositiveIntOrPercent(v intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch v.Type {
	case intstr.String:
		for _, msg := range validation.IsValidPercent(v.StrVal) {
			errs = append(errs, field.Invalid(fldPath, v, msg))
		}
	case intstr.Int:
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(v.IntValue()), fldPath)...)
	default:
		errs = append(errs, field.Invalid(fldPath, v, "must be an integer or percentage (e.g '5%%')"))
	}
	return errs
}

// percentValue returns the number of a valid percentage string.
func percentValue(v intstr.IntOrString) (int, bool) {
	if v.Type != intstr.String || len(validation.IsValidPercent(v.StrVal)) != 0 {
		return 0, false
	}
	n, _ := strconv.Atoi(v.StrVal[:len(v.StrVal)-1])
	return n, true
}

// IntOrPercentValue returns the number in v, whether a percentage or an
// integer (0 for an invalid string).
func IntOrPercentValue(v intstr.IntOrString) int {
	if n, ok := percentValue(v); ok {
		return n
	}
	return v.IntValue()
}

// ValidateNotMoreThan100Percent reports a percentage above 100%.
func ValidateNotMoreThan100Percent(v intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	n, ok := percentValue(v)
	if !ok || n <= 100 {
		return nil
	}
	return field.ErrorList{field.Invalid(fldPath, v, "must not be greater than 100%")}
}

// ValidateWorkloadTemplateRestart checks that a long-running controller's
// pod template restarts always and sets no activeDeadlineSeconds; what names
// the controller in the message ("ReplicaSet", "StatefulSet", "DaemonSet").
func ValidateWorkloadTemplateRestart(spec *corev1.PodSpec, what string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(fldPath.Child("restartPolicy"), spec.RestartPolicy, []string{string(corev1.RestartPolicyAlways)}))
	}
	if spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(fldPath.Child("activeDeadlineSeconds"), "activeDeadlineSeconds in "+what+" is not Supported"))
	}
	return errs
}

// PodNameWarnings warns about a controller name that is valid but not a DNS
// label: its pods' names and hostnames derive from it.
func PodNameWarnings(name string) []string {
	if msgs := validation.IsDNS1123Label(name); len(msgs) != 0 {
		return []string{fmt.Sprintf("metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; a DNS label is recommended: %v", msgs)}
	}
	return nil
}

// SelectorCell formats a label selector as the Selector column of
// deployments does, or "<invalid>" when it does not parse.
func SelectorCell(sel *metav1.LabelSelector) string {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return "<invalid>"
	}
	return s.String()
}

// ScaleSelector returns the selector string of a Scale's status.selector.
func ScaleSelector(sel *metav1.LabelSelector) string {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return ""
	}
	return s.String()
}
