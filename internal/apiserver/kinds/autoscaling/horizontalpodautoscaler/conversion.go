package horizontalpodautoscaler

import (
	"encoding/json"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// The annotations autoscaling/v1 objects carry for what v1 cannot express:
// metrics other than a CPU utilization target, the current metrics, the
// conditions and the scaling behavior. Their values are JSON.
const (
	MetricSpecsAnnotation     = "autoscaling.alpha.kubernetes.io/metrics"
	MetricStatusesAnnotation  = "autoscaling.alpha.kubernetes.io/current-metrics"
	ConditionsAnnotation      = "autoscaling.alpha.kubernetes.io/conditions"
	BehaviorSpecsAnnotation   = "autoscaling.alpha.kubernetes.io/behavior"
	v1TypeAPIVersion, v1TypeK = "autoscaling/v1", "HorizontalPodAutoscaler"
)

// quantity formats an optional quantity, "<nil>" when unset.
func quantity(q *resource.Quantity) string {
	if q == nil {
		return "<nil>"
	}
	return q.String()
}

func isCPUUtilization(m autoscalingv2.MetricSpec) bool {
	return m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil &&
		m.Resource.Name == corev1.ResourceCPU && m.Resource.Target.AverageUtilization != nil
}

// ToV1 converts a stored autoscaling/v2 HPA to autoscaling/v1: a CPU
// utilization target becomes targetCPUUtilizationPercentage, everything
// else goes to the round-tripping annotations. It does not modify h.
func ToV1(h *autoscalingv2.HorizontalPodAutoscaler) *autoscalingv1.HorizontalPodAutoscaler {
	out := &autoscalingv1.HorizontalPodAutoscaler{
		TypeMeta:   h.TypeMeta,
		ObjectMeta: *h.ObjectMeta.DeepCopy(),
		Spec: autoscalingv1.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv1.CrossVersionObjectReference(h.Spec.ScaleTargetRef),
			MinReplicas:    copyPtr(h.Spec.MinReplicas),
			MaxReplicas:    h.Spec.MaxReplicas,
		},
		Status: autoscalingv1.HorizontalPodAutoscalerStatus{
			ObservedGeneration: copyPtr(h.Status.ObservedGeneration),
			LastScaleTime:      h.Status.LastScaleTime.DeepCopy(),
			CurrentReplicas:    h.Status.CurrentReplicas,
			DesiredReplicas:    h.Status.DesiredReplicas,
		},
	}
	if out.APIVersion != "" {
		out.APIVersion, out.Kind = v1TypeAPIVersion, v1TypeK
	}
	var others []autoscalingv1.MetricSpec
	for _, m := range h.Spec.Metrics {
		if isCPUUtilization(m) {
			out.Spec.TargetCPUUtilizationPercentage = copyPtr(m.Resource.Target.AverageUtilization)
			continue
		}
		others = append(others, metricSpecToV1(m))
	}
	for _, m := range h.Status.CurrentMetrics {
		if m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == corev1.ResourceCPU && m.Resource.Current.AverageUtilization != nil {
			out.Status.CurrentCPUUtilizationPercentage = copyPtr(m.Resource.Current.AverageUtilization)
		}
	}
	annotate := func(key string, v interface{}) {
		b, err := json.Marshal(v)
		if err != nil {
			return // API types always marshal
		}
		if out.Annotations == nil {
			out.Annotations = map[string]string{}
		}
		out.Annotations[key] = string(b)
	}
	if len(others) > 0 {
		annotate(MetricSpecsAnnotation, others)
	}
	if len(h.Status.CurrentMetrics) > 0 {
		statuses := make([]autoscalingv1.MetricStatus, len(h.Status.CurrentMetrics))
		for i, m := range h.Status.CurrentMetrics {
			statuses[i] = metricStatusToV1(m)
		}
		annotate(MetricStatusesAnnotation, statuses)
	}
	if h.Spec.Behavior != nil {
		annotate(BehaviorSpecsAnnotation, h.Spec.Behavior)
	}
	if len(h.Status.Conditions) > 0 {
		conds := make([]autoscalingv1.HorizontalPodAutoscalerCondition, len(h.Status.Conditions))
		for i, c := range h.Status.Conditions {
			conds[i] = autoscalingv1.HorizontalPodAutoscalerCondition{
				Type: autoscalingv1.HorizontalPodAutoscalerConditionType(c.Type), Status: c.Status,
				LastTransitionTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message,
				ObservedGeneration: copyPtr(c.ObservedGeneration),
			}
		}
		annotate(ConditionsAnnotation, conds)
	}
	return out
}

