// Package priorityclass is the strategy of scheduling.k8s.io/v1
// PriorityClasses.
package priorityclass

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
)

const (
	// HighestUserDefinablePriority is the highest value a PriorityClass
	// outside the system- prefix may have.
	HighestUserDefinablePriority = int32(1000000000)
	// SystemCriticalPriority is the value of system-cluster-critical;
	// system-node-critical is 1000 above it.
	SystemCriticalPriority = 2 * HighestUserDefinablePriority
	systemPrefix           = "system-"
)

// systemClasses are the only PriorityClasses allowed the system- prefix.
var systemClasses = []struct {
	name  string
	value int32
}{
	{"system-node-critical", SystemCriticalPriority + 1000},
	{"system-cluster-critical", SystemCriticalPriority},
}

// Kind returns the PriorityClass kind.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:        schedulingv1.SchemeGroupVersion.WithKind("PriorityClass"),
		Resource:   "priorityclasses",
		Singular:   "priorityclass",
		ShortNames: []string{"pc"},
		New:        func() runtime.Object { return &schedulingv1.PriorityClass{} },
		NewList:    func() runtime.Object { return &schedulingv1.PriorityClassList{} },
		Strategy: kinds.Strategy{
			Default: func(obj runtime.Object) {
				pc := obj.(*schedulingv1.PriorityClass)
				if pc.PreemptionPolicy == nil {
					p := corev1.PreemptLowerPriority
					pc.PreemptionPolicy = &p
				}
			},
			Validate:       validate,
			ValidateUpdate: validateUpdate,
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.Column("Value", "integer", 0, schedulingv1.PriorityClass{}.SwaggerDoc()["value"]),
				kinds.Column("Global-Default", "boolean", 0, schedulingv1.PriorityClass{}.SwaggerDoc()["globalDefault"]),
				kinds.AgeColumn,
				kinds.Column("PreemptionPolicy", "string", 0, schedulingv1.PriorityClass{}.SwaggerDoc()["preemptionPolicy"]),
			},
			Row: func(obj runtime.Object, now time.Time) []interface{} {
				pc := obj.(*schedulingv1.PriorityClass)
				policy := ""
				if pc.PreemptionPolicy != nil {
					policy = string(*pc.PreemptionPolicy)
				}
				return []interface{}{pc.Name, int64(pc.Value), pc.GlobalDefault, kinds.Age(pc.CreationTimestamp, now), policy}
			},
		},
	}
}

// knownSystemClass reports whether name, value and globalDefault describe
// one of the predefined system classes, and why not.
func knownSystemClass(name string, value int32, globalDefault bool) error {
	for _, c := range systemClasses {
		if c.name != name {
			continue
		}
		if c.value != value {
			return fmt.Errorf("value of %v PriorityClass must be %v", c.name, c.value)
		}
		if globalDefault {
			return fmt.Errorf("globalDefault of %v PriorityClass must be false", c.name)
		}
		return nil
	}
	return fmt.Errorf("%v is not a known system priority class", name)
}

func validate(obj runtime.Object) field.ErrorList {
	pc := obj.(*schedulingv1.PriorityClass)
	var errs field.ErrorList
	if strings.HasPrefix(pc.Name, systemPrefix) {
		if err := knownSystemClass(pc.Name, pc.Value, pc.GlobalDefault); err != nil {
			errs = append(errs, field.Forbidden(field.NewPath("metadata", "name"),
				"priority class names with '"+systemPrefix+"' prefix are reserved for system use only. error: "+err.Error()))
		}
	} else if pc.Value > HighestUserDefinablePriority {
		errs = append(errs, field.Forbidden(field.NewPath("value"),
			fmt.Sprintf("maximum allowed value of a user defined priority is %v", HighestUserDefinablePriority)))
	}
	if pc.PreemptionPolicy != nil {
		p := field.NewPath("preemptionPolicy")
		switch *pc.PreemptionPolicy {
		case corev1.PreemptLowerPriority, corev1.PreemptNever:
		case "":
			errs = append(errs, field.Required(p, ""))
		default:
			errs = append(errs, field.NotSupported(p, *pc.PreemptionPolicy,
				[]corev1.PreemptionPolicy{corev1.PreemptLowerPriority, corev1.PreemptNever}))
		}
	}
	return errs
}

func validateUpdate(obj, old runtime.Object) field.ErrorList {
	pc, oldPC := obj.(*schedulingv1.PriorityClass), old.(*schedulingv1.PriorityClass)
	var errs field.ErrorList
	if pc.Value != oldPC.Value {
		errs = append(errs, field.Forbidden(field.NewPath("value"), "may not be changed in an update."))
	}
	return append(errs, apivalidation.ValidateImmutableField(pc.PreemptionPolicy, oldPC.PreemptionPolicy, field.NewPath("preemptionPolicy"))...)
}
