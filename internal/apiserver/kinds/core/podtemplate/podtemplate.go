// Package podtemplate is the strategy of core/v1 PodTemplates.
package podtemplate

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
	"github.com/skiff/skiff/internal/apiserver/kinds/core/podspec"
)

// Kind returns the PodTemplate kind.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:        corev1.SchemeGroupVersion.WithKind("PodTemplate"),
		Resource:   "podtemplates",
		Singular:   "podtemplate",
		Namespaced: true,
		New:        func() runtime.Object { return &corev1.PodTemplate{} },
		NewList:    func() runtime.Object { return &corev1.PodTemplateList{} },
		Strategy: kinds.Strategy{
			Default: func(obj runtime.Object) { podspec.DefaultTemplate(&obj.(*corev1.PodTemplate).Template) },
			Validate: func(obj runtime.Object) field.ErrorList {
				return podspec.ValidateTemplate(&obj.(*corev1.PodTemplate).Template, field.NewPath("template"))
			},
			ValidateUpdate: func(obj, _ runtime.Object) field.ErrorList {
				return podspec.ValidateTemplate(&obj.(*corev1.PodTemplate).Template, field.NewPath("template"))
			},
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.Column("Containers", "string", 0, "Names of each container in the template."),
				kinds.Column("Images", "string", 0, "Images referenced by each container in the template."),
				kinds.Column("Pod Labels", "string", 0, "The labels for the pod template."),
			},
			Row: func(obj runtime.Object, _ time.Time) []interface{} {
				pt := obj.(*corev1.PodTemplate)
				var names, images []string
				for _, c := range pt.Template.Spec.Containers {
					names = append(names, c.Name)
					images = append(images, c.Image)
				}
				return []interface{}{pt.Name, strings.Join(names, ","), strings.Join(images, ","), labels.FormatLabels(pt.Template.Labels)}
			},
		},
	}
}
