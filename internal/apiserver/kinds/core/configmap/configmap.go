// Package configmap is the strategy of core/v1 ConfigMaps.
package configmap

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/apiserver/kinds"
)

// Kind returns the ConfigMap kind.
func Kind() kinds.Kind {
	return kinds.Kind{
		GVK:        corev1.SchemeGroupVersion.WithKind("ConfigMap"),
		Resource:   "configmaps",
		Singular:   "configmap",
		Namespaced: true,
		ShortNames: []string{"cm"},
		New:        func() runtime.Object { return &corev1.ConfigMap{} },
		NewList:    func() runtime.Object { return &corev1.ConfigMapList{} },
		Strategy: kinds.Strategy{
			Columns: []metav1.TableColumnDefinition{
				kinds.NameColumn,
				kinds.Column("Data", "integer", 0, "Number of data entries"),
				kinds.AgeColumn,
			},
			Row: func(obj runtime.Object, now time.Time) []interface{} {
				cm := obj.(*corev1.ConfigMap)
				return []interface{}{cm.Name, int64(len(cm.Data) + len(cm.BinaryData)), kinds.Age(cm.CreationTimestamp, now)}
			},
		},
	}
}
