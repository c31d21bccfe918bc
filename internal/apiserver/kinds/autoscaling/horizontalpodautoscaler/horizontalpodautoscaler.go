// Package horizontalpodautoscaler is the strategy of HorizontalPodAutoscalers,
// served as autoscaling/v2 (the stored form) and autoscaling/v1 (converted
// to and from v2, with upstream's round-tripping annotations).
package horizontalpodautoscaler

import (
	"fmt"
	"strings"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/apiserver/kinds"
)

// DefaultCPUUtilization is the CPU target of an HPA that names no metric.
const DefaultCPUUtilization int32 = 80

func kind() kinds.Kind {
	return kinds.Kind{
		Resource:         "horizontalpodautoscalers",
		Singular:         "horizontalpodautoscaler",
		Namespaced:       true,
		ShortNames:       []string{"hpa"},
		Categories:       []string{"all"},
		HasStatus:        true,
		TracksGeneration: true,
	}
}

// KindV2 returns the autoscaling/v2 HorizontalPodAutoscaler kind, the
// stored form.
func KindV2() kinds.Kind {
	k := kind()
	k.GVK = autoscalingv2.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler")
	k.New = func() runtime.Object { return &autoscalingv2.HorizontalPodAutoscaler{} }
	k.NewList = func() runtime.Object { return &autoscalingv2.HorizontalPodAutoscalerList{} }
	k.Strategy = kinds.Strategy{
		Default: func(obj runtime.Object) { Default(obj.(*autoscalingv2.HorizontalPodAutoscaler)) },
		PrepareForCreate: func(obj runtime.Object) {
			obj.(*autoscalingv2.HorizontalPodAutoscaler).Status = autoscalingv2.HorizontalPodAutoscalerStatus{}
		},
		Validate: func(obj runtime.Object) field.ErrorList {
			return Validate(obj.(*autoscalingv2.HorizontalPodAutoscaler))
		},
		ValidateUpdate: func(obj, old runtime.Object) field.ErrorList {
			return ValidateUpdate(obj.(*autoscalingv2.HorizontalPodAutoscaler), old.(*autoscalingv2.HorizontalPodAutoscaler))
		},
		Columns: columns,
		Row: func(obj runtime.Object, now time.Time) []interface{} {
			return row(obj.(*autoscalingv2.HorizontalPodAutoscaler), now)
		},
	}
	return k
}

// KindV1 returns the autoscaling/v1 HorizontalPodAutoscaler kind, stored as
// autoscaling/v2. Its strategy converts to v2 and applies the v2 rules, so
// errors carry v2 field paths, as upstream's do.
func KindV1() kinds.Kind {
	k := kind()
	k.GVK = autoscalingv1.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler")
	k.New = func() runtime.Object { return &autoscalingv1.HorizontalPodAutoscaler{} }
	k.NewList = func() runtime.Object { return &autoscalingv1.HorizontalPodAutoscalerList{} }
	storage := autoscalingv2.SchemeGroupVersion.WithKind("HorizontalPodAutoscaler")
	k.Storage = &storage
	k.ToStorage = func(obj runtime.Object) (runtime.Object, error) {
		return ToV2(obj.(*autoscalingv1.HorizontalPodAutoscaler)), nil
	}
	k.FromStorage = func(obj runtime.Object) (runtime.Object, error) {
		return ToV1(obj.(*autoscalingv2.HorizontalPodAutoscaler)), nil
	}
	v2 := func(obj runtime.Object) *autoscalingv2.HorizontalPodAutoscaler {
		return ToV2(obj.(*autoscalingv1.HorizontalPodAutoscaler))
	}
	k.Strategy = kinds.Strategy{
		Default: func(obj runtime.Object) {
			h := obj.(*autoscalingv1.HorizontalPodAutoscaler)
			if h.Spec.MinReplicas == nil {
				one := int32(1)
				h.Spec.MinReplicas = &one
			}
		},
		PrepareForCreate: func(obj runtime.Object) {
			h := obj.(*autoscalingv1.HorizontalPodAutoscaler)
			h.Status = autoscalingv1.HorizontalPodAutoscalerStatus{}
			for _, a := range []string{MetricStatusesAnnotation, ConditionsAnnotation} {
				delete(h.Annotations, a)
			}
		},
		Validate:       func(obj runtime.Object) field.ErrorList { return Validate(v2(obj)) },
		ValidateUpdate: func(obj, old runtime.Object) field.ErrorList { return ValidateUpdate(v2(obj), v2(old)) },
		Columns:        columns,
		Row:            func(obj runtime.Object, now time.Time) []interface{} { return row(v2(obj), now) },
	}
	return k
}