// ToV2 converts an autoscaling/v1 HPA to the stored autoscaling/v2 form,
// reading and dropping the round-tripping annotations and applying the v2
// defaults (a CPU target of 80% when no metric is set). It does not modify
// h.
func ToV2(h *autoscalingv1.HorizontalPodAutoscaler) *autoscalingv2.HorizontalPodAutoscaler {
	out := &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   h.TypeMeta,
		ObjectMeta: *h.ObjectMeta.DeepCopy(),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference(h.Spec.ScaleTargetRef),
			MinReplicas:    copyPtr(h.Spec.MinReplicas),
			MaxReplicas:    h.Spec.MaxReplicas,
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{
			ObservedGeneration: copyPtr(h.Status.ObservedGeneration),
			LastScaleTime:      h.Status.LastScaleTime.DeepCopy(),
			CurrentReplicas:    h.Status.CurrentReplicas,
			DesiredReplicas:    h.Status.DesiredReplicas,
		},
	}
	if out.APIVersion != "" {
		out.APIVersion = autoscalingv2.SchemeGroupVersion.String()
	}
	ann := h.Annotations
	var others []autoscalingv1.MetricSpec
	// Unparsable annotations are ignored, as upstream does.
	if s, ok := ann[MetricSpecsAnnotation]; ok && json.Unmarshal([]byte(s), &others) == nil {
		for _, m := range others {
			out.Spec.Metrics = append(out.Spec.Metrics, metricSpecToV2(m))
		}
	}
	if h.Spec.TargetCPUUtilizationPercentage != nil {
		out.Spec.Metrics = append(out.Spec.Metrics, cpuMetric(*h.Spec.TargetCPUUtilizationPercentage))
	}
	var statuses []autoscalingv1.MetricStatus
	if s, ok := ann[MetricStatusesAnnotation]; ok && json.Unmarshal([]byte(s), &statuses) == nil {
		out.Status.CurrentMetrics = make([]autoscalingv2.MetricStatus, len(statuses))
		for i, m := range statuses {
			out.Status.CurrentMetrics[i] = metricStatusToV2(m)
		}
	}
	var conds []autoscalingv1.HorizontalPodAutoscalerCondition
	if s, ok := ann[ConditionsAnnotation]; ok && json.Unmarshal([]byte(s), &conds) == nil {
		out.Status.Conditions = make([]autoscalingv2.HorizontalPodAutoscalerCondition, len(conds))
		for i, c := range conds {
			out.Status.Conditions[i] = autoscalingv2.HorizontalPodAutoscalerCondition{
				Type: autoscalingv2.HorizontalPodAutoscalerConditionType(c.Type), Status: c.Status,
				LastTransitionTime: c.LastTransitionTime, Reason: c.Reason, Message: c.Message,
				ObservedGeneration: copyPtr(c.ObservedGeneration),
			}
		}
	}
	var behavior autoscalingv2.HorizontalPodAutoscalerBehavior
	if s, ok := ann[BehaviorSpecsAnnotation]; ok && json.Unmarshal([]byte(s), &behavior) == nil &&
		(behavior.ScaleUp != nil || behavior.ScaleDown != nil) {
		out.Spec.Behavior = &behavior
	}
	for _, k := range []string{MetricSpecsAnnotation, MetricStatusesAnnotation, BehaviorSpecsAnnotation, ConditionsAnnotation} {
		delete(out.Annotations, k)
	}
	if len(out.Annotations) == 0 && len(h.Annotations) > 0 {
		out.Annotations = nil
	}
	Default(out)
	return out
}

func copyPtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func quantityOrZero(q *resource.Quantity) resource.Quantity {
	if q == nil {
		return resource.Quantity{}
	}
	return q.DeepCopy()
}

