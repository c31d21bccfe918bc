// Package replicationcontroller is the strategy of core/v1
// ReplicationControllers.
package replicationcontroller

import (
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/podspec"
)

// Kind returns the ReplicationController kind, with the scale subresource.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:              corev1.SchemeGroupVersion.WithKind("ReplicationController"),
		Resource:         "replicationcontrollers",
		Singular:         "replicationcontroller",
		Namespaced:       true,
		ShortNames:       []string{"rc"},
		Categories:       []string{"all"},
		New:              func() runtime.Object { return &corev1.ReplicationController{} },
		NewList:          func() runtime.Object { return &corev1.ReplicationControllerList{} },
		HasStatus:        true,
		TracksGeneration: true,
		Scale: &kinds.Scale{
			SpecReplicas:   "spec.replicas",
			StatusReplicas: "status.replicas",
			Selector: func(obj runtime.Object) string {
				return labels.SelectorFromSet(obj.(*corev1.ReplicationController).Spec.Selector).String()
			},
		},
		Strategy: kinds.Strategy{
			Default:  func(obj runtime.Object) { Default(obj.(*corev1.ReplicationController)) },
			Validate: func(obj runtime.Object) field.ErrorList { return Validate(obj.(*corev1.ReplicationController)) },
			ValidateUpdate: func(obj, _ runtime.Object) field.ErrorList {
				return Validate(obj.(*corev1.ReplicationController))
			},
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.Column("Desired", "integer", 0, corev1.ReplicationControllerSpec{}.SwaggerDoc()["replicas"]),
				kinds.Column("Current", "integer", 0, corev1.ReplicationControllerStatus{}.SwaggerDoc()["replicas"]),
				kinds.Column("Ready", "integer", 0, corev1.ReplicationControllerStatus{}.SwaggerDoc()["readyReplicas"]),
				kinds.AgeColumn,
				kinds.Column("Containers", "string", 1, "Names of each container in the template."),
				kinds.Column("Images", "string", 1, "Images referenced by each container in the template."),
				kinds.Column("Selector", "string", 1, corev1.ReplicationControllerSpec{}.SwaggerDoc()["selector"]),
			},
			Row: func(obj runtime.Object, now time.Time) []interface{} {
				rc := obj.(*corev1.ReplicationController)
				var desired int32
				if rc.Spec.Replicas != nil {
					desired = *rc.Spec.Replicas
				}
				var names, images []string
				if rc.Spec.Template != nil {
					for _, c := range rc.Spec.Template.Spec.Containers {
						names = append(names, c.Name)
						images = append(images, c.Image)
					}
				}
				return []interface{}{
					rc.Name, int64(desired), int64(rc.Status.Replicas), int64(rc.Status.ReadyReplicas), kinds.Age(rc.CreationTimestamp, now),
					strings.Join(names, ","), strings.Join(images, ","), labels.FormatLabels(rc.Spec.Selector),
				}
			},
			Fields: func(obj runtime.Object) fields.Set {
				return fields.Set{"status.replicas": strconv.Itoa(int(obj.(*corev1.ReplicationController).Status.Replicas))}
			},
		},
	}
}

// Default copies the template labels to an empty selector and to empty
// object labels, sets replicas 1 and applies the pod template defaults.
func Default(rc *corev1.ReplicationController) {
	if t := rc.Spec.Template; t != nil && t.Labels != nil {
		if len(rc.Spec.Selector) == 0 {
			rc.Spec.Selector = t.Labels
		}
		if len(rc.Labels) == 0 {
			rc.Labels = t.Labels
		}
	}
	if rc.Spec.Replicas == nil {
		r := int32(1)
		rc.Spec.Replicas = &r
	}
	podspec.DefaultTemplate(rc.Spec.Template)
}

// Validate checks replicas, minReadySeconds, the selector and the
// template, which must match the selector, restart Always and have no
// activeDeadlineSeconds.
func Validate(rc *corev1.ReplicationController) field.ErrorList {
	var errs field.ErrorList
	specPath := field.NewPath("spec")
	s := &rc.Spec
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(s.MinReadySeconds), specPath.Child("minReadySeconds"))...)
	if len(s.Selector) == 0 {
		errs = append(errs, field.Required(specPath.Child("selector"), ""))
	}
	errs = append(errs, metav1validation.ValidateLabels(s.Selector, specPath.Child("selector"))...)
	if s.Replicas != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*s.Replicas), specPath.Child("replicas"))...)
	}
	tp := specPath.Child("template")
	t := s.Template
	if t == nil {
		return append(errs, field.Required(tp, ""))
	}
	if sel := labels.Set(s.Selector).AsSelector(); !sel.Empty() && !sel.Matches(labels.Set(t.Labels)) {
		errs = append(errs, field.Invalid(tp.Child("metadata", "labels"), t.Labels, "`selector` does not match template `labels`"))
	}
	errs = append(errs, podspec.ValidateTemplate(t, tp)...)
	if t.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(tp.Child("spec", "restartPolicy"), t.Spec.RestartPolicy, []string{string(corev1.RestartPolicyAlways)}))
	}
	if t.Spec.ActiveDeadlineSeconds != nil {
		errs = append(errs, field.Forbidden(tp.Child("spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in ReplicationController is not Supported"))
	}
	return errs
}