var columns = []metav1.TableColumnDefinition{
	kinds.NameColumn,
	kinds.Column("Reference", "string", 0, autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()["scaleTargetRef"]),
	kinds.Column("Targets", "string", 0, autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()["metrics"]),
	kinds.Column("MinPods", "string", 0, autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()["minReplicas"]),
	kinds.Column("MaxPods", "string", 0, autoscalingv2.HorizontalPodAutoscalerSpec{}.SwaggerDoc()["maxReplicas"]),
	kinds.Column("Replicas", "string", 0, autoscalingv2.HorizontalPodAutoscalerStatus{}.SwaggerDoc()["currentReplicas"]),
	kinds.AgeColumn,
}

// Default sets the autoscaling/v2 defaults: minReplicas 1, a CPU
// utilization target of 80% when no metric is given, and, when behavior is
// set, the default scale-up and scale-down rules under the given ones.
func Default(h *autoscalingv2.HorizontalPodAutoscaler) {
	if h.Spec.MinReplicas == nil {
		one := int32(1)
		h.Spec.MinReplicas = &one
	}
	if len(h.Spec.Metrics) == 0 {
		h.Spec.Metrics = []autoscalingv2.MetricSpec{cpuMetric(DefaultCPUUtilization)}
	}
	if b := h.Spec.Behavior; b != nil {
		b.ScaleUp = overlayRules(b.ScaleUp, defaultScaleUp())
		b.ScaleDown = overlayRules(b.ScaleDown, defaultScaleDown())
	}
}

func cpuMetric(utilization int32) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{
		Type: autoscalingv2.ResourceMetricSourceType,
		Resource: &autoscalingv2.ResourceMetricSource{
			Name:   corev1.ResourceCPU,
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &utilization},
		},
	}
}

func defaultScaleUp() *autoscalingv2.HPAScalingRules {
	window := int32(0)
	maxPolicy := autoscalingv2.MaxChangePolicySelect
	return &autoscalingv2.HPAScalingRules{
		StabilizationWindowSeconds: &window,
		SelectPolicy:               &maxPolicy,
		Policies: []autoscalingv2.HPAScalingPolicy{
			{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
			{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
		},
	}
}

// defaultScaleDown leaves the stabilization window unset: the controller's
// flag decides it.
func defaultScaleDown() *autoscalingv2.HPAScalingRules {
	maxPolicy := autoscalingv2.MaxChangePolicySelect
	return &autoscalingv2.HPAScalingRules{
		SelectPolicy: &maxPolicy,
		Policies:     []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}},
	}
}

// overlayRules returns def with every field from that is set.
func overlayRules(from, def *autoscalingv2.HPAScalingRules) *autoscalingv2.HPAScalingRules {
	if from == nil {
		return def
	}
	if from.SelectPolicy != nil {
		def.SelectPolicy = from.SelectPolicy
	}
	if from.StabilizationWindowSeconds != nil {
		def.StabilizationWindowSeconds = from.StabilizationWindowSeconds
	}
	if from.Policies != nil {
		def.Policies = from.Policies
	}
	if from.Tolerance != nil {
		def.Tolerance = from.Tolerance
	}
	return def
}

func row(h *autoscalingv2.HorizontalPodAutoscaler, now time.Time) []interface{} {
	minPods := "<unset>"
	if h.Spec.MinReplicas != nil {
		minPods = fmt.Sprintf("%d", *h.Spec.MinReplicas)
	}
	return []interface{}{
		h.Name,
		h.Spec.ScaleTargetRef.Kind + "/" + h.Spec.ScaleTargetRef.Name,
		formatMetrics(h.Spec.Metrics, h.Status.CurrentMetrics),
		minPods, int64(h.Spec.MaxReplicas), int64(h.Status.CurrentReplicas),
		kinds.Age(h.CreationTimestamp, now),
	}
}