func copyQuantity(q resource.Quantity) *resource.Quantity {
	c := q.DeepCopy()
	return &c
}

func metricSpecToV1(m autoscalingv2.MetricSpec) autoscalingv1.MetricSpec {
	out := autoscalingv1.MetricSpec{Type: autoscalingv1.MetricSourceType(m.Type)}
	if s := m.Object; s != nil {
		out.Object = &autoscalingv1.ObjectMetricSource{
			Target:       autoscalingv1.CrossVersionObjectReference(s.DescribedObject),
			MetricName:   s.Metric.Name,
			Selector:     s.Metric.Selector,
			TargetValue:  quantityOrZero(s.Target.Value),
			AverageValue: copyPtr(s.Target.AverageValue),
		}
	}
	if s := m.Pods; s != nil {
		out.Pods = &autoscalingv1.PodsMetricSource{
			MetricName: s.Metric.Name, Selector: s.Metric.Selector, TargetAverageValue: quantityOrZero(s.Target.AverageValue),
		}
	}
	if s := m.Resource; s != nil {
		out.Resource = &autoscalingv1.ResourceMetricSource{
			Name: s.Name, TargetAverageUtilization: copyPtr(s.Target.AverageUtilization), TargetAverageValue: copyPtr(s.Target.AverageValue),
		}
	}
	if s := m.ContainerResource; s != nil {
		out.ContainerResource = &autoscalingv1.ContainerResourceMetricSource{
			Name: s.Name, Container: s.Container,
			TargetAverageUtilization: copyPtr(s.Target.AverageUtilization), TargetAverageValue: copyPtr(s.Target.AverageValue),
		}
	}
	if s := m.External; s != nil {
		out.External = &autoscalingv1.ExternalMetricSource{
			MetricName: s.Metric.Name, MetricSelector: s.Metric.Selector,
			TargetValue: copyPtr(s.Target.Value), TargetAverageValue: copyPtr(s.Target.AverageValue),
		}
	}
	return out
}

func metricSpecToV2(m autoscalingv1.MetricSpec) autoscalingv2.MetricSpec {
	out := autoscalingv2.MetricSpec{Type: autoscalingv2.MetricSourceType(m.Type)}
	if s := m.Object; s != nil {
		t := autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: copyQuantity(s.TargetValue), AverageValue: copyPtr(s.AverageValue)}
		if s.AverageValue != nil {
			t.Type = autoscalingv2.AverageValueMetricType
		}
		out.Object = &autoscalingv2.ObjectMetricSource{
			DescribedObject: autoscalingv2.CrossVersionObjectReference(s.Target),
			Metric:          autoscalingv2.MetricIdentifier{Name: s.MetricName, Selector: s.Selector},
			Target:          t,
		}
	}
	if s := m.Pods; s != nil {
		out.Pods = &autoscalingv2.PodsMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: s.MetricName, Selector: s.Selector},
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: copyQuantity(s.TargetAverageValue)},
		}
	}
	if s := m.Resource; s != nil {
		out.Resource = &autoscalingv2.ResourceMetricSource{Name: s.Name, Target: resourceTarget(s.TargetAverageUtilization, s.TargetAverageValue)}
	}
	if s := m.ContainerResource; s != nil {
		out.ContainerResource = &autoscalingv2.ContainerResourceMetricSource{
			Name: s.Name, Container: s.Container, Target: resourceTarget(s.TargetAverageUtilization, s.TargetAverageValue),
		}
	}
	if s := m.External; s != nil {
		t := autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: copyPtr(s.TargetValue), AverageValue: copyPtr(s.TargetAverageValue)}
		if s.TargetAverageValue != nil {
			t.Type = autoscalingv2.AverageValueMetricType
		}
		out.External = &autoscalingv2.ExternalMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: s.MetricName, Selector: s.MetricSelector},
			Target: t,
		}
	}
	return out
}

func resourceTarget(utilization *int32, value *resource.Quantity) autoscalingv2.MetricTarget {
	t := autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageUtilization: copyPtr(utilization), AverageValue: copyPtr(value)}
	if utilization != nil {
		t.Type = autoscalingv2.UtilizationMetricType
	}
	return t
}

func metricStatusToV1(m autoscalingv2.MetricStatus) autoscalingv1.MetricStatus {
	out := autoscalingv1.MetricStatus{Type: autoscalingv1.MetricSourceType(m.Type)}
	if s := m.Object; s != nil {
		out.Object = &autoscalingv1.ObjectMetricStatus{
			Target: autoscalingv1.CrossVersionObjectReference(s.DescribedObject), MetricName: s.Metric.Name, Selector: s.Metric.Selector,
			CurrentValue: quantityOrZero(s.Current.Value), AverageValue: copyPtr(s.Current.AverageValue),
		}
	}
	if s := m.Pods; s != nil {
		out.Pods = &autoscalingv1.PodsMetricStatus{MetricName: s.Metric.Name, Selector: s.Metric.Selector, CurrentAverageValue: quantityOrZero(s.Current.AverageValue)}
	}
	if s := m.Resource; s != nil {
		out.Resource = &autoscalingv1.ResourceMetricStatus{
			Name: s.Name, CurrentAverageUtilization: copyPtr(s.Current.AverageUtilization), CurrentAverageValue: quantityOrZero(s.Current.AverageValue),
		}
	}
	if s := m.ContainerResource; s != nil {
		out.ContainerResource = &autoscalingv1.ContainerResourceMetricStatus{
			Name: s.Name, Container: s.Container,
			CurrentAverageUtilization: copyPtr(s.Current.AverageUtilization), CurrentAverageValue: quantityOrZero(s.Current.AverageValue),
		}
	}
	if s := m.External; s != nil {
		out.External = &autoscalingv1.ExternalMetricStatus{
			MetricName: s.Metric.Name, MetricSelector: s.Metric.Selector,
			CurrentValue: quantityOrZero(s.Current.Value), CurrentAverageValue: copyPtr(s.Current.AverageValue),
		}
	}
	return out
}

func metricStatusToV2(m autoscalingv1.MetricStatus) autoscalingv2.MetricStatus {
	out := autoscalingv2.MetricStatus{Type: autoscalingv2.MetricSourceType(m.Type)}
	if s := m.Object; s != nil {
		out.Object = &autoscalingv2.ObjectMetricStatus{
			DescribedObject: autoscalingv2.CrossVersionObjectReference(s.Target),
			Metric:          autoscalingv2.MetricIdentifier{Name: s.MetricName, Selector: s.Selector},
			Current:         autoscalingv2.MetricValueStatus{Value: copyQuantity(s.CurrentValue), AverageValue: copyPtr(s.AverageValue)},
		}
	}
	if s := m.Pods; s != nil {
		out.Pods = &autoscalingv2.PodsMetricStatus{
			Metric:  autoscalingv2.MetricIdentifier{Name: s.MetricName, Selector: s.Selector},
			Current: autoscalingv2.MetricValueStatus{AverageValue: copyQuantity(s.CurrentAverageValue)},
		}
	}
	if s := m.Resource; s != nil {
		out.Resource = &autoscalingv2.ResourceMetricStatus{
			Name:    s.Name,
			Current: autoscalingv2.MetricValueStatus{AverageUtilization: copyPtr(s.CurrentAverageUtilization), AverageValue: copyQuantity(s.CurrentAverageValue)},
		}
	}
	if s := m.ContainerResource; s != nil {
		out.ContainerResource = &autoscalingv2.ContainerResourceMetricStatus{
			Name: s.Name, Container: s.Container,
			Current: autoscalingv2.MetricValueStatus{AverageUtilization: copyPtr(s.CurrentAverageUtilization), AverageValue: copyQuantity(s.CurrentAverageValue)},
		}
	}
	if s := m.External; s != nil {
		out.External = &autoscalingv2.ExternalMetricStatus{
			Metric:  autoscalingv2.MetricIdentifier{Name: s.MetricName, Selector: s.MetricSelector},
			Current: autoscalingv2.MetricValueStatus{Value: copyQuantity(s.CurrentValue), AverageValue: copyPtr(s.CurrentAverageValue)},
		}
	}
	return out
}