// formatMetrics is the Targets column: "current/target" per metric, at
// most two, then "+ N more...".
func formatMetrics(specs []autoscalingv2.MetricSpec, statuses []autoscalingv2.MetricStatus) string {
	if len(specs) == 0 {
		return "<none>"
	}
	const max = 2
	var list []string
	for i, spec := range specs {
		var st *autoscalingv2.MetricStatus
		if len(statuses) > i {
			st = &statuses[i]
		}
		list = append(list, formatMetric(spec, st))
	}
	if len(list) > max {
		return fmt.Sprintf("%s + %d more...", strings.Join(list[:max], ", "), len(list)-max)
	}
	return strings.Join(list, ", ")
}

func formatMetric(spec autoscalingv2.MetricSpec, st *autoscalingv2.MetricStatus) string {
	const unknown = "<unknown>"
	switch spec.Type {
	case autoscalingv2.ExternalMetricSourceType:
		if spec.External == nil {
			break
		}
		t := spec.External.Target
		if t.AverageValue != nil {
			cur := unknown
			if st != nil && st.External != nil && st.External.Current.AverageValue != nil {
				cur = st.External.Current.AverageValue.String()
			}
			return fmt.Sprintf("%s/%s (avg)", cur, t.AverageValue.String())
		}
		cur := unknown
		if st != nil && st.External != nil {
			cur = quantity(st.External.Current.Value)
		}
		return fmt.Sprintf("%s/%s", cur, quantity(t.Value))
	case autoscalingv2.PodsMetricSourceType:
		if spec.Pods == nil {
			break
		}
		cur := unknown
		if st != nil && st.Pods != nil {
			cur = quantity(st.Pods.Current.AverageValue)
		}
		return fmt.Sprintf("%s/%s", cur, quantity(spec.Pods.Target.AverageValue))
	case autoscalingv2.ObjectMetricSourceType:
		if spec.Object == nil {
			break
		}
		t := spec.Object.Target
		if t.AverageValue != nil {
			cur := unknown
			if st != nil && st.Object != nil && st.Object.Current.AverageValue != nil {
				cur = st.Object.Current.AverageValue.String()
			}
			return fmt.Sprintf("%s/%s (avg)", cur, t.AverageValue.String())
		}
		cur := unknown
		if st != nil && st.Object != nil {
			cur = quantity(st.Object.Current.Value)
		}
		return fmt.Sprintf("%s/%s", cur, quantity(t.Value))
	case autoscalingv2.ResourceMetricSourceType:
		if spec.Resource == nil {
			break
		}
		var cur *autoscalingv2.MetricValueStatus
		if st != nil && st.Resource != nil {
			cur = &st.Resource.Current
		}
		return formatResource(spec.Resource.Name, spec.Resource.Target, cur)
	case autoscalingv2.ContainerResourceMetricSourceType:
		if spec.ContainerResource == nil {
			break
		}
		var cur *autoscalingv2.MetricValueStatus
		if st != nil && st.ContainerResource != nil {
			cur = &st.ContainerResource.Current
		}
		return formatResource(spec.ContainerResource.Name, spec.ContainerResource.Target, cur)
	}
	return "<unknown type>"
}

func formatResource(name corev1.ResourceName, t autoscalingv2.MetricTarget, cur *autoscalingv2.MetricValueStatus) string {
	if t.AverageValue != nil {
		c := "<unknown>"
		if cur != nil {
			c = quantity(cur.AverageValue)
		}
		return fmt.Sprintf("%s: %s/%s", name, c, t.AverageValue.String())
	}
	c := "<unknown>"
	if cur != nil && cur.AverageUtilization != nil {
		c = fmt.Sprintf("%d%%", *cur.AverageUtilization)
	}
	target := "<auto>"
	if t.AverageUtilization != nil {
		target = fmt.Sprintf("%d%%", *t.AverageUtilization)
	}
	return fmt.Sprintf("%s: %s/%s", name, c, target)
}
